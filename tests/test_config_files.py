"""Reading YAML and JSON files: a file that is missing, not text or not valid gives one sentence, never a traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vision_desk.config_files import read_json, read_yaml
from vision_desk.errors import ConfigError, PipelineError

CASES = [
    (read_yaml, "stages: [\n  - stage: blur\n", r"invalid YAML at line 2, column 3 \(.+\); fix the file's syntax\."),
    (read_json, '{"labels": ["a",\n  ]}', r"invalid JSON at line 2, column 3 \(.+\); fix the file's syntax\."),
    (read_yaml, b"\xff\xfe\x00binary", r"not a text file; a thing file is YAML text\."),
    (read_json, b"\x89PNG\r\n\x1a\n\xff", r"not a text file; a thing file is JSON text\."),
]


@pytest.mark.parametrize("reader, content, sentence", CASES)
def test_unreadable_files_are_one_sentence_naming_the_file(tmp_path: Path, reader, content, sentence: str) -> None:  # noqa: ANN001
    path = tmp_path / "broken"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ConfigError) as err:
        reader(path, "thing file")
    assert re.fullmatch(re.escape(f"{path}: ") + sentence, str(err.value))


def test_the_error_type_is_the_callers_and_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(PipelineError) as err:
        read_yaml(tmp_path / "nope.yaml", "pipeline file", PipelineError)
    assert str(err.value) == f"{tmp_path / 'nope.yaml'}: pipeline file not found; check the path."
    (tmp_path / "ok.json").write_text('{"a": [1, 2]}')
    assert read_json(tmp_path / "ok.json", "thing") == {"a": [1, 2]}
