"""Gallery export files (JSON): one sentence naming the entry and the field for each way one can be malformed."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vision_desk.errors import ConfigError, VisionDeskError
from vision_desk.stages.faces.gallery import APP_ID, Gallery, read_export

VECTOR = np.linspace(-1, 1, 128, dtype=np.float32)
AGAIN = "; export the gallery again."
DROP = object()


def good_entry(**changes: Any) -> dict[str, Any]:
    entry = {"name": "Ada", "backend": "dlib", "dim": 128, "embedding": base64.b64encode(VECTOR.tobytes()).decode(),
             "source": "ada.jpg", "enrolled": 1767225600.0, "thumbnail": None}
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not DROP}


def write_export(tmp_path: Path, *entries: Any, **top: Any) -> Path:
    path = tmp_path / "gallery.json"
    doc = {"format": APP_ID, "version": 1, "entries": list(entries), **top}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_a_good_export_imports_and_unknown_keys_are_tolerated(tmp_path: Path) -> None:
    path = write_export(tmp_path, good_entry(mood="cheerful"), good_entry(name="Bo", thumbnail="dGh1bWI="),
                        written_by="a newer Vision Desk")
    ada, bo = read_export(path)
    np.testing.assert_array_equal(ada.embedding, VECTOR)
    assert (ada.name, ada.source, ada.thumbnail, bo.thumbnail) == ("Ada", "ada.jpg", None, b"thumb")
    with Gallery(tmp_path / "g.sqlite") as gallery:
        assert gallery.import_file(path) == (2, 0)


CASES = [
    ("missing field", good_entry(dim=DROP), "entry 2 ('Ada'): field 'dim' is missing; add it"),
    ("wrong type", good_entry(dim="many"), "entry 2 ('Ada'): field 'dim' must be a whole number (got 'many')"),
    ("not base64", good_entry(embedding="%%%"), "entry 2 ('Ada'): field 'embedding' must be base64 text (got '%%%')"),
    ("too few numbers", good_entry(embedding=base64.b64encode(VECTOR[:100].tobytes()).decode()),
     "entry 2 ('Ada'): field 'embedding' must hold 128 float32 numbers (the entry's dim), not 100"),
    ("embedding a number", good_entry(embedding=5), "entry 2 ('Ada'): field 'embedding' must be base64 text (got 5)"),
    ("empty name", good_entry(name=""), "entry 2: field 'name' must not be empty (got '')"),
    ("not a mapping", "Ada", "entry 2: it must be a mapping of fields (got 'Ada')"),
]


@pytest.mark.parametrize("entry, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_malformed_entry_is_one_sentence(tmp_path: Path, entry: Any, expected: str) -> None:
    path = write_export(tmp_path, good_entry(name="Bo"), entry)
    with pytest.raises(ConfigError) as err:
        read_export(path)
    message = str(err.value)
    assert message.startswith(f"{path}: {expected}") and message.endswith(AGAIN)
    assert "\n" not in message


def test_files_that_are_not_exports(tmp_path: Path) -> None:
    path = tmp_path / "gallery.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match=r"gallery\.json: invalid JSON at line 1, column 2 \(.+\); fix the file's syntax\.$"):
        read_export(path)
    path = write_export(tmp_path, good_entry(), version="1")
    with pytest.raises(VisionDeskError) as err:
        read_export(path)
    assert str(err.value) == f"{path}: field 'version' must be a whole number (got '1'){AGAIN}"
    with pytest.raises(VisionDeskError, match="not a Vision Desk gallery export"):
        read_export(write_export(tmp_path, good_entry(), format="something else"))
