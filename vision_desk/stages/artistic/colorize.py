"""Colorization of black-and-white video: Zhang et al.'s network (ECCV 2016) through OpenCV's DNN module.

The network sees only lightness: the frame's 8-bit Lab L, resized to a square
(224 as trained), shifted to -50..50. It predicts a distribution over 313
quantised ab colours at a quarter of that resolution; its last 1x1
convolution (``class8_ab``) turns the distribution into its mean ab, with the
313 cluster centres from ``pts_in_hull.npy`` as weights, and ``conv8_313_rh``
sharpens the distribution (the "annealed mean", temperature 0.38 = 1/2.606).
The ab map is smoothed over time, upsampled to the frame and merged with the
frame's own L, which is kept exactly (see :mod:`.lab`).

Colour input is treated as grayscale: only its L is read, so a colour frame and
a gray frame with the same L give the same output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from pydantic import field_validator

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import StageParams, param
from vision_desk.engine.stage import Stage
from vision_desk.errors import VisionDeskError
from vision_desk.stages.artistic.lab import exact_colour_table, lab8_l, merge_l_ab
from vision_desk.stages.artistic.temporal import TemporalSmoother

#: conv8_313_rh's scale: the softmax temperature of the annealed mean (1 / 0.38), as in the authors' demo.
ANNEAL_SCALE = 2.606
#: Manifest names of the three files the network needs, in the order the stage's parameters name them.
DEFAULT_FILES = {"prototxt": "colorization-v2-prototxt", "model": "colorization-v2", "points": "colorization-pts-in-hull"}


class ColorizationNet:
    """Zhang et al.'s Caffe network in OpenCV's DNN module, with its cluster centres installed.

    Any Caffe network with the same tail (``conv8_313`` -> ``conv8_313_rh`` ->
    ``class8_313_rh`` -> ``class8_ab``) and an input of one L channel loads the
    same way; the tests use a small one of that shape.
    """

    def __init__(self, prototxt: Path, caffemodel: Path, points: Path, torch_device: str | None = None) -> None:
        try:
            net = cv2.dnn.readNetFromCaffe(str(prototxt), str(caffemodel))
        except cv2.error as err:
            raise VisionDeskError(f"could not read the colorization network {caffemodel} with {prototxt} ({_first_line(err)}); check that both files are complete.") from None
        try:
            pts = np.load(points).astype(np.float32)
        except (OSError, ValueError) as err:
            raise VisionDeskError(f"could not read the cluster centres {points} ({err}); fetch them again with: vision-desk models pull colorization-pts-in-hull.") from None
        if pts.shape != (313, 2):
            raise VisionDeskError(f"{points} holds an array of shape {pts.shape}, not the 313 x 2 ab cluster centres; use pts_in_hull.npy.")
        names = set(net.getLayerNames())
        if not {"class8_ab", "conv8_313_rh"} <= names:
            raise VisionDeskError(f"{prototxt} is not a Zhang et al. colorization network (no class8_ab / conv8_313_rh layers); use colorization_deploy_v2.prototxt.")
        net.getLayer(net.getLayerId("class8_ab")).blobs = [pts.T.reshape(2, 313, 1, 1).copy()]
        net.getLayer(net.getLayerId("conv8_313_rh")).blobs = [np.full((1, 313), ANNEAL_SCALE, np.float32)]
        net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        self.net = net
        self._chain = None
        if torch_device is not None:  # the same weights, rebuilt in PyTorch (for CUDA)
            from vision_desk.stages.artistic.caffe_torch import CaffeChain

            self._chain = CaffeChain(prototxt, net, torch_device)

    def predict_ab(self, l8_square: np.ndarray) -> np.ndarray:
        """ab (float32, h/4 x w/4 x 2, Lab units) for a square uint8 L image in OpenCV's 8-bit scale."""
        blob = (l8_square.astype(np.float32) * np.float32(100.0 / 255.0) - 50.0)[None, None]
        if self._chain is not None:
            return self._chain.forward(blob)[0].transpose(1, 2, 0)
        self.net.setInput(blob)
        return self.net.forward()[0].transpose(1, 2, 0)


def colorize_device(requested: str) -> str | None:
    """None (OpenCV DNN on the CPU) or the torch device (``cuda``) for the colorization network.

    OpenCV's pip wheels have no CUDA backend, so the GPU path is PyTorch; on the
    CPU, OpenCV DNN is the faster of the two (measured here), so ``auto`` takes
    the GPU only when there is one (:func:`~vision_desk.weights.pick_device`,
    which imports torch only where a GPU driver is present).
    """
    from vision_desk.weights import pick_device

    if requested == "cpu":
        return None
    if pick_device("auto").startswith("cuda"):
        return "cuda"
    if requested == "cuda":
        raise VisionDeskError("colorize was asked to run on a CUDA GPU but PyTorch sees none here; set device to auto or cpu.")
    return None


def _first_line(err: Exception) -> str:
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    return lines[-1] if lines else type(err).__name__


def colorize(image: np.ndarray, net: ColorizationNet, size: int = 224, saturation: float = 1.0,
             smoother: TemporalSmoother | None = None) -> np.ndarray:
    """Colours a BGR frame (gray or not: only its L is used); the output's 8-bit Lab L equals the input's exactly."""
    h, w = image.shape[:2]
    l8 = lab8_l(image)
    square = cv2.resize(l8, (size, size), interpolation=cv2.INTER_AREA)
    ab = net.predict_ab(square)
    if smoother is not None:
        guide = cv2.resize(square, (ab.shape[1], ab.shape[0]), interpolation=cv2.INTER_AREA).astype(np.float32)
        ab = smoother(ab, guide)
    ab_full = cv2.resize(ab, (w, h), interpolation=cv2.INTER_LINEAR)
    if saturation != 1.0:
        ab_full *= saturation
    return merge_l_ab(l8, ab_full)


def resolve_files(prototxt: str, model: str, points: str) -> tuple[Path, Path, Path]:
    """The three files, from paths or manifest names; one ModelMissingError naming every missing download."""
    from vision_desk.models import resolve_all

    found = resolve_all((prototxt, model, points), "colorize", "colorization model files")
    return found[0], found[1], found[2]


class ColorizeParams(StageParams):
    model: str = param(DEFAULT_FILES["model"], help="Network weights: a model name from 'vision-desk models list' or a .caffemodel file.", widget="path", file_filter="Caffe models (*.caffemodel)")
    prototxt: str = param(DEFAULT_FILES["prototxt"], help="Network layout: a model name or a .prototxt file.", widget="path", file_filter="Caffe layouts (*.prototxt)")
    points: str = param(DEFAULT_FILES["points"], help="The 313 ab cluster centres: a model name or a pts_in_hull.npy file.", widget="path", file_filter="NumPy arrays (*.npy)")
    size: int = param(224, ge=64, le=1024, step=8, help="Side of the square gray image the network sees (a multiple of 8; 224 as trained). Larger gives finer colour regions at a quadratic cost.")
    saturation: float = param(1.0, ge=0.0, le=2.0, step=0.05, help="Scales the predicted colour: below 1 paler, above 1 more vivid, 0 gray.")
    smoothing: float = param(0.7, ge=0.0, le=0.95, step=0.05, help="Temporal smoothing of the colour between frames (share of the past kept where the scene is still); 0 is off.")
    scene_cut: float = param(30.0, ge=1.0, le=255.0, help="Mean brightness change between frames (0-255) that counts as a new shot and restarts the smoothing.")
    device: Literal["auto", "cpu", "cuda"] = param("auto", help="Where the network runs: a CUDA GPU through PyTorch when there is one (auto), or the CPU through OpenCV.")

    @field_validator("size")
    @classmethod
    def _multiple_of_8(cls, v: int) -> int:
        if v % 8:
            raise ValueError(f"must be a multiple of 8 (the network downsamples by 8), e.g. {v - v % 8} or {v - v % 8 + 8}")
        return v


class ColorizeStage(Stage):
    id = "colorize"
    title = "Colorize (Zhang et al.)"
    category = "Artistic"
    help = ("Colours black-and-white video with Zhang et al.'s network, keeping each frame's lightness exactly; colour "
            "input is treated as gray. Heavy: seconds per frame on a 2-core CPU even at the default size 224, live on a "
            "CUDA GPU. Needs the weights: vision-desk models pull colorization-v2 (and -prototxt, -pts-in-hull).")
    Params = ColorizeParams
    heavy = True

    def __init__(self, params: StageParams | None = None) -> None:
        super().__init__(params)
        self._net: ColorizationNet | None = None
        self._files: tuple[str, str, str, str] | None = None
        self._smoother = TemporalSmoother(self.params.smoothing, cut=self.params.scene_cut)

    def setup(self) -> None:
        p = self.params
        files = (p.prototxt, p.model, p.points, p.device)
        if self._net is None or self._files != files:
            self._net = ColorizationNet(*resolve_files(*files[:3]), torch_device=colorize_device(p.device))
            self._files = files
        exact_colour_table()  # built once per process: a few seconds here rather than in the first frame

    def reset(self) -> None:
        self._smoother.reset()

    def update_params(self, params: StageParams) -> None:
        old = self.params
        super().update_params(params)
        if (old.model, old.prototxt, old.points, old.device) != (params.model, params.prototxt, params.points, params.device):
            self._net = None
        if (old.smoothing, old.scene_cut, old.size) != (params.smoothing, params.scene_cut, params.size):
            self._smoother = TemporalSmoother(params.smoothing, cut=params.scene_cut)

    def process(self, frame: Frame) -> None:
        if self._net is None:
            self.setup()
        p = self.params
        cuts = self._smoother.cuts
        frame.image = colorize(frame.image, self._net, p.size, p.saturation, self._smoother if p.smoothing > 0 else None)
        if self._smoother.cuts != cuts:
            frame.events.append("colorize: new shot, colour smoothing restarted")
