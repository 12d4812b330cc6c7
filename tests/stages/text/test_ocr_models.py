"""OCR model files: English offline, other languages only through 'vision-desk models pull', never a download."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import yaml

from vision_desk.errors import ModelMissingError, VisionDeskError
from vision_desk.stages.text.easyocr_models import MANIFEST_NAMES, offline_model_dir, recognizer_for


@pytest.fixture()
def empty_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VISION_DESK_MODELS", str(tmp_path))
    return tmp_path


def test_english_models_ship_offline() -> None:
    folder = offline_model_dir()
    assert (folder / "craft_mlt_25k.pth").is_file() and (folder / "english_g2.pth").is_file()


@pytest.mark.parametrize(("languages", "model"), [(["en"], "english_g2"), (["fr"], "latin_g2"), (["en", "de"], "latin_g2"),
                                                  (["ru", "en"], "cyrillic_g2"), (["ja", "en"], "japanese_g2")])
def test_languages_pick_easyocrs_recogniser(languages: list[str], model: str) -> None:
    assert recognizer_for(languages)["key"] == model


def recognizer_for_url(key: str) -> str:
    from easyocr import config

    return {**config.recognition_models["gen1"], **config.recognition_models["gen2"]}[key]["url"]


def test_every_listed_recogniser_is_in_the_manifest() -> None:
    from vision_desk.models import load_manifest

    manifest = load_manifest()
    for key, name in MANIFEST_NAMES.items():
        entry = manifest[name]
        assert entry.url == recognizer_for_url(key)
        assert entry.used_by == ("ocr",)


def test_missing_language_model_is_one_line_with_the_pull_command(empty_models: Path) -> None:
    from vision_desk.stages.text.ocr import OcrParams, OcrStage

    with pytest.raises(ModelMissingError) as err:
        OcrStage(OcrParams(languages=["fr", "en"])).setup()
    message = str(err.value)
    assert "\n" not in message
    assert "vision-desk models pull easyocr-latin" in message
    assert [(m.pull, m.folder) for m in err.value.missing] == [("easyocr-latin", str(empty_models))]
    assert list(empty_models.iterdir()) == []  # nothing fetched, nothing unpacked


def test_cli_run_with_a_missing_language_model_prints_one_line(empty_models: Path, tmp_path: Path, capsys) -> None:
    from vision_desk.cli import main

    pipeline = tmp_path / "ocr_fr.yaml"
    pipeline.write_text(yaml.safe_dump({"name": "ocr fr", "stages": [{"stage": "ocr", "params": {"languages": ["fr"]}}]}))
    assert main(["run", "demo:", "--pipeline", str(pipeline), "--max-frames", "1"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "vision-desk models pull easyocr-latin" in lines[0]


def test_a_wrong_model_file_is_refused_without_any_download(empty_models: Path) -> None:
    """A 'pulled' archive whose recogniser fails EasyOCR's MD5 check: refused with our message, nothing fetched."""
    from vision_desk.stages.text.easyocr_models import load_reader

    with zipfile.ZipFile(empty_models / "easyocr_latin_g2.zip", "w") as zf:
        zf.write(offline_model_dir() / "english_g2.pth", "latin_g2.pth")  # the wrong weights under the right name
    with pytest.raises(VisionDeskError, match="delete the file and pull it again") as err:
        load_reader(["fr"], "cpu")
    assert "\n" not in str(err.value)
    assert sorted(p.name for p in (empty_models / "easyocr").iterdir()) == ["craft_mlt_25k.pth", "latin_g2.pth"]


def test_unknown_language_is_a_clear_error() -> None:
    with pytest.raises(VisionDeskError, match="unknown to EasyOCR"):
        recognizer_for(["klingon"])
