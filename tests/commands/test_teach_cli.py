"""`vision-desk teach capture | train | eval` as users run them, on clips of real photos."""

from __future__ import annotations

from pathlib import Path

from tests.test_cli import cli


def test_capture_train_and_eval_from_the_command_line(tmp_path: Path, teach_clips: dict[str, tuple[Path, Path]]) -> None:
    dataset, held = tmp_path / "set", tmp_path / "held"
    for name, (train_clip, held_clip) in teach_clips.items():
        r = cli("teach", "capture", str(train_clip), "--class", name, "--every", "3", "--out", str(dataset))
        assert r.returncode == 0, r.stderr
        assert f"20 samples of '{name}' saved" in r.stdout
        assert cli("teach", "capture", str(held_clip), "--class", name, "--every", "3", "--max", "5",
                   "--region", "0.1,0.1,0.8,0.8", "--out", str(held)).returncode == 0
    assert sorted(len(list((held / n).iterdir())) for n in teach_clips) == [5, 5, 5]

    model = tmp_path / "model"
    r = cli("teach", "train", str(dataset), "--out", str(model), "--backbone", "resnet18", "--size", "96", "--from-scratch")
    assert r.returncode == 0, r.stderr
    assert "trained astronaut, cat, coffee on 48 images" in r.stdout and (model / "model.onnx").is_file()

    r = cli("teach", "eval", str(model), str(held))
    assert r.returncode == 0, r.stderr
    accuracy = float(r.stdout.split()[1])
    assert accuracy >= 0.9, r.stdout
    assert "confusion (rows: true class, columns: predicted):" in r.stdout


def test_training_without_pulled_weights_is_one_line_naming_the_command(tmp_path: Path, captured_sets, monkeypatch) -> None:
    monkeypatch.setenv("VISION_DESK_MODELS", str(tmp_path / "models"))  # an empty models folder
    r = cli("teach", "train", str(captured_sets[0]), "--out", str(tmp_path / "m"))
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "vision-desk models pull tv-mobilenet-v3-large" in r.stderr
    assert not (tmp_path / "m").exists()


def test_a_one_class_set_says_what_to_add(tmp_path: Path, captured_sets) -> None:
    import shutil

    shutil.copytree(captured_sets[0] / "cat", tmp_path / "set" / "cat")
    r = cli("teach", "train", str(tmp_path / "set"), "--out", str(tmp_path / "m"), "--from-scratch")
    assert r.returncode != 0
    assert r.stderr.strip().splitlines()[-1] == ("error: the teach set set has one class ('cat'); add at least one "
                                                 "more class with 6 or more images.")
