"""The classify stage on real photos: frame, region and tracked objects, and a model retrained in place."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.media import skimage_bgr, write_clip
from tests.teach_media import PHOTOS
from vision_desk.engine.frame import Frame
from vision_desk.engine.pipeline import Pipeline, spec_from_dict
from vision_desk.engine.results import box_iou
from vision_desk.errors import ModelMissingError, PipelineError, VisionDeskError


def _pipeline(*stages: dict) -> Pipeline:
    return Pipeline(spec_from_dict({"stages": list(stages)}))


def _classify(model: Path, **params: object) -> dict:
    return {"stage": "classify", "params": {"model": str(model), **params}}


def test_params_validate() -> None:
    spec_from_dict({"stages": [{"stage": "classify", "params": {"model": "m", "on": "region", "region": [0.5, 0, 0.5, 1]}}]})
    with pytest.raises(PipelineError, match="region"):
        spec_from_dict({"stages": [{"stage": "classify", "params": {"model": "m", "on": "region", "region": [0.5, 0.5]}}]})
    with pytest.raises(PipelineError, match="on"):
        spec_from_dict({"stages": [{"stage": "classify", "params": {"model": "m", "on": "everything"}}]})


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_whole_frame_gets_the_photos_label(taught_model: Path, name: str) -> None:
    frame = _pipeline(_classify(taught_model)).process(Frame(skimage_bgr(PHOTOS[name]), 0, 0.0))
    assert frame.values["classify_label"] == name
    assert frame.values["classify_score"] > 0.5


def test_a_region_is_classified_on_its_own(taught_model: Path) -> None:
    cat, coffee = (cv2.resize(skimage_bgr(PHOTOS[n]), (400, 300)) for n in ("cat", "coffee"))
    image = np.hstack([cat, coffee])  # cat on the left half, coffee on the right
    right = _pipeline(_classify(taught_model, on="region", region=[0.5, 0.0, 0.5, 1.0])).process(Frame(image, 0, 0.0))
    left = _pipeline(_classify(taught_model, on="region", region=[0.0, 0.0, 0.5, 1.0])).process(Frame(image, 0, 0.0))
    assert (left.values["classify_label"], right.values["classify_label"]) == ("cat", "coffee")


CARD = (150, 110)


def _cards_clip(n: int = 45, size: tuple[int, int] = (640, 400)) -> tuple[list[np.ndarray], list[dict[str, list[float]]]]:
    """Three photo prints drifting across a dark table, each in its own lane (a thin light edge keeps each print one
    contour where the photo itself is dark)."""
    w, h = size
    frames, truth = [], []
    cards = {name: cv2.copyMakeBorder(cv2.resize(skimage_bgr(photo), CARD), 2, 2, 2, 2, cv2.BORDER_CONSTANT,
                                      value=(160, 160, 160)) for name, photo in PHOTOS.items()}
    for t in range(n):
        image = np.full((h, w, 3), 20, np.uint8)
        boxes = {}
        for lane, (name, card) in enumerate(cards.items()):
            ch, cw = card.shape[:2]
            x = int(20 + (t * (4 + 2 * lane)) % (w - cw - 40))
            y = 10 + lane * (ch + 8)
            image[y:y + ch, x:x + cw] = card
            boxes[name] = [x, y, x + cw, y + ch]
        frames.append(image)
        truth.append(boxes)
    return frames, truth


def test_each_tracked_object_gets_its_own_label_on_a_clip(taught_model: Path, tmp_path: Path) -> None:
    from vision_desk.engine.sources import open_source

    frames, truth = _cards_clip()
    clip = write_clip(tmp_path / "cards.mp4", frames)
    pipeline = _pipeline({"stage": "contours", "params": {"min_area": 5000, "objects": "light"}},
                         {"stage": "track", "params": {"source": "contours"}},
                         _classify(taught_model, on="objects", padding=0.0, smooth=5))
    source = open_source(str(clip))
    source.open()
    checked = right = 0
    try:
        for index, boxes in enumerate(truth):
            image, _ = source.read()
            det = pipeline.process(Frame(image, index, index / 30)).detections
            labels = det.data.get("classify_label")
            for i in range(len(det)):
                if labels is None or labels[i] is None:
                    continue
                name = max(boxes, key=lambda k: float(box_iou(det.xyxy[i], boxes[k]).max()))
                if float(box_iou(det.xyxy[i], boxes[name]).max()) < 0.7:
                    continue
                checked += 1
                right += labels[i] == name
                assert det.track_id[i] >= 0
    finally:
        source.close()
    assert checked >= 3 * (len(truth) - 10)  # every card labelled once its track is confirmed
    assert right / checked >= 0.95


def test_a_model_retrained_in_place_is_loaded_again(taught_model: Path, tmp_path: Path, captured_sets) -> None:
    from vision_desk.teach.train import TrainOptions, train

    model = tmp_path / "model"
    shutil.copytree(taught_model, model)
    pipeline = _pipeline(_classify(model))
    stage = pipeline._slots[0].stage  # noqa: SLF001 - the stage itself says which labels it runs with
    image = skimage_bgr("coffee")
    assert pipeline.process(Frame(image, 0, 0.0)).values["classify_label"] == "coffee"

    renamed = tmp_path / "set"
    for old, new in (("astronaut", "person"), ("cat", "pet"), ("coffee", "drink")):
        shutil.copytree(captured_sets[0] / old, renamed / new)
    train(renamed, model, TrainOptions(backbone="resnet18", pretrained=False, size=96, epochs=5))
    deadline = time.monotonic() + 60
    label = None
    while time.monotonic() < deadline and label != "drink":  # noticed at the next check, within about a second
        label = pipeline.process(Frame(image, 1, 0.0)).values["classify_label"]
    assert label == "drink"
    assert stage.labels == ["drink", "person", "pet"]


def test_missing_and_wrong_models_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError, match="check the path"):
        _pipeline(_classify(tmp_path / "nowhere" / "model")).setup()
    (tmp_path / "folder").mkdir()
    with pytest.raises(VisionDeskError, match="not a taught model"):
        _pipeline(_classify(tmp_path / "folder")).setup()
    with pytest.raises(VisionDeskError, match="has no model"):
        _pipeline({"stage": "classify", "params": {}}).setup()


@pytest.mark.slow
def test_show_what_the_model_looks_at_keeps_the_labels_and_draws_a_heatmap(fully_taught_model: Path) -> None:
    """Grad-CAM needs a network that learned what it looks at: the fully trained one (random features, as in
    quick mode without ImageNet weights, may hold no positive evidence at all)."""
    from vision_desk.engine.annotate import annotate

    taught_model = fully_taught_model
    image = skimage_bgr("chelsea")
    plain_pipeline = _pipeline(_classify(taught_model, bars=False))
    explained_pipeline = _pipeline(_classify(taught_model, bars=False, explain=True))
    plain = plain_pipeline.process(Frame(image.copy(), 0, 0.0))
    explained = explained_pipeline.process(Frame(image.copy(), 0, 0.0))
    assert explained.values == plain.values and plain.values["classify_label"] == "cat"
    heat = explained.extras["classify"]["heatmap"]
    assert heat.shape == image.shape[:2] and heat.max() > 0.5  # a map normalised to [0, 1] over the frame
    assert not np.array_equal(annotate(explained, explained_pipeline), annotate(plain, plain_pipeline))

    frames, truth = _cards_clip(n=1)
    cards = Frame(frames[0], 0, 0.0)
    from vision_desk.engine.results import Detections

    cards.add(Detections.from_boxes(np.array(list(truth[0].values()), np.float32), "print"))
    on_objects = _pipeline(_classify(taught_model, on="objects", padding=0.0, explain=True)).process(cards)
    heat = on_objects.extras["classify"]["heatmap"]
    inside = np.zeros(heat.shape, bool)
    for x1, y1, x2, y2 in truth[0].values():
        inside[y1:y2, x1:x2] = True
    assert heat[inside].max() > 0.5 and heat[~inside].max() == 0  # each object's evidence, only inside the objects
    assert list(on_objects.detections.data["classify_label"]) == list(truth[0])
    assert on_objects.values["classify_counts"] == "astronaut:1 cat:1 coffee:1"
