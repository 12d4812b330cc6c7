"""One name per concept: pipeline files and --set written with a parameter's old name still load, under the new
name, with exactly one one-line notice per old name; saving writes the new names."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from vision_desk.engine.params import describe
from vision_desk.engine.pipeline import Pipeline, apply_overrides, load_spec, spec_from_dict
from vision_desk.engine.stage import stage_class
from vision_desk.errors import PipelineError
from vision_desk.resources import pipelines_dir

# stage, old name, new name, a value
RENAMED = [
    ("faces", "every_n", "every", 3),
    ("ocr", "every_n_frames", "every", 45),
    ("ocr", "min_confidence", "confidence", 0.3),
    ("template", "threshold", "confidence", 0.7),
    ("hog", "min_score", "confidence", 0.5),
]


def _write(path: Path, stages: list[dict]) -> Path:
    path.write_text(yaml.safe_dump({"name": "old", "stages": stages}, sort_keys=False))
    return path


@pytest.mark.parametrize(("stage", "old", "new", "value"), RENAMED, ids=[f"{s}.{o}" for s, o, _, _ in RENAMED])
def test_an_old_name_loads_as_the_new_one_with_one_notice(tmp_path: Path, stage: str, old: str, new: str, value) -> None:  # noqa: ANN001
    path = _write(tmp_path / "old.yaml", [{"stage": "blur"}, {"stage": stage, "params": {old: value}}])
    spec = load_spec(path)
    assert spec.stages[1].params == {new: value}
    assert Pipeline(spec).spec().stages[1].params[new] == value  # the stage runs with it
    [notice] = spec.notices
    assert "\n" not in notice and notice.endswith(".")
    assert notice.startswith(f"{path}: stage 2 '{stage}': parameter '{old}' is now '{new}'"), notice


def test_each_old_name_gives_exactly_one_notice_and_new_names_none(tmp_path: Path) -> None:
    path = _write(tmp_path / "mixed.yaml", [
        {"stage": "faces", "params": {"every_n": 2, "min_size": 40}},
        {"stage": "ocr", "params": {"every_n_frames": 10, "min_confidence": 0.3, "paragraph": True}},
        {"stage": "template", "params": {"confidence": 0.6}},  # already the new name
        {"stage": "hog", "params": {"min_score": 0.2}},
    ])
    spec = load_spec(path)
    assert [s.params for s in spec.stages] == [
        {"every": 2, "min_size": 40},
        {"every": 10, "confidence": 0.3, "paragraph": True},  # renamed in place: the file's order is kept
        {"confidence": 0.6},
        {"confidence": 0.2},
    ]
    olds = [n.split("parameter '")[1].split("'")[0] for n in spec.notices]
    assert olds == ["every_n", "every_n_frames", "min_confidence", "min_score"]
    assert [n.split(": ")[1] for n in spec.notices] == ["stage 1 'faces'", "stage 2 'ocr'", "stage 2 'ocr'", "stage 4 'hog'"]


def test_shipped_presets_use_the_new_names() -> None:
    for path in sorted(pipelines_dir().glob("*.yaml")):
        assert load_spec(path).notices == [], path.name


def test_an_old_and_a_new_name_together_is_one_clear_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "both.yaml", [{"stage": "ocr", "params": {"every_n_frames": 10, "every": 5}}])
    with pytest.raises(PipelineError) as err:
        load_spec(path)
    message = str(err.value)
    assert message == (f"{path}: stage 1 'ocr': parameter 'every_n_frames' is the old name of 'every', "
                       "and both are given; keep only 'every'.")


def test_a_bad_value_under_an_old_name_names_both_names(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.yaml", [{"stage": "hog", "params": {"min_score": 9}}])
    with pytest.raises(PipelineError, match=r"stage 1 'hog': parameter 'confidence' \(old name 'min_score'\) input should be less"):
        load_spec(path)


def test_saving_writes_the_new_names(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path / "old.yaml", [{"stage": "faces", "params": {"every_n": 4}},
                                                  {"stage": "ocr", "params": {"min_confidence": 0.5}}]))
    spec.save(tmp_path / "saved.yaml")  # what a loaded spec writes
    Pipeline(spec).spec().save(tmp_path / "running.yaml")  # what the app writes from the running chain
    for name in ("saved.yaml", "running.yaml"):
        text = (tmp_path / name).read_text()
        assert "every_n" not in text and "min_confidence" not in text, text
        again = load_spec(tmp_path / name)
        assert again.notices == [] and again.stages[0].params["every"] == 4 and again.stages[1].params["confidence"] == 0.5


def test_set_with_an_old_name_sets_the_new_one_with_one_notice() -> None:
    spec = spec_from_dict({"stages": [{"stage": "ocr", "params": {"every": 10}}]}, "p.yaml")
    spec = apply_overrides(spec, ["ocr.every_n_frames=30", "ocr.paragraph=true"])
    assert spec.stages[0].params == {"every": 30, "paragraph": True}
    [notice] = spec.notices
    assert notice.startswith("--set 'ocr.every_n_frames=30': parameter 'every_n_frames' of stage 'ocr' is now 'every'")
    assert "--set ocr.every=" in notice and "\n" not in notice


def test_code_and_live_edits_take_old_names_too() -> None:
    """The mapping lives on the parameter model, so every way in takes old names (the GUI, scripts, set_params)."""
    params = stage_class("ocr").Params(every_n_frames=5, min_confidence=0.2)
    assert (params.every, params.confidence) == (5, 0.2)
    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": "faces"}]}))
    [slot] = pipeline.slot_ids()
    pipeline.set_params(slot, every_n=6)
    pipeline.apply_edits()
    assert pipeline.spec().stages[0].params["every"] == 6


def test_the_listing_shows_each_parameters_old_names() -> None:
    every = next(p for p in describe(stage_class("ocr").Params) if p.name == "every")
    assert every.old_names == ("every_n_frames",) and every.as_dict()["old_names"] == ["every_n_frames"]
    assert "old_names" not in next(p for p in describe(stage_class("ocr").Params) if p.name == "paragraph").as_dict()
