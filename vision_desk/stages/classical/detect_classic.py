"""Detection without deep learning: template matching, Haar cascades and the HOG people detector."""

from __future__ import annotations

import os
from typing import Literal

import cv2
import numpy as np

from vision_desk.engine.frame import Frame
from vision_desk.engine.params import param
from vision_desk.engine.results import Detections, box_iou
from vision_desk.engine.stage import AnalysisParams, Stage
from vision_desk.errors import VisionDeskError
from vision_desk.stages.basic import to_gray
from vision_desk.stages.classical._frame_tools import read_image_file, shrink

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp)"


def nms(boxes: np.ndarray, scores: np.ndarray, overlap: float, limit: int = 0) -> np.ndarray:
    """Indices of the boxes kept by non-maximum suppression, best first.

    Args:
        boxes: (N, 4) xyxy.
        scores: (N,) higher is better.
        overlap: boxes overlapping a better one by more than this IoU are dropped.
        limit: keep at most this many (0: all).
    """
    order = np.argsort(-np.asarray(scores), kind="stable")
    boxes = np.asarray(boxes, np.float32)
    keep: list[int] = []
    while len(order) and (not limit or len(keep) < limit):
        best, rest = order[0], order[1:]
        keep.append(int(best))
        # row by row, not the whole matrix: 2000 template candidates would cost several 32 MB arrays per frame
        order = rest[box_iou(boxes[best], boxes[rest])[0] <= overlap]
    return np.asarray(keep, np.int64)


# -- template matching ----------------------------------------------------------

TEMPLATE_METHODS = {
    "ccoeff_normed": cv2.TM_CCOEFF_NORMED,
    "ccorr_normed": cv2.TM_CCORR_NORMED,
    "sqdiff_normed": cv2.TM_SQDIFF_NORMED,
}
_MAX_CANDIDATES = 2000


def match_template(
    image: np.ndarray, template: np.ndarray, method: str = "ccoeff_normed", confidence: float = 0.8,
    max_matches: int = 10, overlap: float = 0.3,
) -> tuple[np.ndarray, np.ndarray]:
    """Finds every place where the template appears (the "find Waldo" task).

    The score map's local maxima at or above ``confidence`` are the candidates; NMS then
    keeps the best of overlapping ones, so one object gives one box.

    Args:
        image, template: both BGR or both gray; the template must fit in the image.
        method: an OpenCV normalised method; for ``sqdiff_normed`` the score is 1 - distance.
        confidence: the lowest score kept (1 is a perfect match).
        max_matches: keep at most this many.
        overlap: NMS IoU above which the weaker of two matches is dropped.

    Returns:
        (boxes xyxy float32 (N, 4), scores float32 (N,)), best first.
    """
    th, tw = template.shape[:2]
    if th > image.shape[0] or tw > image.shape[1]:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
    result = cv2.matchTemplate(image, template, TEMPLATE_METHODS[method])
    score = 1.0 - result if method == "sqdiff_normed" else result
    score = np.nan_to_num(score, nan=-1.0)  # flat templates divide by zero
    peaks = (score >= cv2.dilate(score, np.ones((3, 3), np.uint8))) & (score >= confidence)
    ys, xs = np.nonzero(peaks)
    values = score[ys, xs]
    if len(values) > _MAX_CANDIDATES:  # a low confidence on a textured frame: keep the strongest peaks
        top = np.argpartition(-values, _MAX_CANDIDATES)[:_MAX_CANDIDATES]
        ys, xs, values = ys[top], xs[top], values[top]
    boxes = np.stack([xs, ys, xs + tw, ys + th], axis=1).astype(np.float32)
    keep = nms(boxes, values, overlap, max_matches)
    return boxes[keep], values[keep].astype(np.float32)


class TemplateParams(AnalysisParams):
    old_names = {"threshold": "confidence"}

    template: str = param("", widget="image_path", file_filter=IMAGE_FILTER, help="The image to look for, e.g. a crop of the object from a saved frame.")
    method: Literal["ccoeff_normed", "ccorr_normed", "sqdiff_normed"] = param("ccoeff_normed", help="Correlation coefficient (robust to brightness), cross-correlation, or squared difference.")
    confidence: float = param(0.8, ge=0.0, le=1.0, step=0.01, widget="slider", help="Lowest match score kept (1 = a perfect match).")
    max_matches: int = param(10, ge=1, le=500, help="Report at most this many matches.")
    overlap: float = param(0.3, ge=0.0, le=1.0, step=0.05, help="Non-maximum suppression: a match overlapping a better one by more than this IoU is dropped.")
    grayscale: bool = param(True, help="Match on gray images (three times faster); colour helps only when shapes alike differ by colour.")


class TemplateStage(Stage):
    id = "template"
    title = "Template matching"
    category = "Detection"
    help = "Finds a template image in the frame (several matches, with non-maximum suppression); works at the template's own size and angle."
    Params = TemplateParams
    values = {"template_count": "Matches found (the 'match' objects).", "template_best": "Score of the best match (0 without one)."}

    def process(self, frame: Frame) -> None:
        p = self.params
        if not p.template:
            frame.values["template_count"] = 0
            frame.extras[self.id] = "pick a template image"
            return
        template = read_image_file(p.template, "template")
        image = frame.image
        if p.grayscale:
            image, template = to_gray(image), to_gray(template)
        boxes, scores = match_template(image, template, p.method, p.confidence, p.max_matches, p.overlap)
        frame.add(Detections.from_boxes(boxes, "match", scores, source=self.id))
        frame.values["template_count"] = len(boxes)
        frame.values["template_best"] = round(float(scores[0]), 4) if len(scores) else 0.0

    def draw(self, canvas: np.ndarray, frame: Frame) -> None:
        hint = frame.extras.get(self.id)
        if hint:
            cv2.putText(canvas, f"template: {hint}", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 200, 255), 2, cv2.LINE_AA)


# -- Haar cascades --------------------------------------------------------------

def installed_cascades() -> tuple[str, ...]:
    """Names of the Haar cascades this OpenCV ships (file names without 'haarcascade_' and '.xml')."""
    folder = getattr(getattr(cv2, "data", None), "haarcascades", "")
    try:
        files = os.listdir(folder) if folder else []
    except OSError:
        files = []
    return tuple(sorted(f[len("haarcascade_"):-len(".xml")] for f in files if f.startswith("haarcascade_") and f.endswith(".xml")))


CASCADES = installed_cascades() or ("frontalface_default",)  # OpenCV 5 ships none; setup() says so


def cascade_label(name: str) -> str:
    """What a cascade finds, as an object label."""
    if "catface" in name:
        return "cat face"
    if "face" in name:
        return "face"
    if "eye" in name:
        return "eye"
    if "plate" in name:
        return "licence plate"
    if name == "fullbody":
        return "person"
    return name.replace("body", " body").strip()  # smile, upper body, lower body


_CLASSIFIERS: dict[str, "cv2.CascadeClassifier"] = {}


def load_cascade(name: str) -> "cv2.CascadeClassifier":
    """The cascade classifier shipped with OpenCV under this name (loaded once per process)."""
    if name not in _CLASSIFIERS:
        if not hasattr(cv2, "CascadeClassifier") or name not in installed_cascades():
            raise VisionDeskError(
                f"haar: the installed OpenCV ({cv2.__version__}) does not ship the cascade '{name}'; "
                "install opencv-python-headless 4.x, which includes the Haar cascades."
            )
        classifier = cv2.CascadeClassifier(os.path.join(cv2.data.haarcascades, f"haarcascade_{name}.xml"))
        if classifier.empty():
            raise VisionDeskError(f"haar: OpenCV could not load the cascade '{name}'; reinstall opencv-python-headless.")
        _CLASSIFIERS[name] = classifier
    return _CLASSIFIERS[name]


def detect_haar(gray: np.ndarray, classifier: "cv2.CascadeClassifier", scale_factor: float = 1.1,
                min_neighbors: int = 5, min_size: int = 30) -> np.ndarray:
    """Haar cascade detections on a gray image as (N, 4) xyxy float32 boxes."""
    found = classifier.detectMultiScale(gray, scaleFactor=scale_factor, minNeighbors=min_neighbors, minSize=(min_size, min_size))
    boxes = np.asarray(found, np.float32).reshape(-1, 4)
    boxes[:, 2:] += boxes[:, :2]
    return boxes


class HaarParams(AnalysisParams):
    cascade: Literal[CASCADES] = param(  # type: ignore[valid-type]
        "frontalface_default" if "frontalface_default" in CASCADES else CASCADES[0],
        help="Which of OpenCV's trained cascades to run (faces, eyes, smiles, bodies, cat faces, number plates).",
    )
    scale_factor: float = param(1.1, ge=1.01, le=2.0, step=0.01, help="Step between detection scales: smaller finds more sizes but is slower.")
    min_neighbors: int = param(5, ge=0, le=50, help="Overlapping hits needed to keep a detection: higher means fewer false alarms.")
    min_size: int = param(30, ge=1, le=4000, help="Smallest object, in pixels (width and height).")
    equalize: bool = param(True, help="Equalise the gray histogram first (helps in dim or flat light).")
    downscale: float = param(2.0, ge=1.0, le=8.0, step=0.25, help="Divide the frame size by this before detecting (about 4x faster at 2, but objects under ~2x the cascade's 20-24 px window are missed); 1 for small faces.")


class HaarStage(Stage):
    id = "haar"
    title = "Haar cascade"
    category = "Detection"
    help = "Viola-Jones Haar cascades shipped with OpenCV: faces, eyes, smiles, full/upper/lower bodies, cat faces and plates. Use downscale on large frames."
    Params = HaarParams
    values = {"haar_count": "Objects found."}

    def setup(self) -> None:
        load_cascade(self.params.cascade)

    def process(self, frame: Frame) -> None:
        p = self.params
        gray = shrink(to_gray(frame.image), p.downscale)
        if p.equalize:
            gray = cv2.equalizeHist(gray)
        factor = frame.shape[1] / gray.shape[1]
        boxes = detect_haar(gray, load_cascade(p.cascade), p.scale_factor, p.min_neighbors, max(1, round(p.min_size / factor))) * factor
        frame.add(Detections.from_boxes(boxes, cascade_label(p.cascade), source=self.id))
        frame.values["haar_count"] = len(boxes)


# -- HOG people detector --------------------------------------------------------

_HOG: list[cv2.HOGDescriptor] = []


def people_detector() -> cv2.HOGDescriptor:
    """OpenCV's HOG descriptor with its default (Dalal-Triggs) people SVM, built once."""
    if not _HOG:
        if not hasattr(cv2, "HOGDescriptor"):
            raise VisionDeskError(f"hog: the installed OpenCV ({cv2.__version__}) has no HOG detector; install opencv-python-headless 4.x.")
        hog = cv2.HOGDescriptor()
        hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        _HOG.append(hog)
    return _HOG[0]


def detect_people(image: np.ndarray, downscale: float = 2.0, win_stride: int = 8, padding: int = 16,
                  scale: float = 1.05, confidence: float = 0.0, overlap: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """HOG + linear SVM people detection.

    OpenCV's own grouping merges people who stand side by side, so raw windows
    are kept and thinned by NMS on the SVM scores instead.

    Returns:
        (boxes xyxy in the image's pixels (N, 4) float32, SVM scores (N,) float32), best first.
    """
    small = shrink(image, downscale)
    win_w, win_h = people_detector().winSize
    if small.shape[1] < win_w or small.shape[0] < win_h:  # OpenCV crashes (segfault) on images smaller than the window
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
    found, weights = people_detector().detectMultiScale(
        small, hitThreshold=confidence, winStride=(win_stride, win_stride), padding=(padding, padding), scale=scale, groupThreshold=0
    )
    boxes = np.asarray(found, np.float32).reshape(-1, 4)
    scores = np.asarray(weights, np.float32).reshape(-1)
    boxes[:, 2:] += boxes[:, :2]
    keep = nms(boxes, scores, overlap)
    fx, fy = image.shape[1] / small.shape[1], image.shape[0] / small.shape[0]
    return boxes[keep] * np.float32([fx, fy, fx, fy]), scores[keep]


class HogParams(AnalysisParams):
    old_names = {"min_score": "confidence"}

    downscale: float = param(2.0, ge=1.0, le=8.0, step=0.25, help="Divide the frame size by this before detecting: faster, but people must stay taller than the 128-pixel window.")
    win_stride: Literal[4, 8, 16] = param(8, help="Step of the sliding window in pixels: 4 finds more people, 16 is fastest.")
    padding: int = param(16, ge=0, le=64, step=8, help="Pixels added around the image so people at the edges are found.")
    scale: float = param(1.05, ge=1.01, le=1.5, step=0.01, help="Step between detection scales: smaller finds more sizes but is slower.")
    confidence: float = param(0.0, ge=-1.0, le=5.0, step=0.1, help="Lowest SVM score kept (the distance from the decision boundary).")
    overlap: float = param(0.3, ge=0.0, le=1.0, step=0.05, help="Non-maximum suppression: a box overlapping a better one by more than this IoU is dropped.")


class HogStage(Stage):
    id = "hog"
    title = "HOG people detector"
    category = "Detection"
    help = "Finds standing people with HOG features and a linear SVM (OpenCV's default model). Slow on a CPU: raise downscale for speed."
    Params = HogParams
    heavy = True
    values = {"hog_count": "People found (the 'person' objects)."}

    def setup(self) -> None:
        people_detector()

    def process(self, frame: Frame) -> None:
        p = self.params
        boxes, scores = detect_people(frame.image, p.downscale, p.win_stride, p.padding, p.scale, p.confidence, p.overlap)
        frame.add(Detections.from_boxes(boxes, "person", scores, source=self.id))
        frame.values["hog_count"] = len(boxes)
