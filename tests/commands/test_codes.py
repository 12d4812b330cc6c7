"""`vision-desk codes make` writes images that `vision-desk codes read` (and the codes stage) read back."""

from __future__ import annotations

from pathlib import Path

import pytest

from vision_desk.cli import main


@pytest.mark.parametrize(
    ("text", "kind", "printed"),
    [("Grüße aus Köln", "qr", "qr\tGrüße aus Köln"), ("590123412345", "ean13", "ean13\t5901234123457"), ("PALLET-42", "code128", "code128\tPALLET-42")],
)
def test_make_then_read_round_trips(tmp_path: Path, capsys, text: str, kind: str, printed: str) -> None:
    out = tmp_path / f"{kind}.png"
    assert main(["codes", "make", text, "--type", kind, "--out", str(out)]) == 0
    assert out.is_file() and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()
    assert main(["codes", "read", str(out)]) == 0
    assert capsys.readouterr().out.strip() == printed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["codes", "make", "5901234123458", "--type", "ean13"], "last digit should be 7"),
        (["codes", "make", "hello", "--out", "/no/such/folder/x.png"], "does not exist"),
    ],
)
def test_make_errors_are_one_line(tmp_path: Path, capsys, args: list[str], message: str) -> None:
    if "--out" not in args:
        args = [*args, "--out", str(tmp_path / "x.png")]
    assert main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_read_reports_nothing_on_a_photo(tmp_path: Path, capsys) -> None:
    import cv2

    from tests.media import skimage_bgr

    path = tmp_path / "coffee.png"
    cv2.imwrite(str(path), skimage_bgr("coffee"))
    assert main(["codes", "read", str(path)]) == 1
    assert capsys.readouterr().out.strip() == "no codes found"
