"""Face track ids (from tracked person boxes or the faces' own IoU tracker) and identity voting per track."""

from __future__ import annotations

import numpy as np
import pytest

from tests.stages.faces.helpers import ASTRONAUT
from vision_desk.engine.frame import Frame
from vision_desk.engine.pipeline import Pipeline, spec_from_dict
from vision_desk.engine.results import Detections
from vision_desk.stages.faces.backends import detect_faces, predict_landmarks
from vision_desk.stages.faces.recognize import UNKNOWN
from vision_desk.stages.faces.swap import swap_face
from vision_desk.stages.faces.tracking import FaceTracker, IdentityVoter

# Person boxes in zidane.jpg as a tracker would report them (measured by eye): Ancelotti, and Zidane with
# his pointing arm, a wide box that also holds Ancelotti's face centre.
ANCELOTTI_BOX, ZIDANE_BOX = (745, 40, 1145, 720), (120, 150, 1110, 720)


def test_faces_take_the_track_id_of_the_smallest_person_box_holding_them(zidane):
    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": "faces"}]}))
    frame = Frame(zidane.copy(), 0, 0.0)
    frame.add(Detections.from_boxes([ANCELOTTI_BOX, ZIDANE_BOX], "person", [0.9, 0.8], track_id=[7, 3], source="track"))
    pipeline.process(frame)
    faces = frame.detections.where(source="faces")
    assert list(faces.track_id) == [7, 3]  # Ancelotti's face (largest) first


def test_faces_keep_their_own_track_ids_across_a_clip(clip_frames):
    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": "faces"}]}))
    ids = [pipeline.process(Frame(im, i, i / 30)).detections.track_id.tolist() for i, im in enumerate(clip_frames[:4])]
    assert ids == [[1], [1], [1], [1]]


def test_face_tracker_gives_new_faces_new_ids_and_forgets_old_ones():
    tracker = FaceTracker(min_iou=0.3, max_misses=1)
    a, b = [100, 100, 200, 220], [400, 100, 500, 220]
    assert tracker.update([a]).tolist() == [1]
    assert tracker.update([[105, 102, 205, 222], b]).tolist() == [1, 2]
    assert tracker.update([b]).tolist() == [2]
    assert tracker.update([b]).tolist() == [2]  # track 1 missed twice: forgotten
    assert tracker.update([a]).tolist() == [3]


def test_voter_holds_the_majority_name_against_a_flicker():
    voter = IdentityVoter(window=5)
    for _ in range(3):
        voter.vote("t", "Ada", 0.8)
    assert voter.vote("t", UNKNOWN, 0.3) == ("Ada", pytest.approx(0.8))
    assert voter.vote("t", UNKNOWN, 0.3)[0] == "Ada"  # 3 against 2
    assert voter.vote("t", UNKNOWN, 0.3)[0] == UNKNOWN  # the window slid: 2 against 3
    assert voter.vote("other", "Bob", 0.7) == ("Bob", pytest.approx(0.7))


def test_voter_forgets_tracks_gone_for_too_long():
    voter = IdentityVoter(window=5, max_age=2)
    voter.vote("t", "Ada", 0.9)
    for _ in range(3):
        voter.next_round()
    assert voter.vote("t", UNKNOWN, 0.2) == (UNKNOWN, pytest.approx(0.2))


@pytest.fixture(scope="module")
def disguised_astronaut(astronaut, zidane) -> np.ndarray:
    """The astronaut photo with Ancelotti's face pasted onto hers: same place, somebody else (similarity 0.26).

    Pasted, not seamlessly cloned: Poisson blending keeps so much of her shading that dlib still finds her (0.42).
    """
    target = predict_landmarks(astronaut, detect_faces(astronaut).xyxy[:1])[0]
    source = predict_landmarks(zidane, detect_faces(zidane).xyxy[:1])[0]
    return swap_face(zidane, source, astronaut, target, seamless=False)


@pytest.mark.parametrize("tracking, expected", [("own", [ASTRONAUT] * 4 + [UNKNOWN]), ("off", [ASTRONAUT] * 3 + [UNKNOWN] * 2)])
def test_identity_is_voted_per_track_so_one_bad_frame_does_not_flip_it(astronaut, disguised_astronaut, astronaut_gallery, tracking, expected):
    params = {"recognize": True, "gallery": str(astronaut_gallery), "tracking": tracking, "vote_window": 3}
    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": "faces", "params": params}]}))
    names, events = [], []
    for i, image in enumerate([astronaut, astronaut, astronaut, disguised_astronaut, disguised_astronaut]):
        frame = pipeline.process(Frame(image.copy(), i, i / 30))
        assert frame.values["faces_count"] == 1
        names.append(frame.detections.data["identity"][0])
        events += frame.events
    pipeline.close()
    assert names == expected
    if tracking == "own":
        assert events == [f"faces: {ASTRONAUT} recognised (track 1)"]  # once, not every frame
