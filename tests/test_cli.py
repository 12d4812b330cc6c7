"""The command line as users run it: exit codes, one-line errors, outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vision_desk.cli", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def test_run_file_with_pipeline_record_and_export(clip_300: Path, tmp_path: Path) -> None:
    rec, exp = tmp_path / "o.mp4", tmp_path / "o.jsonl"
    r = cli("run", str(clip_300), "--pipeline", "pipelines/edges.yaml", "--set", "canny.low=20",
            "--record", str(rec), "--export", str(exp), "--max-frames", "50")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in exp.read_text().splitlines()]
    assert len(lines) == 50 and lines[0]["values"]["edge_pixels"] > 0
    assert rec.stat().st_size > 1000


def test_run_demo_for_a_duration(tmp_path: Path) -> None:
    """--duration stops a live source after that many seconds of processing (30 fps demo: about 45 frames)."""
    exp = tmp_path / "demo.jsonl"
    r = cli("run", "demo:", "--duration", "1.5", "--export", str(exp))
    assert r.returncode == 0, r.stderr
    assert "done:" in r.stderr
    frames = [json.loads(x)["frame"] for x in exp.read_text().splitlines()]
    assert 10 <= len(frames) <= 60
    assert frames == sorted(frames) and len(set(frames)) == len(frames)


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "/no/such.mp4"], "not found"),
        (["run", "demo:", "--pipeline", "/no/such.yaml"], "pipeline file not found"),
        (["run", "demo:", "--pipeline", "pipelines/edges.yaml", "--set", "canny.low=-5"], "parameter 'low'"),
        (["run", "cam:9"], "no camera at index 9"),
        (["run", "demo:", "--record", "x.avi"], "use a .mp4 file name"),
        (["batch", ".", "--pipeline", "pipelines/edges.yaml", "--out", "/tmp/x", "--workers", "many"],
         "--workers 'many' is not a number of processes; give 1, 2, ... or auto."),
    ],
)
def test_failures_print_one_line_and_exit_non_zero(args: list[str], message: str) -> None:
    r = cli(*args)
    assert r.returncode != 0
    err_lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert err_lines[-1].startswith("error: ") and message in err_lines[-1]
    assert "Traceback" not in r.stderr


def test_debug_shows_the_traceback() -> None:
    r = cli("--debug", "run", "/no/such.mp4")
    assert r.returncode == 1 and "Traceback" in r.stderr


def test_stages_json_lists_parameters() -> None:
    r = cli("stages", "--json")
    assert r.returncode == 0
    stages = {s["id"]: s for s in json.loads(r.stdout)}
    assert {"grayscale", "blur", "canny", "threshold", "motion", "sketch"} <= set(stages)
    ksize = next(p for p in stages["blur"]["params"] if p["name"] == "ksize")
    assert (ksize["type"], ksize["default"], ksize["minimum"], ksize["maximum"]) == ("int", 5, 1, 51)
    method = next(p for p in stages["blur"]["params"] if p["name"] == "method")
    assert method["choices"] == ["gaussian", "median", "bilateral", "box"]


def test_stages_json_lists_the_values_and_columns_each_stage_writes() -> None:
    from vision_desk.engine.stage import all_stages

    r = cli("stages", "--json")
    assert r.returncode == 0
    stages = {s["id"]: s for s in json.loads(r.stdout)}
    declared = all_stages()  # in this process other tests may have registered stages of their own: compare the listed ones
    assert {sid: (s["values"], s["columns"]) for sid, s in stages.items()} == {
        sid: (declared[sid].values, declared[sid].columns) for sid in stages}
    assert len(stages) > 60
    assert stages["detect"]["values"]["detect_count"] and stages["motion"]["values"]["motion_count"]
    assert stages["hog"]["values"].keys() == {"hog_count"} and stages["ocr"]["columns"].keys() == {"polygon", "text", "text_score"}
    assert "<name>_in_<class>" in stages["count"]["values"] and stages["blur"]["values"] == {}
    text = cli("stages").stdout
    assert "      values: hog_count\n" in text and "      columns: polygon, text, text_score\n" in text


def test_stages_lists_each_parameters_old_names() -> None:
    stages = {s["id"]: s for s in json.loads(cli("stages", "--json").stdout)}
    every = next(p for p in stages["faces"]["params"] if p["name"] == "every")
    assert every["old_names"] == ["every_n"]
    assert "(old name: every_n_frames)" in cli("stages").stdout


def test_a_pipeline_with_old_names_runs_with_one_notice_per_old_name(tmp_path: Path) -> None:
    pipeline = tmp_path / "old.yaml"
    pipeline.write_text("stages:\n  - stage: template\n    params: {threshold: 0.7}\n"
                        "  - stage: hog\n    params: {min_score: 0.5, downscale: 4}\n")
    exp = tmp_path / "o.jsonl"
    # lossless: every frame waits for its stages (a live run's first frames pass before async stages' first results)
    r = cli("run", "demo:", "--pipeline", str(pipeline), "--set", "hog.min_score=0.4", "--max-frames", "2", "--lossless",
            "--export", str(exp))
    assert r.returncode == 0, r.stderr
    notices = [line for line in r.stderr.splitlines() if line.startswith("notice: ")]
    assert len(notices) == 3, r.stderr
    assert "stage 1 'template': parameter 'threshold' is now 'confidence'" in notices[0]
    assert "stage 2 'hog': parameter 'min_score' is now 'confidence'" in notices[1]
    assert notices[2].startswith("notice: --set 'hog.min_score=0.4': parameter 'min_score' of stage 'hog' is now 'confidence'")
    values = json.loads(exp.read_text().splitlines()[0])["values"]
    assert {"template_count", "hog_count"} <= set(values) and "hog_people" not in values


def test_batch_exit_code_reflects_failures(tmp_path: Path, clip_300: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "good.mp4").write_bytes(clip_300.read_bytes())
    (tmp_path / "in" / "bad.mp4").write_bytes(b"")
    r = cli("batch", str(tmp_path / "in"), "-p", "pipelines/motion.yaml", "-o", str(tmp_path / "out"), "--no-video")
    assert r.returncode == 1
    assert "1 done, 1 failed" in r.stderr and "bad.mp4" in r.stderr
    assert len((tmp_path / "out" / "good.jsonl").read_text().splitlines()) == 300


@pytest.mark.parametrize("args", [
    ["demo:", "rtsp://cam:secret@host/x"],  # a source opens the app, which takes one source
    ["stages", "rtsp://cam:secret@host/x"],  # unrecognized arguments (run takes several sources)
    ["run", "--max-frames", "rtsp://cam:secret@host/x"],  # invalid int value
    ["run", "demo:", "--no-such-option", "http://u:secret@host/v?token=secret"],
    ["stages", "rtsp://cam:my secret@host/x"],  # a space in the password ends a URI in free text
    ["stages", "rtsp://cam:it's-secret@host/x"],  # so does a quote
    ["run", "demo:", "--record=rtsp://cam:secret@host/x", "--live", "--lossless"],  # not allowed with
    ["teach", "train", "set", "--out", "m", "--mode", "http://u:secret@host/x"],  # a sub-sub-command's choices
    ["teach", "capture", "rtsp://cam:secret@host/x", "--class", "a", "--out", "o", "--every", "x"],
    ["faces", "remove", "http://u:secret@host/x", "rtsp://cam:secret@host/y"],
    ["batch", "rtsp://cam:secret@host/x"],  # required options missing
    ["gui", "rtsp://cam:secret@host/x", "http://u:secret@host/y"],
])
def test_usage_errors_never_print_credentials(args: list[str]) -> None:
    """argparse quotes what was typed in its errors; user names, passwords and tokens are masked there too."""
    r = cli(*args)
    assert r.returncode == 2 and "error:" in r.stderr, r.stderr
    assert "secret" not in r.stderr + r.stdout, r.stderr
    assert r.stderr.count("@host") == r.stderr.count("***:***@host"), r.stderr  # where a URI is quoted, it is masked


def test_the_apps_own_parser_masks_credentials_too() -> None:
    """``python -m vision_desk.gui.app`` (what ``main.py`` runs) parses with the same masking parser."""
    r = subprocess.run([sys.executable, "-m", "vision_desk.gui.app", "rtsp://cam:secret@host/x", "http://u:p w@host/y"],
                       capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 2 and "unrecognized arguments: http://***:***@host/y" in r.stderr, r.stderr
    assert "p w" not in r.stderr + r.stdout and "secret" not in r.stderr + r.stdout


def test_a_source_or_options_without_a_command_open_the_app() -> None:
    from vision_desk.cli import build_parser, command_names, gui_by_default

    parser = build_parser()
    commands = command_names(parser)
    assert {"run", "batch", "gui", "stages"} <= commands
    args = parser.parse_args(gui_by_default(["clip.mp4", "--pipeline", "p.yaml"], commands))
    assert (args.command, args.source, args.pipeline) == ("gui", "clip.mp4", "p.yaml")
    assert gui_by_default(["--debug", "--pipeline", "p.yaml"], commands) == ["--debug", "gui", "--pipeline", "p.yaml"]
    assert gui_by_default(["run", "demo:"], commands) == ["run", "demo:"] and gui_by_default([], commands) == []


def test_main_py_with_a_source_and_a_pipeline_opens_the_app(small_clip_for_cli: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    r = subprocess.run([sys.executable, "main.py", str(small_clip_for_cli), "--pipeline", "pipelines/edges.yaml",
                        "--screenshot", str(shot), "--quit-after", "1"], capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "invalid choice" not in r.stderr and shot.stat().st_size > 1000
    r = subprocess.run([sys.executable, "main.py", "--pipeline", str(tmp_path / "missing.yaml")], capture_output=True,
                       text=True, timeout=180, cwd=ROOT)
    assert r.returncode == 1 and "pipeline file not found" in r.stderr, r.stderr
    bad = tmp_path / "bad-layout.yaml"
    bad.write_text("name: bad\nrows: 1\ncols: 7\n")
    r = subprocess.run([sys.executable, "main.py", "gui", "--layout", str(bad), "--quit-after", "0.5"], capture_output=True,
                       text=True, timeout=180, cwd=ROOT)
    assert f"error: {bad}: field 'cols' should be less than or equal to 6 (got 7)" in r.stderr, r.stderr


@pytest.fixture(scope="module")
def small_clip_for_cli(media_dir: Path) -> Path:
    from tests.media import moving_object_frames, write_clip

    return write_clip(media_dir / "cli40.mp4", moving_object_frames(40, size=(160, 120), radius=12, speed=3, start=10)[0], fps=20.0)
