"""Every pipeline-file error names the file, the stage and the parameter, and nothing starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from vision_desk.engine.pipeline import Pipeline, apply_overrides, load_spec, spec_from_dict
from vision_desk.errors import PipelineError
from vision_desk.resources import pipelines_dir

GOOD = """name: edges
stages:
  - stage: blur
    params: {method: gaussian, ksize: 5}
  - stage: canny
    params: {low: 50, high: 150}
    enabled: true
"""


def test_issue_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "edges.yaml"
    path.write_text(GOOD)
    spec = load_spec(path)
    assert spec.name == "edges" and [s.stage for s in spec.stages] == ["blur", "canny"]
    assert spec.stages[1].params == {"low": 50, "high": 150}


def test_save_load_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(GOOD)
    spec = Pipeline(load_spec(path)).spec()
    spec.save(tmp_path / "b.yaml")
    again = load_spec(tmp_path / "b.yaml")
    assert again.as_dict() == spec.as_dict()
    assert again.stages[0].params == {"method": "gaussian", "ksize": 5}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("stages: [\n  - stage: blur\n", ["bad.yaml", "invalid YAML", "line"]),
        ("stages:\n  - stage: blurr\n", ["bad.yaml", "stage 1", "unknown stage 'blurr'", "Did you mean 'blur'"]),
        ("stages:\n  - stage: blur\n    params: {ksize: five}\n", ["bad.yaml", "stage 1 'blur'", "parameter 'ksize'", "integer"]),
        ("stages:\n  - stage: blur\n  - stage: canny\n    params: {low: 5000}\n", ["bad.yaml", "stage 2 'canny'", "parameter 'low'", "less than or equal to 1000"]),
        ("stages:\n  - stage: blur\n    params: {method: fancy}\n", ["stage 1 'blur'", "parameter 'method'", "gaussian"]),
        ("stages:\n  - stage: canny\n    params: {sigma: 3}\n", ["stage 1 'canny'", "parameter 'sigma'", "is not a parameter"]),
        ("stages:\n  - stage: canny\n    enabled: maybe\n", ["stage 1 'canny'", "'enabled' must be true or false"]),
        ("name: x\n", ["bad.yaml", "'stages' list"]),
        ("stages: []\nfilters: []\n", ["unknown top-level key", "filters"]),
    ],
)
def test_errors_name_file_stage_and_parameter(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(PipelineError) as err:
        load_spec(path)
    message = str(err.value)
    for part in expected:
        assert part in message
    assert "\n" not in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="not found"):
        load_spec(tmp_path / "nope.yaml")


def test_overrides() -> None:
    spec = spec_from_dict({"stages": [{"stage": "blur"}, {"stage": "canny"}, {"stage": "blur"}]})
    out = apply_overrides(spec, ["blur.ksize=9", "blur#2.method=median", "canny.low=10"])
    assert out.stages[0].params == {"ksize": 9}
    assert out.stages[2].params == {"method": "median"}
    assert out.stages[1].params == {"low": 10}
    with pytest.raises(PipelineError, match="parameter 'ksize'"):
        apply_overrides(spec, ["blur.ksize=500"])
    with pytest.raises(PipelineError, match="no stage 'sobel'"):
        apply_overrides(spec, ["sobel.k=3"])
    with pytest.raises(PipelineError, match="STAGE.PARAM=VALUE"):
        apply_overrides(spec, ["blur=3"])


def test_shipped_presets_are_valid() -> None:
    presets = sorted(pipelines_dir().glob("*.yaml"))
    assert presets
    for path in presets:
        Pipeline(load_spec(path))  # validates every stage and parameter


def test_a_pipeline_loads_only_its_own_stage_modules() -> None:
    """A fresh process resolving detect and track imports their module, not the other ~60 stages; an id the
    source search cannot see (faces declares it through a constant) and a typo still resolve as before."""
    import subprocess
    import sys

    code = """
import sys
from vision_desk.engine.stage import REGISTRY, stage_class
from vision_desk.errors import PipelineError
assert stage_class("detect").__name__ == "DetectStage" and stage_class("track").__name__ == "TrackStage"
loaded = sorted(m for m in sys.modules if m.startswith("vision_desk.stages."))
assert not any(m.startswith("vision_desk.stages.classical.") for m in loaded), loaded
assert set(REGISTRY) >= {"detect", "track"} and len(REGISTRY) < 10, sorted(REGISTRY)
assert stage_class("faces").__name__ == "FacesStage"
try:
    stage_class("detekt")
except PipelineError as err:
    assert "Did you mean 'detect'" in str(err), err
else:
    raise AssertionError("an unknown stage was accepted")
print(len(REGISTRY))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[2])
    assert out.returncode == 0, out.stderr[-1500:]
    assert int(out.stdout) > 50  # the fallback loaded every stage
