"""The model manifest's schema: every shipped file loads, and each kind of malformed entry gets its one sentence."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from vision_desk.errors import ConfigError
from vision_desk.models import ModelEntry, checksum_matches, load_manifest

FIELDS = "description, file, licence, name, needs, sha256, size, task, url, used_by"
HEX_RULE = "must be 64 hex digits, their first 8 or more (as torchvision names its files), or empty for no check"


def good_entry(**changes: Any) -> dict[str, Any]:
    entry = {"name": "tiny", "task": "detect", "file": "tiny.pt", "url": "https://example.org/tiny.pt",
             "sha256": "0ebbc80d4a7680d14987a577cd21342b65ecfd94632bd9a8da63ae6417644ee1", "size": 5613764,
             "licence": "MIT", "used_by": ["detect"]}
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not DROP}


DROP = object()


def write_manifest(folder: Path, name: str, entries: Any) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(entries if isinstance(entries, str) else yaml.safe_dump(entries, sort_keys=False), encoding="utf-8")
    return path


def test_every_shipped_manifest_entry_loads_and_names_real_stages() -> None:
    from vision_desk.engine.stage import all_stages

    manifest = load_manifest()
    assert len(manifest) >= 50 and manifest["yolo11n"].size == 5613764
    assert manifest["tv-resnet18"].sha256 == "f37072fd"  # a torchvision prefix is accepted ...
    assert checksum_matches("f37072fd" + "0" * 56, manifest["tv-resnet18"].sha256)  # ... and checked as one
    assert manifest["yolov4-tiny"].needs == ("yolov4-tiny-cfg", "coco-names")
    users = set(all_stages()) | {"teach"}  # teach: the Teach panel's backbones
    assert {u for e in manifest.values() for u in e.used_by} <= users
    assert len({e.file for e in manifest.values()}) == len(manifest)  # no two models overwrite one file


# (change to a good entry, the end of the sentence after "<file>: entry '<name>': ")
ENTRY_CASES: list[tuple[str, Callable[[], dict[str, Any]], str]] = [
    ("missing field", lambda: good_entry(url=DROP), "field 'url' is missing; add it."),
    ("wrong type", lambda: good_entry(size="big"), "field 'size' must be a whole number (got 'big')."),
    ("negative size", lambda: good_entry(size=-1), "field 'size' must be at least 0 (got -1)."),
    ("bad hex", lambda: good_entry(sha256="xyz"), f"field 'sha256' {HEX_RULE} (got 'xyz')."),
    ("short prefix", lambda: good_entry(sha256="8738ca7"), f"field 'sha256' {HEX_RULE} (got '8738ca7')."),
    ("number for text", lambda: good_entry(licence=3), "field 'licence' must be text (got 3; put it in quotes)."),
    ("unknown key", lambda: good_entry(sha265="x"),
     f"field 'sha265' is not one of its fields (a typo?); they are {FIELDS}."),
    ("folder in file", lambda: good_entry(file="../tiny.pt"),
     "field 'file' must be a file name without a folder (got '../tiny.pt')."),
    ("not a web address", lambda: good_entry(url="ftp://example.org/tiny.pt"),
     "field 'url' must be an http:// or https:// address (got 'ftp://example.org/tiny.pt')."),
    ("list item", lambda: good_entry(used_by=["detect", 7]),
     "field 'used_by' (item 2) must be text (got 7; put it in quotes)."),
    ("not a list", lambda: good_entry(needs="coco-names"), "field 'needs' must be a list (got 'coco-names')."),
    ("two problems", lambda: good_entry(task="", size=1.5),
     "field 'task' must not be empty (got ''); field 'size' must be a whole number (got 1.5)."),
]


@pytest.mark.parametrize("change, expected", [c[1:] for c in ENTRY_CASES], ids=[c[0] for c in ENTRY_CASES])
def test_a_malformed_entry_is_one_sentence_naming_file_entry_and_field(
        tmp_path: Path, change: Callable[[], dict[str, Any]], expected: str) -> None:
    path = write_manifest(tmp_path / "manifest", "tiny.yaml", [good_entry(name="other"), change()])
    with pytest.raises(ConfigError) as err:
        load_manifest(path.parent)
    assert str(err.value) == f"{path}: entry 'tiny': {expected}"


FILE_CASES: list[tuple[str, Any, str]] = [
    ("not a list", {"name": "tiny"}, "a model manifest is a list of entries ('- name: ...'), not a dict; "
                                     "see the other files in models/manifest/."),
    ("entry not a mapping", ["tiny.pt"], "entry 1: it must be a mapping of fields (got 'tiny.pt')."),
    ("name not text", [good_entry(name=12)], "entry 1: field 'name' must be text (got 12; put it in quotes)."),
    ("bad name", [good_entry(name="my model")], "entry 'my model': field 'name' must be a model name of letters, "
                                                "digits, '.', '-', '+' and '_', starting with a letter or digit "
                                                "(got 'my model')."),
    ("unknown needs", [good_entry(needs=["tiny-cfg"])], "entry 'tiny': field 'needs' names 'tiny-cfg', which no "
                                                        "manifest entry is; add that entry or fix the name."),
]


@pytest.mark.parametrize("content, expected", [c[1:] for c in FILE_CASES], ids=[c[0] for c in FILE_CASES])
def test_a_malformed_file_is_one_sentence(tmp_path: Path, content: Any, expected: str) -> None:
    path = write_manifest(tmp_path / "manifest", "tiny.yaml", content)
    with pytest.raises(ConfigError) as err:
        load_manifest(path.parent)
    assert str(err.value) == f"{path}: {expected}"


def test_a_name_listed_in_two_files_names_both(tmp_path: Path) -> None:
    first = write_manifest(tmp_path / "m", "a.yaml", [good_entry()])
    second = write_manifest(tmp_path / "m", "b.yaml", [good_entry(file="tiny2.pt")])
    with pytest.raises(ConfigError) as err:
        load_manifest(tmp_path / "m")
    assert str(err.value) == f"{second}: entry 'tiny' is listed twice (also in {first}); give each model a name of its own."


def test_an_empty_file_and_optional_fields(tmp_path: Path) -> None:
    write_manifest(tmp_path / "m", "empty.yaml", "# nothing here yet\n")
    write_manifest(tmp_path / "m", "one.yaml", [good_entry(sha256="", size=0, used_by=DROP), good_entry(name="cfg", file="t.cfg")])
    entries = load_manifest(tmp_path / "m")
    assert entries["tiny"] == ModelEntry("tiny", "detect", "tiny.pt", "https://example.org/tiny.pt", "", 0, "MIT")
    assert entries["tiny"].size_label == "?" and entries["cfg"].used_by == ("detect",)


@pytest.mark.parametrize("size, label", [(0, "?"), (312, "1 kB"), (8_412, "8 kB"), (99_400, "99 kB"),
                                         (100_000, "0.1 MB"), (24_300_000, "24.3 MB")])
def test_sizes_are_shown_in_a_unit_that_keeps_small_files_visible(size: int, label: str) -> None:
    assert ModelEntry("m", "detect", "m.cfg", "https://example.org/m.cfg", "", size, "MIT").size_label == label
