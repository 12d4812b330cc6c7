"""Every stage declares the values and object columns it writes: each stage runs on a real photo, and every name
it writes must match its declaration (an exact name, or a pattern such as ``<preset>_count``), so the declarations
that ``vision-desk stages`` lists cannot drift from the code."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from tests.media import skimage_bgr
from tests.stages.detection.dnn_files import write_yolo
from vision_desk.engine.frame import Frame
from vision_desk.engine.pipeline import validate_params
from vision_desk.engine.stage import Stage, all_stages, output_matches, stage_class
from vision_desk.errors import VisionDeskError

ROOT = Path(__file__).resolve().parents[2]
FACE = (170, 40, 120, 140)  # x, y, w, h of the astronaut's face
PATCH = (60, 330, 80, 80)  # x, y, w, h of a patch of her orange suit: the colours the colour trackers follow


def _with_qr_code(photo: np.ndarray) -> np.ndarray:
    from vision_desk.stages.text.generate import make_code

    code = make_code("https://example.org/vision-desk", "qr", scale=4)
    out = photo.copy()
    out[10 : 10 + code.shape[0], 10 : 10 + code.shape[1]] = code
    return out


#: Stage id -> (parameters that make it write what it can, the stages run before it, the photo); the rest run with
#: their defaults on the astronaut photo.
Case = tuple[dict[str, Any], list[str], np.ndarray]


def _cases(tmp: Path, taught_model: Path) -> dict[str, Case]:
    astronaut = skimage_bgr("astronaut")
    template = tmp / "face.png"
    x, y, w, h = FACE
    cv2.imwrite(str(template), astronaut[y : y + h, x : x + w])
    model = tmp / "shapes-yolo11n.pt"  # a copy: anything the detect stage caches beside its model stays in tmp
    shutil.copyfile(ROOT / "tests" / "fixtures" / "shapes-yolo11n.pt", model)
    tiny_yolo = write_yolo(tmp / "dnn")  # a Darknet network the tests write (its .cfg and .names beside it)
    cases: dict[str, tuple[dict[str, Any], list[str]]] = {
        "template": ({"template": str(template)}, []),
        "meanshift": ({"region": PATCH}, []),
        "camshift": ({"region": PATCH}, []),
        "color_filter": ({"preset": "blue"}, []),
        "bg_subtract": ({"shadows": True}, []),
        "morphology": ({"input": "otsu"}, []),
        "threshold": ({"method": "otsu"}, []),
        "faces": ({"recognize": True, "gallery": str(tmp / "gallery.sqlite")}, []),
        "landmarks": ({}, ["faces"]),
        "face_swap": ({}, ["faces", "landmarks"]),
        "detect": ({"model": str(model), "backend": "pytorch", "imgsz": 128}, []),
        "dnn_detect": ({"model": str(tiny_yolo["weights"])}, []),
        "gradcam": ({"model": str(model)}, []),
        "classify": ({"model": str(taught_model), "on": "objects"}, ["contours"]),
        "ocr": ({"detector_size": 384}, []),
        "track": ({}, ["contours"]),
        "count": ({"zone": [(0, 0), (511, 0), (511, 511), (0, 511)], "line": (0, 256, 511, 256)}, ["contours"]),
        "privacy": ({"classes": ["circle"]}, ["contours"]),
    }
    photos = {"ocr": skimage_bgr("page"), "codes": _with_qr_code(astronaut)}
    return {sid: (*cases.get(sid, ({}, [])), photos.get(sid, astronaut)) for sid in {*cases, *photos}}


def _case(cases: dict[str, Case], stage_id: str) -> Case:
    return cases.get(stage_id, ({}, [], skimage_bgr("astronaut")))


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory, taught_model: Path) -> dict[str, Case]:
    return _cases(tmp_path_factory.mktemp("declared"), taught_model)


class _Recorder(dict):
    """Frame values that remember which names were written (a stage may overwrite a name an earlier stage wrote)."""

    def __init__(self, values: dict[str, Any]) -> None:
        super().__init__(values)
        self.written: set[str] = set()

    def __setitem__(self, key: str, value: Any) -> None:
        self.written.add(key)
        super().__setitem__(key, value)

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]


def _ready(cls: type[Stage], params: dict[str, Any]) -> Stage:
    """A set-up stage; skipped where its weights are not on this machine (they download only on request)."""
    stage = cls(validate_params(cls, params, cls.id))
    try:
        stage.setup()
    except VisionDeskError as err:
        if "pull" in str(err):
            pytest.skip(f"{cls.id}: {err}")
        raise
    return stage


def _written(stage_id: str, case: Case) -> tuple[Stage, set[str], set[str]]:
    """Runs the stages before it and the stage over two frames of the photo, the second moved by a few pixels (so
    motion and flow stages measure something); returns the stage and the value and column names it wrote."""
    params, before, photo = case
    upstream = [_ready(stage_class(sid), {}) for sid in before]
    stage = _ready(stage_class(stage_id), params)
    values: set[str] = set()
    columns: set[str] = set()
    try:
        for i, image in enumerate([photo, np.roll(photo, (3, 5), axis=(0, 1))]):
            frame = Frame(image=image.copy(), index=i, timestamp=i / 30)
            for s in upstream:
                s.process(frame)
            frame.values = _Recorder(frame.values)
            had = set(frame.detections.data)
            stage.process(frame)
            values |= frame.values.written
            det = frame.detections
            mine = det.source == stage.id
            columns |= {k for k, col in det.data.items() if k not in had or any(v is not None for v in col[mine])}
    finally:
        for s in [*upstream, stage]:
            s.close()
    return stage, values, columns


#: The product's stages (other test modules register stages of their own in the same process).
SHIPPED = sorted(sid for sid, cls in all_stages().items() if cls.__module__.startswith("vision_desk.stages."))


@pytest.mark.parametrize("stage_id", SHIPPED)
def test_every_value_and_column_a_stage_writes_is_declared(stage_id: str, cases, models_dir: Path) -> None:  # noqa: ANN001
    stage, values, columns = _written(stage_id, _case(cases, stage_id))
    cls = type(stage)
    for kind, written, declared in (("value", values, cls.values), ("column", columns, cls.columns)):
        undeclared = sorted(n for n in written if not any(output_matches(d, n, stage.params) for d in declared))
        assert not undeclared, f"{stage_id} writes the {kind}(s) {undeclared} but declares only {sorted(declared)}"
    if cls.values:  # the run reached the code that writes values
        assert values, f"{stage_id} declares values but wrote none on the photo"


def test_patterns_take_parameter_values_and_any_word() -> None:
    from vision_desk.stages.classical.masks import ColorFilterParams
    from vision_desk.stages.detection.count import CountParams

    blue = ColorFilterParams(preset="blue")
    assert output_matches("<preset>_count", "blue_count", blue)
    assert not output_matches("<preset>_count", "red_count", blue)  # a parameter part is that parameter's value
    assert output_matches("<name>_in_<class>", "doors_in_person", CountParams(name="doors"))
    assert not output_matches("<name>_in_<class>", "doors_in", CountParams(name="doors"))
    assert output_matches("detect_count", "detect_count") and not output_matches("detect_count", "detect_counts")
