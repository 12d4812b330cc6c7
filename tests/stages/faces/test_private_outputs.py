"""A recognising faces pipeline exports names and boxes, never the face embeddings or face pictures."""

from __future__ import annotations

import base64
import json

from tests.stages.faces.helpers import ASTRONAUT
from vision_desk.cli import main
from vision_desk.stages.faces.detect import FacesStage
from vision_desk.stages.faces.gallery import Gallery

#: Keys every exported object may have (Detections.to_records), beside the columns the stage declares.
RECORD_KEYS = {"xyxy", "label", "score", "track_id", "class_id", "stage", "keypoints"}


def numbers_in_lists(value, found: list[int]) -> list[int]:  # noqa: ANN001 - any JSON value
    """The lengths of every list of numbers in a JSON value (an embedding would be one of 128 or 512)."""
    if isinstance(value, list):
        if value and all(isinstance(v, (int, float)) for v in value):
            found.append(len(value))
        for v in value:
            numbers_in_lists(v, found)
    elif isinstance(value, dict):
        for v in value.values():
            numbers_in_lists(v, found)
    return found


def test_the_jsonl_of_a_recognising_run_holds_no_embedding_or_face_picture(tmp_path, astronaut_png, astronaut_gallery, capsys):
    pipeline = tmp_path / "faces.yaml"
    pipeline.write_text(f"stages:\n  - stage: faces\n    params: {{recognize: true, gallery: '{astronaut_gallery}', tracking: 'off'}}\n")
    out = tmp_path / "faces.jsonl"
    assert main(["run", str(astronaut_png), "-p", str(pipeline), "--export", str(out)]) == 0
    text = out.read_text()
    records = [json.loads(line) for line in text.splitlines()]
    faces = [o for r in records for o in r["objects"] if o.get("stage") == "faces"]
    assert [f["identity"] for f in faces] == [ASTRONAUT]  # the run did recognise her from the gallery

    assert {key for f in faces for key in f} <= RECORD_KEYS | set(FacesStage.columns)
    assert max(numbers_in_lists(records, [])) <= 10  # boxes and 5 landmarks (x, y); no 128-number vector
    with Gallery(astronaut_gallery, create=False) as gallery:
        (entry,) = gallery.entries()
    assert base64.b64encode(entry.thumbnail[99:159]).decode() not in text  # aligned as in a whole base64 thumbnail
    assert f"{float(entry.embedding[0]):.4f}" not in text and f"{float(entry.embedding[1]):.4f}" not in text
    assert "embedding" not in text and "thumbnail" not in text
