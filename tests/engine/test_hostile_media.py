"""Hostile media: a corpus of broken files (tests/hostile_media.py) through batch, the CLI and the engine.

Every case must end with one sentence that names the file, or with a complete output; never a traceback or a
hang; and the good files beside them must come through whole.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.hostile_media import GOOD_FRAMES, MUST_COMPLETE, MUST_FAIL, write_corpus
from vision_desk.engine.batch import run_batch
from vision_desk.engine.pipeline import spec_from_dict
from vision_desk.engine.runner import Engine
from vision_desk.engine.sources import open_source
from vision_desk.errors import VisionDeskError

ROOT = Path(__file__).resolve().parents[2]
SPEC = spec_from_dict({"name": "motion", "stages": [{"stage": "motion", "params": {"min_area": 300}}]})


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("hostile") / "in"
    return folder, write_corpus(folder)


def one_sentence_naming(message: str | None, name: str) -> bool:
    return bool(message) and "\n" not in message.strip() and name in message and "Traceback" not in message


def test_the_corpus_holds_at_least_30_broken_cases_of_every_kind(corpus: tuple[Path, dict[str, str]]) -> None:
    _, kinds = corpus
    broken = [kind for kind in kinds.values() if kind != "good"]
    assert len(broken) >= 30
    assert {"truncated", "flipped bytes", "swapped container", "zero-length", "huge dimensions", "wrong extension",
            "not a file"} == set(broken)


@pytest.mark.timeout(60)
def test_batch_ends_every_case_with_one_sentence_and_completes_the_good_files(
        corpus: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    folder, kinds = corpus
    summary = run_batch(folder, SPEC, tmp_path / "out")
    by_name = {item.rel.name: item for item in summary.items}
    # every case is an input (the folder named like a video is a folder: batch walks it only with --recursive)
    assert set(by_name) == set(kinds) - {"folder_named.mp4"}
    for name, item in by_name.items():
        assert item.status in ("done", "failed"), name
        if item.status == "failed":
            assert one_sentence_naming(item.error, name), (name, item.error)
            assert str(folder) not in item.error, item.error  # the name, as the summary lists it, not the whole path
            assert not any(o.exists() for o in item.outputs), name  # a failed input leaves nothing half-written
        else:
            assert item.frames >= 1 and all(o.exists() for o in item.outputs), name
    assert {n for n, i in by_name.items() if i.status == "failed"} >= MUST_FAIL
    assert {n: by_name[n].frames for n in MUST_COMPLETE} == MUST_COMPLETE
    assert all(by_name[n].status == "done" for n in MUST_COMPLETE)
    assert "named pipe" in by_name["named_pipe.mp4"].error
    assert all("is a link that leads to no file" in by_name[n].error for n in ("dangling_link.mp4", "loop_a.mp4"))
    assert "2^30 pixels" in by_name["huge_100000x100000.png"].error


#: A pipeline without state: in parallel runs its videos are cut into segments, which opens each one once more.
STATELESS = spec_from_dict({"name": "edges", "stages": [{"stage": "canny", "params": {}}]})


@pytest.mark.parametrize("spec, options", [(SPEC, []), (STATELESS, ["--workers", "2", "--segment", "0.2"])],
                         ids=["default", "two-workers-in-segments"])
def test_the_cli_batch_prints_no_traceback_and_goes_on(corpus: tuple[Path, dict[str, str]], tmp_path: Path,
                                                       spec, options: list[str]) -> None:  # noqa: ANN001
    """The second case hung before: cutting videos into segments opened the named pipe, which waits for a writer."""
    folder, kinds = corpus
    pipeline = tmp_path / "pipeline.yaml"
    spec.save(pipeline)
    done = subprocess.run([sys.executable, "-m", "vision_desk.cli", "batch", str(folder), "--pipeline", str(pipeline),
                           "--out", str(tmp_path / "out"), "--recursive", *options],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    assert done.returncode == 1  # some inputs failed
    failed = [line for line in done.stderr.splitlines() if line.startswith("  failed: ")]
    assert len(failed) >= len(MUST_FAIL)
    assert all(one_sentence_naming(line, line.split(": ")[1].split("/")[-1]) for line in failed)
    assert f"ok      good_clip.mp4 ({GOOD_FRAMES} frames" in done.stderr
    assert "ok      good_photo.png (1 frame," in done.stderr
    assert (tmp_path / "out" / "good_clip.mp4").is_file()
    assert "folder_named.mp4/readme.txt" not in done.stderr  # walked, but a .txt is not an input


@pytest.mark.timeout(60)
def test_every_case_opened_as_a_source_ends_with_one_sentence_or_frames(corpus: tuple[Path, dict[str, str]]) -> None:
    folder, kinds = corpus
    outcomes = {}
    for name in sorted(kinds):
        try:
            engine = Engine(open_source(str(folder / name)), live=False, max_frames=5, annotate=False)
        except VisionDeskError as err:
            outcomes[name] = str(err)
            continue
        engine.start()
        assert engine.join(15), f"{name}: the engine did not finish within 15 s"
        outcomes[name] = str(engine.error) if engine.error else f"{engine.stats().frames_out} frames"
    for name, outcome in outcomes.items():
        if not outcome.endswith(" frames"):
            assert one_sentence_naming(outcome, name), (name, outcome)
    assert {n for n, o in outcomes.items() if not o.endswith(" frames")} >= MUST_FAIL | {"folder_named.mp4"}
    assert all("is a link that leads to no file" in outcomes[n] for n in ("dangling_link.mp4", "loop_a.mp4"))
    assert all(outcomes[n] == f"{min(5, frames)} frames" for n, frames in MUST_COMPLETE.items())
