"""Recognition with the offline dlib backend: one enrolment image, transformed copies recognised, strangers unknown.

Similarity convention (dlib): 1 - Euclidean distance; dlib's own rule "distance < 0.6" is similarity > 0.4.
Measured on this machine (similarity to the one enrolment image):
  astronaut rotated -10/+10 deg 0.930/0.921, scaled 0.6x/1.5x 0.832/0.931, brightness -30%/+30% 0.908/0.848,
  JPEG quality 40 0.860  -> lowest 0.832, margin +0.43 over the threshold;
  zidane.jpg 0.116 and 0.258, bus.jpg 0.151 and 0.216, lfw_subset() faces mean 0.20, at most 0.392 -> margins
  0.14 (zidane) and 0.008 (LFW: the closest are low-resolution, upscaled 25x25 crops of smiling women).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.stages.faces.helpers import ASTRONAUT, run_stages
from vision_desk.stages.faces.backends import DEFAULT_THRESHOLDS, FaceBoxes, make_embedder
from vision_desk.stages.faces.gallery import Gallery
from vision_desk.stages.faces.recognize import UNKNOWN, enrol_face, enrol_images, identify

THRESHOLD = DEFAULT_THRESHOLDS["dlib"]


def rotate(image: np.ndarray, degrees: float) -> np.ndarray:
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(image, matrix, (w, h), borderMode=cv2.BORDER_REFLECT_101)


def scale(image: np.ndarray, factor: float) -> np.ndarray:
    return cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC)


def brightness(image: np.ndarray, factor: float) -> np.ndarray:
    return cv2.convertScaleAbs(image, alpha=factor)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    return cv2.imdecode(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], cv2.IMREAD_COLOR)


TRANSFORMS = {
    "rotate -10": lambda im: rotate(im, -10),
    "rotate +10": lambda im: rotate(im, 10),
    "scale 0.6": lambda im: scale(im, 0.6),
    "scale 1.5": lambda im: scale(im, 1.5),
    "brightness -30%": lambda im: brightness(im, 0.7),
    "brightness +30%": lambda im: brightness(im, 1.3),
    "jpeg 40": lambda im: jpeg(im, 40),
}


def recognise(image: np.ndarray, gallery_path, **params):
    stage = {"stage": "faces", "params": {"recognize": True, "gallery": str(gallery_path), "tracking": "off", **params}}
    return run_stages([stage], image).detections.where(source="faces")


@pytest.mark.parametrize("name", TRANSFORMS)
def test_enrolled_person_recognised_in_transformed_copies(astronaut, astronaut_gallery, name):
    det = recognise(TRANSFORMS[name](astronaut), astronaut_gallery)
    assert len(det) == 1
    assert det.data["identity"][0] == ASTRONAUT
    assert det.data["similarity"][0] >= THRESHOLD + 0.3  # lowest measured 0.832


@pytest.mark.parametrize("photo", ["zidane", "bus"])
def test_other_real_people_are_unknown(request, astronaut_gallery, photo):
    det = recognise(request.getfixturevalue(photo), astronaut_gallery)
    assert len(det) == 2
    assert list(det.data["identity"]) == [UNKNOWN, UNKNOWN]
    assert max(det.data["similarity"]) < THRESHOLD - 0.1  # measured at most 0.26


def test_lfw_faces_are_unknown(astronaut_gallery):
    """lfw_subset()'s first 100 images are 25x25 face crops: upscaled and embedded as whole faces."""
    from skimage import data

    embedder = make_embedder("dlib")
    with Gallery(astronaut_gallery) as gallery:
        names, matrix = gallery.matrix("dlib")
    crops = data.lfw_subset()[:100]
    embeddings = []
    for crop in crops:
        face = cv2.resize((crop * 255).astype(np.uint8), (150, 150), interpolation=cv2.INTER_CUBIC)
        image = cv2.copyMakeBorder(cv2.cvtColor(face, cv2.COLOR_GRAY2BGR), 40, 40, 40, 40, cv2.BORDER_REPLICATE)
        box = FaceBoxes(np.array([[40, 25, 190, 205]], np.float32), np.ones(1, np.float32), np.zeros((1, 5, 2), np.float32))
        embeddings.append(embedder.embed(image, box)[0])
    identities, sims = identify(np.stack(embeddings), names, matrix, embedder.similarity, THRESHOLD)
    assert identities == [UNKNOWN] * 100
    assert float(sims.max()) < THRESHOLD  # measured 0.392


def test_below_the_threshold_a_face_is_unknown_not_the_nearest_name(astronaut, astronaut_gallery):
    rotated = rotate(astronaut, 10)  # similarity 0.92 at the default threshold
    det = recognise(rotated, astronaut_gallery, threshold=0.99)
    assert det.data["identity"][0] == UNKNOWN
    assert 0.85 < det.data["similarity"][0] < 0.99  # the nearest person's similarity is still reported


def test_a_person_enrolled_while_the_stage_runs_is_recognised(zidane, tmp_path, astronaut_png):
    """The running stage sees a new enrolment from another connection (as the GUI or CLI would make)."""
    from vision_desk.engine.frame import Frame
    from vision_desk.engine.pipeline import Pipeline, spec_from_dict

    path = tmp_path / "live.sqlite"
    with Gallery(path) as gallery:
        enrol_images(gallery, ASTRONAUT, [astronaut_png])
    stage = {"stage": "faces", "params": {"recognize": True, "gallery": str(path), "tracking": "off"}}
    pipeline = Pipeline(spec_from_dict({"stages": [stage]}))
    before = pipeline.process(Frame(zidane.copy(), 0, 0.0))
    assert list(before.detections.data["identity"]) == [UNKNOWN, UNKNOWN]
    cv2.imwrite(str(tmp_path / "zidane.jpg"), zidane)
    with Gallery(path) as other:
        results = enrol_images(other, "Carlo", [tmp_path / "zidane.jpg"])  # the largest face: Ancelotti's
    assert results[0].note == "enrolled the largest of 2 faces"
    after = pipeline.process(Frame(zidane.copy(), 1, 1 / 30))
    assert list(after.detections.data["identity"]) == ["Carlo", UNKNOWN]
    assert after.values["faces_known"] == 1 and after.values["faces_unknown"] == 1
    pipeline.close()


def test_a_face_picked_in_a_frame_can_be_enrolled(zidane, tmp_path):
    """The GUI's path: the user picks a face box in the live view and types a name."""
    frame = run_stages([{"stage": "faces"}], zidane)
    ancelotti, zidane_face = frame.detections.xyxy
    with Gallery(tmp_path / "g.sqlite") as gallery:
        enrol_face(gallery, "Zinedine", zidane, zidane_face)
        assert [(p.name, p.images) for p in gallery.people()] == [("Zinedine", 1)]
        assert gallery.thumbnail("Zinedine")[:2] == b"\xff\xd8"  # a JPEG
    det = recognise(zidane, tmp_path / "g.sqlite")
    assert list(det.data["identity"]) == [UNKNOWN, "Zinedine"]


def test_the_worker_process_gives_dlibs_own_descriptors() -> None:
    """dlib's descriptors come from a worker process (dlib holds the GIL while it computes them); from a crop
    around each face they equal dlib's on the whole frame, also for a face that touches the frame's edge."""
    from tests.media import skimage_bgr, ultralytics_asset
    from vision_desk.stages.faces.backends import _import_dlib, detect_faces, dlib_face_encoder, dlib_rect, shape_predictor

    astronaut = skimage_bgr("astronaut")
    zidane = cv2.imread(str(ultralytics_asset("zidane.jpg")))
    edge = np.ascontiguousarray(astronaut[:, 150:])  # the face's box (x from 184) ends 34 px from the left edge
    dlib = _import_dlib()
    for image in (astronaut, zidane, edge):
        faces = detect_faces(image)
        assert len(faces)
        rgb = np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        shapes = dlib.full_object_detections()
        for box in faces.xyxy:
            shapes.append(shape_predictor(5)(rgb, dlib_rect(box)))
        whole = np.asarray([np.asarray(v) for v in dlib_face_encoder().compute_face_descriptor(rgb, shapes)], np.float32)
        np.testing.assert_allclose(make_embedder("dlib").embed(image, faces), whole, atol=1e-4)
