"""Every face stage: registered under its id in the Faces category, its pipeline dict validated, and a 720p run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vision_desk.engine.pipeline import Pipeline, spec_from_dict
from vision_desk.engine.runner import Engine
from vision_desk.engine.stage import stage_class
from vision_desk.errors import PipelineError

# stage id -> (valid params, (invalid parameter, its value))
CASES = {
    "faces": ({"min_size": 40, "confidence": 0.8, "every": 2, "recognize": True, "threshold": 0.45, "tracking": "own"}, ("confidence", 1.5)),
    "landmarks": ({"style": "contours", "pose": True}, ("style", "mesh")),
    "face_privacy": ({"method": "pixelate", "faces": "unknown", "strength": 60}, ("padding", -0.1)),
    "face_swap": ({"mode": "image", "image": "face.jpg", "seamless": False}, ("mode", "everyone")),
}


@pytest.mark.parametrize("stage_id", CASES)
def test_stage_is_registered_in_the_faces_category(stage_id):
    cls = stage_class(stage_id)
    assert cls.id == stage_id and cls.category == "Faces" and cls.heavy


@pytest.mark.parametrize("stage_id", CASES)
def test_valid_pipeline_validates(stage_id):
    params, _ = CASES[stage_id]
    spec = spec_from_dict({"stages": [{"stage": stage_id, "params": params}]})
    assert spec.stages[0].params == params


@pytest.mark.parametrize("stage_id", CASES)
def test_invalid_parameter_names_stage_and_parameter(stage_id):
    _, (name, value) = CASES[stage_id]
    with pytest.raises(PipelineError) as err:
        spec_from_dict({"stages": [{"stage": stage_id, "params": {name: value}}]}, "faces.yaml")
    assert stage_id in str(err.value) and f"'{name}'" in str(err.value)


def test_unknown_backend_is_refused():
    with pytest.raises(PipelineError, match="'backend'"):
        spec_from_dict({"stages": [{"stage": "faces", "params": {"backend": "arcface"}}]})


@pytest.mark.parametrize(
    "stages, value, minimum",
    [
        ([{"stage": "faces"}], "faces_count", 1),
        ([{"stage": "faces"}, {"stage": "landmarks", "params": {"style": "both"}}], "landmarks_count", 1),
        ([{"stage": "face_privacy"}], "faces_hidden", 1),
        ([{"stage": "faces"}, {"stage": "face_swap", "params": {"mode": "image"}}], "faces_swapped", 1),
    ],
    ids=["faces", "landmarks", "face_privacy", "face_swap"],
)
def test_short_run_over_a_720p_clip(clip_720p: Path, astronaut_png: Path, stages, value, minimum):
    for s in stages:
        if s["stage"] == "face_swap":
            s["params"]["image"] = str(astronaut_png)
    seen = []
    engine = Engine(str(clip_720p), Pipeline(spec_from_dict({"stages": stages})), max_frames=3, annotate=True,
                    on_frame=lambda f: seen.append((f.values.get(value), f.annotated.shape)))
    engine.run()
    assert len(seen) == 3
    assert all(v >= minimum and shape == (720, 1280, 3) for v, shape in seen)


@pytest.mark.parametrize("preset", ["faces.yaml", "face_privacy.yaml"])
def test_presets_validate(preset):
    from vision_desk.engine.pipeline import load_spec
    from vision_desk.resources import pipelines_dir

    spec = load_spec(pipelines_dir() / preset)
    assert spec.stages[0].stage == "faces" and spec.stages[0].params["recognize"] is True


def test_stage_modules_keep_heavy_imports_out_of_import_time():
    code = (
        "import sys, importlib, pkgutil, vision_desk.stages.faces as f\n"
        "[importlib.import_module(m.name) for m in pkgutil.iter_modules(f.__path__, f.__name__ + '.')]\n"
        "import vision_desk.commands.faces\n"
        "print(sorted(m for m in ('torch', 'dlib', 'facenet_pytorch', 'PySide6') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[3], check=True)
    assert out.stdout.strip() == "[]"
