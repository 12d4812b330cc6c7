"""`vision-desk run SRC1 SRC2 ...`: several sources in one process, outputs per source, stage failures named by
stream; the pipeline's own source when none is given."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.media import moving_object_frames, write_clip
from vision_desk.cli import main

EDGES = Path(__file__).resolve().parents[2] / "pipelines" / "edges.yaml"


@pytest.fixture(scope="module")
def two_clips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("clips")
    frames, _ = moving_object_frames(20, size=(320, 180), radius=15)
    return [write_clip(folder / "gate.mp4", frames), write_clip(folder / "yard.mp4", frames[::-1])]


def test_several_sources_write_outputs_named_after_each(two_clips: list[Path], tmp_path: Path, capsys) -> None:  # noqa: ANN001
    records, exports = tmp_path / "rec", tmp_path / "exp"
    code = main(["run", *map(str, two_clips), "demo:", "-p", str(EDGES), "--max-frames", "8",
                 "--record-dir", str(records), "--export-dir", str(exports), "--gather-ms", "2"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert sorted(p.name for p in exports.iterdir()) == ["demo.jsonl", "gate.jsonl", "yard.jsonl"]
    assert sorted(p.name for p in records.iterdir()) == ["demo.mp4", "gate.mp4", "yard.mp4"]
    for name in ("gate", "yard", "demo"):
        rows = [json.loads(line) for line in (exports / f"{name}.jsonl").read_text().splitlines()]
        assert len(rows) == 8 and rows[0]["values"]["edge_pixels"] > 0
        if name != "demo":  # files are lossless; the live demo may skip frames
            assert [r["frame"] for r in rows] == list(range(8))
        assert (records / f"{name}.mp4").stat().st_size > 1000
    assert err.count("done: ") == 3 and f"done: {two_clips[0]}: 8 frames" in err


@pytest.mark.parametrize(("args", "message"), [
    (["--record", "x.mp4"], "--record and --export name one file, for one source"),
    (["--gather-ms", "-1"], "--gather-ms: gather_ms must be 0 or more"),
])
def test_several_sources_refuse_single_file_options(two_clips: list[Path], capsys, args: list[str], message: str) -> None:  # noqa: ANN001
    assert main(["run", *map(str, two_clips), *args]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: ") and message in line


def test_the_pipeline_files_own_source_runs_when_none_is_given(two_clips: list[Path], tmp_path: Path, capsys) -> None:  # noqa: ANN001
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(f"name: mine\nsource: {two_clips[0]}\nstages:\n  - stage: grayscale\n")
    export = tmp_path / "out.jsonl"
    assert main(["run", "-p", str(pipeline), "--export", str(export)]) == 0, capsys.readouterr().err
    assert len(export.read_text().splitlines()) == 20
    pipeline.write_text("name: mine\nstages:\n  - stage: grayscale\n")
    assert main(["run", "-p", str(pipeline)]) == 1
    assert "no source given" in capsys.readouterr().err


@pytest.mark.parametrize("mode", ["continue", "stop"])
def test_a_stage_failing_on_one_source_is_named_with_it(two_clips: list[Path], clip_300: Path, tmp_path: Path,
                                                        capsys, mode: str) -> None:  # noqa: ANN001
    from tests.engine.test_multi import FailsOnSmallFrames

    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(f"stages:\n  - stage: {FailsOnSmallFrames.id}\n")
    small = str(two_clips[0])
    code = main(["run", str(clip_300), small, "-p", str(pipeline), "--max-frames", "5", "--on-stage-error", mode])
    err = capsys.readouterr().err
    assert f"done: {clip_300}: 5 frames" in err and f"{clip_300}: {FailsOnSmallFrames.id}" not in err
    if mode == "continue":
        assert code == 0, err
        assert err.count(f"warning: {small}: stage '{FailsOnSmallFrames.id}' failed on frame") == 5
        assert f"warning: {small}: 5 stage failures" in err and f"done: {small}: 5 frames" in err
    else:
        assert code == 1
        assert f"error: {small}: stage '{FailsOnSmallFrames.id}' failed on frame 0: ValueError: cannot handle 320" in err
