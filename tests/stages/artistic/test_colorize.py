"""Colorize: the Lab pipeline around Zhang et al.'s network, tested with a small Caffe network the tests write."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.media import skimage_bgr
from tests.stages.artistic.conftest import CONSTANT_AB, colorize_params, engine_outputs, run_frames
from vision_desk.engine.pipeline import spec_from_dict
from vision_desk.engine.stage import stage_class
from vision_desk.errors import ModelMissingError, PipelineError, VisionDeskError
from vision_desk.stages.artistic.colorize import ColorizationNet, colorize
from vision_desk.stages.artistic.lab import lab8_l, merge_l_ab


def _net(files: dict[str, Path]) -> ColorizationNet:
    return ColorizationNet(files["prototxt"], files["caffemodel"], files["points"])


def _gray_bgr(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)


def test_valid_pipeline_validates() -> None:
    spec = spec_from_dict({"stages": [{"stage": "colorize", "params": {"size": 256, "smoothing": 0.5, "saturation": 1.2}}]})
    assert spec.stages[0].params["size"] == 256


@pytest.mark.parametrize(
    ("params", "name"),
    [({"size": 230}, "size"), ({"size": 32}, "size"), ({"smoothing": 1.5}, "smoothing"), ({"tint": 1}, "tint")],
)
def test_invalid_pipeline_names_stage_and_parameter(params: dict, name: str) -> None:
    with pytest.raises(PipelineError) as err:
        spec_from_dict({"stages": [{"stage": "colorize", "params": params}]})
    assert "'colorize'" in str(err.value) and f"'{name}'" in str(err.value)


def test_missing_weights_one_sentence_with_pull_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISION_DESK_MODELS", str(tmp_path))  # an empty models folder
    stage = stage_class("colorize")()
    with pytest.raises(ModelMissingError) as err:
        stage.setup()
    text = str(err.value)
    assert "\n" not in text and text.count(". ") == 0
    for name in ("colorization-v2", "colorization-v2-prototxt", "colorization-pts-in-hull"):
        assert f"vision-desk models pull {name}" in text
    # the same as data, one entry a file, for the GUI's download
    assert [(m.model, m.pull, m.folder) for m in err.value.missing] == [
        (name, name, str(tmp_path)) for name in ("colorization-v2-prototxt", "colorization-v2", "colorization-pts-in-hull")]


@pytest.mark.parametrize("photo", ["astronaut", "chelsea", "coffee"])
def test_output_keeps_input_l_exactly_and_size(tiny_colorization: dict[str, Path], photo: str) -> None:
    image = skimage_bgr(photo)
    for source in (image, _gray_bgr(image)):
        out = colorize(source, _net(tiny_colorization))
        assert out.shape == source.shape and out.dtype == np.uint8
        np.testing.assert_array_equal(lab8_l(out), lab8_l(source))
        chroma = np.abs(cv2.cvtColor(out, cv2.COLOR_BGR2Lab)[..., 1:].astype(int) - 128).mean()
        assert chroma > 3, "the network's colours must show in the output"


def test_odd_sizes_keep_size_and_l(tiny_colorization: dict[str, Path]) -> None:
    image = cv2.resize(skimage_bgr("astronaut"), (333, 201))
    out = colorize(image, _net(tiny_colorization), size=160)
    assert out.shape == image.shape
    np.testing.assert_array_equal(lab8_l(out), lab8_l(image))


def test_constant_ab_prediction_gives_exactly_that_colour(constant_colorization: dict[str, Path]) -> None:
    net = _net(constant_colorization)
    ab = net.predict_ab(lab8_l(cv2.resize(skimage_bgr("coffee"), (224, 224))))
    assert ab.shape == (56, 56, 2)
    np.testing.assert_allclose(ab, np.broadcast_to(CONSTANT_AB, ab.shape), atol=1e-3)
    # A flat gray frame: every output pixel is exactly OpenCV's own Lab -> BGR of (its L, the constant ab).
    for level in (90, 128, 170):
        flat = np.full((120, 160, 3), level, np.uint8)
        l8 = int(lab8_l(flat)[0, 0])
        expected = cv2.cvtColor(np.uint8([[[l8, 128 + CONSTANT_AB[0], 128 + CONSTANT_AB[1]]]]), cv2.COLOR_Lab2BGR)[0, 0]
        assert lab8_l(expected[None, None])[0, 0] == l8, "the test colour must survive OpenCV's own round trip"
        out = colorize(flat, net)
        assert (out == expected).all()
    # A real photo: a, b equal the constant wherever sRGB can show it at that lightness.
    image = skimage_bgr("coffee")
    lab = cv2.cvtColor(colorize(image, net), cv2.COLOR_BGR2Lab).astype(int)
    mid = (lab[..., 0] > 90) & (lab[..., 0] < 200)
    err = np.abs(lab[..., 1:][mid] - (128 + np.array(CONSTANT_AB))).max(axis=1)
    assert np.mean(err <= 1) > 0.99


def test_gray_and_colour_inputs_take_the_same_path(tiny_colorization: dict[str, Path]) -> None:
    colour = skimage_bgr("chelsea")
    l8 = lab8_l(colour)
    near_gray = merge_l_ab(l8, np.zeros((*l8.shape, 2), np.float32))  # same L, no colour
    net = _net(tiny_colorization)
    assert np.abs(near_gray.astype(int) - colour).mean() > 10
    np.testing.assert_array_equal(colorize(colour, net), colorize(near_gray, net))


def test_merge_keeps_l_for_every_level_and_extreme_colours() -> None:
    levels = np.repeat(np.setdiff1d(np.arange(256), [4, 13, 22]).astype(np.uint8)[:, None], 121, axis=1)  # every L a BGR colour can have
    a, b = np.meshgrid(np.arange(-110, 111, 22), np.arange(-110, 111, 22))
    ab = np.broadcast_to(np.stack([a.ravel(), b.ravel()], -1)[None].astype(np.float32), (*levels.shape, 2))
    np.testing.assert_array_equal(lab8_l(merge_l_ab(levels, ab)), levels)


def test_stage_colours_720p_clip_through_the_engine(clip_720p: Path, tiny_colorization: dict[str, Path]) -> None:
    for original, image in engine_outputs(clip_720p, "colorize", colorize_params(tiny_colorization), frames=8):
        assert image.shape == (720, 1280, 3)
        np.testing.assert_array_equal(lab8_l(image), lab8_l(original))
        assert np.abs(image.astype(int) - original).mean() > 2


weights_present = True
try:
    from vision_desk.stages.artistic.colorize import DEFAULT_FILES, resolve_files

    _REAL = resolve_files(DEFAULT_FILES["prototxt"], DEFAULT_FILES["model"], DEFAULT_FILES["points"])
except ModelMissingError:
    weights_present = False


@pytest.mark.skipif(not weights_present, reason="the real Zhang et al. weights are not downloaded (vision-desk models pull colorization-v2, -prototxt, -pts-in-hull); no network in tests")
def test_real_weights_bring_astronaut_closer_to_its_colours() -> None:
    image = skimage_bgr("astronaut")
    gray = _gray_bgr(image)
    out = colorize(gray, ColorizationNet(*_REAL))
    ab_true = cv2.cvtColor(image, cv2.COLOR_BGR2Lab)[..., 1:].astype(float)
    err_gray = np.abs(cv2.cvtColor(gray, cv2.COLOR_BGR2Lab)[..., 1:] - ab_true).mean()
    err_out = np.abs(cv2.cvtColor(out, cv2.COLOR_BGR2Lab)[..., 1:] - ab_true).mean()
    print(f"astronaut ab error: gray {err_gray:.2f}, colorized {err_out:.2f}")
    assert err_out < err_gray - 1.0


#: How far PyTorch's ab may be from OpenCV DNN's, per device. On the CPU both run float32: 0.01 ab units. On CUDA,
#: cuDNN may run convolutions in TF32 (10-bit mantissa): relative errors near 1e-3, so a few tenths of an ab unit
#: on values up to ~100; 0.5 is half the step of 8-bit Lab, so the frame's colours differ by one level at most.
AB_ATOL = {"cpu": 0.01, "cuda": 0.5}
#: The share of pixels whose 8-bit colour may differ: a pixel's rounding flips with a chance about its ab error.
FLIPPED = {"cpu": 0.01, "cuda": 0.1}


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
def test_the_pytorch_path_equals_the_opencv_path(tiny_colorization: dict[str, Path], device: str) -> None:
    """The GPU path rebuilds the Caffe chain in PyTorch from OpenCV's loaded weights: the same colours as OpenCV DNN."""
    files = tiny_colorization
    opencv = _net(files)
    torch_net = ColorizationNet(files["prototxt"], files["caffemodel"], files["points"], torch_device=device)
    square = lab8_l(cv2.resize(skimage_bgr("astronaut"), (224, 224), interpolation=cv2.INTER_AREA))
    a, b = opencv.predict_ab(square), torch_net.predict_ab(square)
    assert np.abs(a).max() > 5
    np.testing.assert_allclose(a, b, atol=AB_ATOL[device])
    image = skimage_bgr("coffee")
    out = colorize(image, torch_net)
    np.testing.assert_array_equal(lab8_l(out), lab8_l(image))
    differ = np.any(out != colorize(image, opencv), axis=2)
    assert differ.mean() < FLIPPED[device]  # ab agrees within the tolerance; only rounding at some pixels can flip


def test_parse_prototxt_reads_the_network_layout() -> None:
    from vision_desk.stages.artistic.caffe_torch import parse_prototxt
    from vision_desk.stages.artistic.caffe_write import zhang_layout_prototxt

    layers = parse_prototxt(zhang_layout_prototxt())["layer"]
    conv5 = next(layer for layer in layers if layer["name"] == ["conv5_1"])
    assert conv5["convolution_param"][0]["dilation"] == ["2"] and conv5["convolution_param"][0]["pad"] == ["2"]
    assert [layer["name"][0] for layer in layers][-4:] == ["conv8_313_rh", "class8_313_rh", "class8_ab", "Silence"]


def test_device_cuda_runs_on_a_gpu_or_says_there_is_none(tiny_colorization: dict[str, Path]) -> None:
    import torch

    params = colorize_params(tiny_colorization, device="cuda")
    image = skimage_bgr("chelsea")
    if torch.cuda.is_available():
        np.testing.assert_array_equal(lab8_l(run_frames("colorize", params, [image])[0]), lab8_l(image))
    else:
        with pytest.raises(VisionDeskError) as err:
            run_frames("colorize", params, [image])
        assert "device" in str(err.value) and "\n" not in str(err.value)
