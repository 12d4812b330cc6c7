"""Face track ids (from tracked person boxes or the faces' own ByteTrack, the track stage's) and identity voting per track
(the voter itself: tests/stages/test_voting.py)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.stages.faces.conftest import HIDDEN_FRAMES
from tests.stages.faces.helpers import ASTRONAUT
from vision_desk.engine.frame import Frame
from vision_desk.engine.pipeline import Pipeline, spec_from_dict
from vision_desk.engine.results import Detections
from vision_desk.stages.faces.backends import detect_faces, predict_landmarks
from vision_desk.stages.faces.detect import FacesStage, faces_image
from vision_desk.stages.faces.recognize import UNKNOWN
from vision_desk.stages.faces.swap import swap_face
from vision_desk.stages.detection.track import TrackParams, TrackStage
from vision_desk.stages.detection.tracker import BoxTracker

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


def test_the_face_tracker_gives_new_faces_new_ids_and_forgets_old_ones():
    # The faces' tracker is the track stage's ByteTrack, so its rules are Ultralytics': a face that appears
    # later gets its id on its second frame (-1 on its first; the old greedy IoU tracker named it at once),
    # and a lost face is forgotten after lost_frames + 2 frames unseen, not lost_frames + 1 as the old
    # tracker's max_misses counted: Ultralytics takes a removed track out of its lost pool one update late.
    tracker = BoxTracker(TrackParams(lost_frames=1))
    a, b = [100, 100, 200, 220], [400, 100, 500, 220]
    image = np.zeros((480, 640, 3), np.uint8)

    def ids(*boxes):
        return tracker.update(np.array(boxes, np.float32), np.full(len(boxes), 0.99), np.zeros(len(boxes)), image)[0].tolist()

    assert ids(a) == [1]  # the tracker's very first frame confirms at once
    assert ids([105, 102, 205, 222], b) == [1, -1]
    assert ids(b) == [2]
    assert ids(b) == [2]
    assert ids(b) == [2]  # track 1 missed three times: forgotten
    assert ids(a) == [-1]
    assert ids(a) == [3]


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


def own_tracking(**params) -> Pipeline:
    """A pipeline of the faces stage alone, tracking the faces itself (min_size 30: the walking face is 40 px)."""
    return Pipeline(spec_from_dict({"stages": [{"stage": "faces", "params": {"min_size": 30, "tracking": "own", **params}}]}))


@pytest.fixture(scope="module")
def walked(walking_face) -> list[Frame]:
    """The faces stage over the walking clip, frame by frame."""
    pipeline = own_tracking()
    frames = [pipeline.process(Frame(image, i, i / 30)) for i, image in enumerate(walking_face)]
    pipeline.close()
    return frames


def test_a_face_walking_across_a_clip_keeps_one_id_through_a_short_miss(walked):
    ids = [f.detections.track_id.tolist() for f in walked]
    assert ids == [[] if i in HIDDEN_FRAMES else [1] for i in range(len(walked))]
    left = [float(f.detections.xyxy[0, 0]) for f in walked if len(f.detections)]
    assert left[-1] - left[0] > 220  # she crossed the scene: more than five face widths


def test_faces_reused_between_detections_keep_their_ids(walking_face):
    # every=3: faces are found on frames 0, 3, 6 ...; frame 18 finds none (the card), so 18-20 show none,\n    # and on frame 21 she is 42 px on from where she was last found, her track waiting for her there.
    pipeline = own_tracking(every=3)
    ids = [pipeline.process(Frame(image, i, i / 30)).detections.track_id.tolist() for i, image in enumerate(walking_face)]
    pipeline.close()
    assert ids == [[] if i - i % 3 in HIDDEN_FRAMES else [1] for i in range(len(walking_face))]


def test_reused_faces_name_the_frame_they_were_found_on_and_keep_the_image_it_saw(walking_face):
    pipeline = Pipeline(spec_from_dict({"stages": [
        {"stage": "faces", "params": {"min_size": 30, "tracking": "own", "every": 3}}, {"stage": "face_privacy"}]}))
    images = [image.copy() for image in walking_face[:7]]
    frames = [pipeline.process(Frame(image, i, i / 30, capture_time=10.0 + i / 30)) for i, image in enumerate(images)]
    pipeline.close()
    origins = [f.origin("faces") for f in frames]
    assert [o.frame_index for o in origins] == [0, 0, 0, 3, 3, 3, 6]
    assert [o.age_ms(f) for o, f in zip(origins, frames)] == pytest.approx([0, 1000 / 30, 2000 / 30, 0, 1000 / 30, 2000 / 30, 0])
    assert np.array_equal(frames[2].detections.xyxy, frames[0].detections.xyxy)
    # face_privacy blurred frame.image after the faces stage; enrolling embeds the face the faces stage saw.
    assert all(faces_image(f) is image and not np.array_equal(f.image, image) for f, image in zip(frames, images))


def test_face_ids_restart_after_reset(walking_face):
    pipeline = own_tracking()

    def ids(i: int) -> list[int]:
        return pipeline.process(Frame(walking_face[i], i, i / 30)).detections.track_id.tolist()

    assert [ids(i) for i in range(30, 36)] == [[1]] * 6
    # Back at the start without a reset, she is 250 px from where the tracker expects her: a new face,
    # confirmed on its second frame (on its first it is kept without an id).
    assert ids(0) == [-1]
    assert ids(1) == [2]
    pipeline.reset()  # what a new file or a seek does
    assert ids(0) == [1]
    pipeline.close()


def test_a_face_seen_in_one_frame_has_no_id_yet_but_is_kept_and_named(astronaut, coffee, astronaut_gallery):
    params = {"recognize": True, "gallery": str(astronaut_gallery), "tracking": "own"}
    pipeline = Pipeline(spec_from_dict({"stages": [{"stage": "faces", "params": params}]}))
    empty = cv2.resize(coffee, astronaut.shape[1::-1])  # the tracker's first frame has no face
    frames = [pipeline.process(Frame(image.copy(), i, i / 30)) for i, image in enumerate([empty, astronaut, astronaut])]
    pipeline.close()
    assert [f.values["faces_count"] for f in frames] == [0, 1, 1]
    first, second = frames[1], frames[2]
    # ByteTrack has not confirmed her track on her first frame: no id, no vote, but named from this frame alone.
    assert first.detections.track_id.tolist() == [-1]
    assert list(first.detections.data["identity"]) == [ASTRONAUT]
    assert first.events == []
    assert second.detections.track_id.tolist() == [1]
    assert list(second.detections.data["identity"]) == [ASTRONAUT]
    assert second.events == [f"faces: {ASTRONAUT} recognised (track 1)"]


def test_the_faces_stage_and_the_track_stage_share_one_tracker(walked):
    faces = FacesStage()
    track = TrackStage(TrackStage.Params(source="faces", keep_untracked=True))
    faces.setup()
    track.setup()
    assert type(faces._tracker) is type(track._tracker) is BoxTracker
    # Given the faces the faces stage found, the track stage gives them the very ids the faces stage gave.
    for found in walked:
        again = Frame(found.image, found.index, found.timestamp)
        again.add(Detections.from_boxes(found.detections.xyxy, "face", found.detections.score, source="faces"))
        track.process(again)
        assert again.detections.track_id.tolist() == found.detections.track_id.tolist(), f"frame {found.index}"
    faces.close()
