"""Ultralytics' export metadata (metadata.yaml beside an export): the fields the stages use, checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from vision_desk.errors import ConfigError
from vision_desk.stages.detection.export_meta import export_metadata

#: As Ultralytics 8.3 writes it for a pose export (the keys the stages do not use included).
ULTRALYTICS = {"description": "Ultralytics YOLO11n-pose model", "author": "Ultralytics", "stride": 32,
               "task": "pose", "batch": 1, "imgsz": [384, 640], "names": {0: "person"}, "kpt_shape": [17, 3],
               "args": {"batch": 1, "half": False, "dynamic": False}, "channels": 3}


def export_folder(tmp_path: Path, meta: Any) -> Path:
    folder = tmp_path / "model_openvino_model"
    folder.mkdir()
    (folder / "metadata.yaml").write_text(meta if isinstance(meta, str) else yaml.safe_dump(meta), encoding="utf-8")
    return folder


def test_ultralytics_metadata_gives_the_fields_the_stages_use(tmp_path: Path) -> None:
    meta = export_metadata(export_folder(tmp_path, ULTRALYTICS))
    assert meta == {"task": "pose", "batch": 1, "imgsz": (384, 640), "names": {0: "person"}, "kpt_shape": (17, 3)}


def test_a_single_size_is_a_square_and_numbers_name_classes(tmp_path: Path) -> None:
    meta = export_metadata(export_folder(tmp_path, {"task": "detect", "imgsz": 320, "names": {0: 7, 1: "8"}}))
    assert meta == {"task": "detect", "imgsz": (320, 320), "names": {0: "7", 1: "8"}}


def test_no_metadata_or_not_ultralytics_metadata_is_nothing(tmp_path: Path) -> None:
    assert export_metadata(tmp_path) == {}
    assert export_metadata(export_folder(tmp_path, "- a list, not Ultralytics' mapping\n")) == {}


CASES = [
    ("wrong type", {"imgsz": "big"}, "field 'imgsz' must be a list (got 'big')"),
    ("three sizes", {"imgsz": [1, 2, 3]}, "field 'imgsz' must have at most 2 item(s)"),
    ("zero size", {"imgsz": [0, 640]}, "field 'imgsz' (item 1) must be at least 1 (got 0)"),
    ("names as a list", {"names": ["person"]}, "field 'names' must be a mapping"),
    ("class ids not numbers", {"names": {"a": "person"}}, "field 'names' key 'a' must be a whole number (got 'a')"),
]


@pytest.mark.parametrize("meta, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_metadata_is_one_sentence_naming_the_field(tmp_path: Path, meta: dict, expected: str) -> None:
    folder = export_folder(tmp_path, {**ULTRALYTICS, **meta})
    with pytest.raises(ConfigError) as err:
        export_metadata(folder)
    assert str(err.value) == f"{folder / 'metadata.yaml'}: {expected}; export the model again."
