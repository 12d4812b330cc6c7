"""teach.json, a taught model's description: its schema, and one sentence for each way it can be malformed.

The files are written here as the trainer writes them (see save_model), then broken one field at a time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vision_desk.errors import ConfigError, VisionDeskError
from vision_desk.teach.model import FORMAT, MANIFEST, load_taught

RETRAIN = "; train the model again to rewrite it."
DROP = object()


def good_meta(**changes: Any) -> dict[str, Any]:
    meta = {"format": FORMAT, "labels": ["red", "blue"], "arch": "resnet18", "size": 64,
            "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "mode": "quick", "pretrained": False,
            "dataset": "/somewhere/samples", "created": "2026-12-01T10:00:00+0000",
            "metrics": {"accuracy": 0.75, "confusion": [[2, 0], [1, 1]], "per_class": {"red": 1.0, "blue": 0.5},
                        "n_train": 16, "n_val": 4, "seconds": 1.5,
                        "history": {"epoch": [1, 2], "train_loss": [0.9, 0.5], "val_acc": [0.5, 0.75]}}}
    meta.update(changes)
    return {k: v for k, v in meta.items() if v is not DROP}


def model_folder(tmp_path: Path, meta: Any) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / MANIFEST).write_text(json.dumps(meta) if not isinstance(meta, str) else meta, encoding="utf-8")
    return folder


def test_the_trainers_file_loads_with_its_metrics_and_unknown_keys_are_tolerated(tmp_path: Path) -> None:
    folder = model_folder(tmp_path, good_meta(written_by="a newer Vision Desk", extra_setting={"x": 1}))
    model = load_taught(folder)
    assert (model.labels, model.arch, model.size, model.std) == (["red", "blue"], "resnet18", 64, (0.229, 0.224, 0.225))
    assert model.metrics["confusion"] == [[2, 0], [1, 1]] and model.metrics["n_train"] == 16
    assert model.metrics["history"]["val_acc"] == [0.5, 0.75]


def test_metrics_are_optional(tmp_path: Path) -> None:
    model = load_taught(model_folder(tmp_path, good_meta(metrics=DROP, mode=DROP, created=DROP)))
    assert model.metrics == {"per_class": {}, "history": {}}


CASES = [
    ("missing field", good_meta(labels=DROP), "field 'labels' is missing; add it"),
    ("wrong type", good_meta(size="big"), "field 'size' must be a whole number (got 'big')"),
    ("out of bounds", good_meta(size=100000), "field 'size' must be at most 4096 (got 100000)"),
    ("no labels", good_meta(labels=[]), "field 'labels' must have at least 1 item(s)"),
    ("twice the same label", good_meta(labels=["red", "red"]), "field 'labels' must name each class once"),
    ("short mean", good_meta(mean=[0.5, 0.5]), "field 'mean' (item 3) is missing; add it"),
    ("zero std", good_meta(std=[0.2, 0, 0.2]), "field 'std' (item 2) must be more than 0 (got 0)"),
    ("metrics not a mapping", good_meta(metrics="great"), "field 'metrics' must be a mapping of fields (got 'great')"),
    ("accuracy above 1", good_meta(metrics={"accuracy": 75}), "field 'metrics.accuracy' must be at most 1 (got 75)"),
    ("history not numbers", good_meta(metrics={"history": {"epoch": ["one"]}}),
     "field 'metrics.history.epoch' (item 1) must be a number (got 'one')"),
    ("confusion of another size", good_meta(metrics={"confusion": [[1, 2, 3]]}),
     "field 'metrics' must hold a confusion matrix with a row and a column for each of the 2 labels"),
    ("a list, not a mapping", [1, 2], "it must be a mapping of fields"),
]


@pytest.mark.parametrize("meta, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_malformed_teach_json_is_one_sentence_naming_the_field(tmp_path: Path, meta: Any, expected: str) -> None:
    folder = model_folder(tmp_path, meta)
    with pytest.raises(ConfigError) as err:
        load_taught(folder)
    assert str(err.value) == f"{folder / MANIFEST}: {expected}{RETRAIN}"


def test_broken_json_and_a_newer_format_are_one_sentence(tmp_path: Path) -> None:
    folder = model_folder(tmp_path, '{"labels": ["red",')
    with pytest.raises(ConfigError, match=r"teach\.json: invalid JSON at line 1, column 19 \(.+\); fix the file's syntax\.$"):
        load_taught(folder)
    (folder / MANIFEST).write_text(json.dumps(good_meta(format=FORMAT + 1)))
    with pytest.raises(VisionDeskError) as err:
        load_taught(folder)
    assert str(err.value) == (f"{folder / MANIFEST} was written by a newer Vision Desk (format {FORMAT + 1}); "
                              "update Vision Desk to use this model.")


def test_a_classify_stage_on_a_broken_model_stops_with_the_sentence(tmp_path: Path) -> None:
    """The stage is the model's user in a pipeline: it fails with the file's sentence, and nothing else breaks."""
    from vision_desk.engine.pipeline import Pipeline, spec_from_dict

    folder = model_folder(tmp_path, good_meta(size="big"))
    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": "classify", "params": {"model": str(folder)}}]}))
    with pytest.raises(VisionDeskError) as err:
        pipeline.setup()
    assert str(err.value) == (f"stage 'classify' could not start: {folder / MANIFEST}: field 'size' must be a whole "
                              f"number (got 'big'){RETRAIN}")
