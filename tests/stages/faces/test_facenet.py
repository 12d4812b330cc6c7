"""The FaceNet (InceptionResnetV1, VGGFace2) backend: the real model when its weights are downloaded,
the one-line pull message when they are not, and the loader on the release file's layout."""

from __future__ import annotations

import numpy as np
import pytest

from tests.stages.faces.helpers import ASTRONAUT, run_stages
from vision_desk.errors import ModelMissingError, VisionDeskError
from vision_desk.models import entry
from vision_desk.stages.faces.backends import FACENET_MODEL, DEFAULT_THRESHOLDS, FacenetEmbedder, detect_faces, make_embedder
from vision_desk.stages.faces.gallery import Gallery
from vision_desk.stages.faces.recognize import UNKNOWN, enrol_images


def test_missing_weights_give_the_one_line_pull_message(tmp_path, monkeypatch):
    monkeypatch.setenv("VISION_DESK_MODELS", str(tmp_path / "models"))
    with pytest.raises(ModelMissingError) as err:
        make_embedder("facenet")
    message = str(err.value)
    assert "\n" not in message and message.endswith(f"vision-desk models pull {FACENET_MODEL}")
    assert [(m.pull, m.folder) for m in err.value.missing] == [(FACENET_MODEL, str(tmp_path / "models"))]


def test_the_faces_stage_reports_missing_weights_in_one_line(tmp_path, monkeypatch, astronaut):
    monkeypatch.setenv("VISION_DESK_MODELS", str(tmp_path / "models"))
    from vision_desk.engine.pipeline import Pipeline, spec_from_dict

    params = {"recognize": True, "backend": "facenet", "gallery": str(tmp_path / "empty.sqlite")}
    with pytest.raises(VisionDeskError) as err:
        Pipeline(spec_from_dict({"stages": [{"stage": "faces", "params": params}]})).setup()
    assert str(err.value).startswith("stage 'faces' could not start: model 'facenet-vggface2' is not downloaded")
    assert f"vision-desk models pull {FACENET_MODEL}" in str(err.value)


def test_manifest_names_the_release_file():
    e = entry(FACENET_MODEL)
    assert e.file == "20180402-114759-vggface2.pt"
    assert e.url == "https://github.com/timesler/facenet-pytorch/releases/download/v2.2.9/20180402-114759-vggface2.pt"


@pytest.mark.skipif(not entry(FACENET_MODEL).present,
                    reason="FaceNet VGGFace2 weights are not downloaded here (no internet); run 'vision-desk models pull facenet-vggface2'")
def test_real_facenet_recognises_the_astronaut_and_not_strangers(tmp_path, astronaut_png, astronaut, zidane):
    import cv2

    path = tmp_path / "facenet.sqlite"
    with Gallery(path) as gallery:
        enrol_images(gallery, ASTRONAUT, [astronaut_png], "facenet")
    stage = {"stage": "faces", "params": {"recognize": True, "backend": "facenet", "gallery": str(path), "tracking": "off"}}
    matrix = cv2.getRotationMatrix2D((256, 256), 10, 1.0)
    rotated = cv2.warpAffine(astronaut, matrix, (512, 512), borderMode=cv2.BORDER_REFLECT_101)
    det = run_stages([stage], rotated).detections
    assert list(det.data["identity"]) == [ASTRONAUT]
    assert det.data["similarity"][0] > DEFAULT_THRESHOLDS["facenet"]
    det = run_stages([stage], zidane).detections
    assert list(det.data["identity"]) == [UNKNOWN, UNKNOWN]


def test_loader_takes_the_release_layout_with_its_classifier(tmp_path, astronaut):
    """Not an accuracy test: random weights the test builds, saved as the release file is (with logits.*),
    must load strictly into an embedding model that gives unit-length 512-D vectors."""
    import torch
    from facenet_pytorch import InceptionResnetV1

    torch.manual_seed(0)
    state = InceptionResnetV1(pretrained=None, classify=True, num_classes=8631).state_dict()
    assert any(k.startswith("logits.") for k in state)
    weights = tmp_path / "random-vggface2-layout.pt"
    torch.save(state, weights)
    embedder = FacenetEmbedder(str(weights))
    faces = detect_faces(astronaut)
    vectors = embedder.embed(astronaut, faces)
    assert vectors.shape == (1, 512)
    assert np.linalg.norm(vectors[0]) == pytest.approx(1.0, abs=1e-4)
    assert embedder.similarity(vectors, vectors)[0, 0] == pytest.approx(1.0, abs=1e-4)
    crops = embedder.crops(astronaut, faces)
    assert crops.shape == (1, 3, 160, 160) and -1.0 <= crops.min() and crops.max() <= 1.0


def test_loader_refuses_a_file_that_is_not_the_weights(tmp_path):
    import torch

    bad = tmp_path / "other.pt"
    torch.save({"weight": torch.zeros(3)}, bad)
    with pytest.raises(VisionDeskError, match="does not hold InceptionResnetV1 weights"):
        FacenetEmbedder(str(bad))
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(VisionDeskError, match="could not be read"):
        FacenetEmbedder(str(junk))
