"""What the app opens first: the source named, the pipeline file's `source:`, or the demo."""

from __future__ import annotations

from pathlib import Path

from vision_desk.engine.pipeline import load_spec
from vision_desk.gui.app import build_parser, startup_source


def test_a_pipeline_files_source_is_found_beside_the_file_wherever_the_app_starts(tmp_path: Path,
                                                                                  monkeypatch) -> None:  # noqa: ANN001
    folder = tmp_path / "presets"
    folder.mkdir()
    (folder / "clip.mp4").write_bytes(b"")  # only its place matters here
    pipeline = folder / "p.yaml"
    pipeline.write_text("name: p\nsource: clip.mp4\nstages: [{stage: blur}]\n")
    monkeypatch.chdir(tmp_path)  # not the pipeline's folder: a bare clip.mp4 would not be found from here
    spec = load_spec(pipeline)

    def first(*argv: str) -> str | None:
        return startup_source(build_parser().parse_args(list(argv)), spec)

    assert Path(first("-p", "presets/p.yaml")).resolve() == (folder / "clip.mp4").resolve()
    assert first("demo:?fps=5", "-p", "presets/p.yaml") == "demo:?fps=5"  # a source named wins
    assert startup_source(build_parser().parse_args([]), load_spec(Path(__file__).parents[2] / "pipelines" / "motion.yaml")) == "demo:"
    assert startup_source(build_parser().parse_args(["--layout", "desk"]), load_spec(Path(__file__).parents[2] / "pipelines" / "motion.yaml")) is None
