"""`vision-desk models pull | verify | list` against a real HTTP server on this machine, then the pulled model in use.

The manifest is replaced by entries pointing at the local server (the real
one points at GitHub, which tests never reach); the file served is a real
YOLO11n-seg built from Ultralytics' config.
"""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import vision_desk.models as models
from tests.servers.http_files import FileHandler, serve_folder
from vision_desk.cli import main
from vision_desk.errors import ModelMissingError, VisionDeskError
from vision_desk.models import ModelEntry, sha256_of
from vision_desk.stages.detection.detect import DetectStage


@pytest.fixture
def server(tmp_path: Path, yaml_models: dict[str, Path]) -> Iterator[str]:
    """http://127.0.0.1:PORT serving yolo11n-seg.pt."""
    folder = tmp_path / "served"
    folder.mkdir()
    shutil.copy(yaml_models["segment"], folder / "yolo11n-seg.pt")
    with serve_folder(folder) as url:
        yield url


def use_manifest(monkeypatch: pytest.MonkeyPatch, *entries: ModelEntry) -> None:
    monkeypatch.setattr(models, "load_manifest", lambda: {e.name: e for e in entries})


def seg_entry(url: str, sha256: str, name: str = "local-seg") -> ModelEntry:
    return ModelEntry(name=name, task="segment", file=f"{name}.pt", url=url, sha256=sha256, size=0, licence="AGPL-3.0",
                      used_by=("detect",))


def test_pull_fetches_checks_and_the_detect_stage_then_uses_the_model_by_name(
        server: str, models_dir: Path, yaml_models: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    truth = sha256_of(yaml_models["segment"])
    use_manifest(monkeypatch, seg_entry(f"{server}/yolo11n-seg.pt", truth))
    with pytest.raises(ModelMissingError, match="fetch it with: vision-desk models pull local-seg"):
        models.resolve("local-seg")

    seen: list[tuple[int, int]] = []
    path = models.pull("local-seg", progress=lambda done, total: seen.append((done, total)))
    size = yaml_models["segment"].stat().st_size
    assert path == models_dir / "local-seg.pt" and sha256_of(path) == truth
    assert seen[-1] == (size, size) and len(seen) > 1  # progress in chunks, ending at the announced length
    assert not list(models_dir.glob("*.part"))
    assert main(["models", "pull", "local-seg"]) == 0  # present and verified: nothing is fetched again
    assert capsys.readouterr().out.strip() == str(path)
    assert FileHandler.requests == ["/yolo11n-seg.pt"]

    detect = DetectStage(DetectStage.Params(model="local-seg", imgsz=128))
    detect.setup()
    try:
        assert detect.task == "segment" and detect.describe().startswith("detect: local-seg (segment, imgsz 128) on cpu")
    finally:
        detect.close()


def test_a_wrong_checksum_a_cut_connection_or_a_dead_server_leave_nothing_behind(
        server: str, models_dir: Path, yaml_models: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    truth = sha256_of(yaml_models["segment"])
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/yolo11n-seg.pt"
    use_manifest(monkeypatch, seg_entry(f"{server}/yolo11n-seg.pt", "0" * 64, "wrong-sum"),
                 seg_entry(f"{server}/cut/yolo11n-seg.pt", "", "cut"), seg_entry(dead, truth, "dead"))

    with pytest.raises(VisionDeskError, match=r"'wrong-sum' downloaded with the wrong checksum \(" + truth[:12]):
        models.pull("wrong-sum")
    # No checksum in the manifest: the length the server announced is what catches the cut.
    size = yaml_models["segment"].stat().st_size
    with pytest.raises(VisionDeskError, match=f"closed after {size // 2} of {size} bytes"):
        models.pull("cut")
    # A refused connection is reported at once: well within the pull's own network timeout, which it would
    # otherwise wait out (compared with that setting, not with a number of seconds a loaded machine could pass).
    t0 = time.monotonic()
    with pytest.raises(VisionDeskError) as err:
        models.pull("dead", timeout=120.0)
    assert time.monotonic() - t0 < 120.0 / 4
    assert str(err.value).startswith(f"could not download model 'dead' from {dead} (")
    assert str(err.value).endswith(f"put it at {models_dir / 'dead.pt'}.")
    assert sorted(p.name for p in models_dir.iterdir()) == []


def test_verify_and_list_tell_checked_unchecked_corrupt_and_missing_models_apart(
        server: str, models_dir: Path, yaml_models: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    truth = sha256_of(yaml_models["segment"])
    url = f"{server}/yolo11n-seg.pt"
    use_manifest(monkeypatch, seg_entry(url, truth, "checked"), seg_entry(url, "", "unchecked"), seg_entry(url, truth, "absent"))
    models.pull("checked")
    models.pull("unchecked")
    assert main(["models", "verify"]) == 0
    assert capsys.readouterr().out.split("\n")[:3] == [
        f"{'checked':<28} ok", f"{'unchecked':<28} present (no checksum in the manifest)", f"{'absent':<28} missing"]

    assert main(["models", "list"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert rows[0] == ["name", "task", "size", "downloaded", "licence", "used", "by"]
    assert [(r[0], r[2], r[3]) for r in rows[1:]] == [("checked", "?", "yes"), ("unchecked", "?", "yes"), ("absent", "?", "no")]

    data = bytearray((models_dir / "checked.pt").read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped bit in the middle: a damaged copy
    (models_dir / "checked.pt").write_bytes(bytes(data))
    assert main(["models", "verify"]) == 1
    assert capsys.readouterr().out.splitlines()[0] == f"{'checked':<28} checksum mismatch"


def test_pull_also_fetches_the_files_a_model_needs(server: str, models_dir: Path, yaml_models: dict[str, Path],
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A Darknet model is weights + .cfg + class names: `pull` of the weights fetches all three (each checked)."""
    truth = sha256_of(yaml_models["segment"])
    weights = ModelEntry(name="w", task="detect", file="w.weights", url=f"{server}/yolo11n-seg.pt", sha256=truth,
                         size=0, licence="MIT", used_by=("dnn_detect",), needs=("w-cfg",))
    cfg = ModelEntry(name="w-cfg", task="detect", file="w.cfg", url=f"{server}/yolo11n-seg.pt", sha256=truth, size=0,
                     licence="MIT", used_by=("dnn_detect",), needs=("names",))
    names = ModelEntry(name="names", task="detect", file="names.txt", url=f"{server}/yolo11n-seg.pt", sha256=truth,
                       size=0, licence="MIT", used_by=("dnn_detect",), needs=("w-cfg",))  # a cycle is fetched once
    use_manifest(monkeypatch, weights, cfg, names)
    assert models.with_needs("w") == ["w", "w-cfg", "names"]
    assert main(["models", "pull", "w"]) == 0
    assert capsys.readouterr().out.split() == [str(models_dir / f) for f in ("w.weights", "w.cfg", "names.txt")]
    assert all(sha256_of(models_dir / f) == truth for f in ("w.weights", "w.cfg", "names.txt"))
