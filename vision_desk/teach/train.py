"""Training a taught model from a teach set: quick (a linear head on frozen features) or full (fine-tuning).

* **quick**: every image goes once through the frozen pretrained body (the
  training images also once augmented); a linear layer is
  then fitted to those feature vectors. Seconds on a CPU; as Teachable Machine
  does, and the right choice for a few dozen images per class.
* **full**: the whole network is fine-tuned on augmented images (random
  resized crops, mirroring, small rotations, colour jitter) with AdamW and a
  cosine schedule, the new head learning ten times faster than the body. A
  plain torchvision loop rather than Ultralytics' classify trainer: it trains
  the same :class:`~vision_desk.teach.net.TaughtNet` the quick mode makes (one
  model format, one ONNX export, one Grad-CAM target), reports progress and
  honours a cancel request after every batch, and writes no ``runs/`` folders.

Either way a stratified share of every class is held out for validation;
the curves, the confusion matrix and the per-class accuracy come from it.
:func:`train` writes the model folder completely or not at all.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Literal

import cv2
import numpy as np

from vision_desk.teach.backbones import DEFAULT_BACKBONE, backbone, make_net, pretrained_weights
from vision_desk.teach.dataset import DatasetError, Samples, load_samples
from vision_desk.teach.model import confusion_matrix, prepare, save_model

if TYPE_CHECKING:
    import torch

Mode = Literal["quick", "full"]


class TrainingCancelled(Exception):
    """Training stopped on request; nothing was written."""


@dataclass
class TrainOptions:
    """How to train.

    Attributes:
        mode: ``quick`` (linear head on frozen features) or ``full`` (fine-tune the whole network).
        backbone: the torchvision architecture (see :data:`~vision_desk.teach.backbones.BACKBONES`).
        pretrained: start from the pulled ImageNet weights; False trains from untrained weights (tests, which
            cannot download them, and experiments).
        size: the square network input in pixels.
        epochs: passes over the training images (full) or curve points of the head's fit (quick).
        val_fraction: the share of each class held out for validation.
        batch: images per step.
        lr: the body's learning rate in full mode (the head's is ten times this); the head's in quick mode.
        seed: for the split, the augmentation and the initial head.
    """

    mode: Mode = "quick"
    backbone: str = DEFAULT_BACKBONE
    pretrained: bool = True
    size: int = 224
    epochs: int = 0  # 0: the mode's default
    val_fraction: float = 0.2
    batch: int = 16
    lr: float = 0.0  # 0: the mode's default
    seed: int = 0

    def resolved(self) -> "TrainOptions":
        """These options with the mode's defaults filled in."""
        quick = self.mode == "quick"
        return TrainOptions(self.mode, self.backbone, self.pretrained, self.size,
                            self.epochs or (30 if quick else 10), self.val_fraction, self.batch,
                            self.lr or (0.01 if quick else 3e-4), self.seed)


@dataclass
class History:
    """The curves: one point per epoch."""

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)

    def add(self, epoch: int, train_loss: float, train_acc: float, val_loss: float, val_acc: float) -> None:
        self.epoch.append(epoch)
        self.train_loss.append(train_loss)
        self.train_acc.append(train_acc)
        self.val_loss.append(val_loss)
        self.val_acc.append(val_acc)

    def as_dict(self) -> dict[str, list]:
        return {"epoch": self.epoch, "train_loss": self.train_loss, "train_acc": self.train_acc,
                "val_loss": self.val_loss, "val_acc": self.val_acc}


@dataclass
class TrainProgress:
    """What a progress callback gets: the phase, how far it is, and the curves so far."""

    phase: Literal["reading", "features", "training", "saving"]
    done: int
    total: int
    epoch: int
    epochs: int
    history: History

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


@dataclass
class TrainResult:
    """A finished training: where the model is and how well it did on the held-out images."""

    model: Path
    labels: list[str]
    accuracy: float
    confusion: np.ndarray  # (C, C): rows are the true class, columns the predicted one
    per_class: dict[str, float]
    history: History
    seconds: float
    n_train: int
    n_val: int
    skipped: list[str]


Progress = Callable[[TrainProgress], None]


def train(dataset: Path, out: Path, options: TrainOptions | None = None, *, progress: Progress | None = None,
          should_stop: Callable[[], bool] | None = None) -> TrainResult:
    """Trains a classifier on the teach set at ``dataset`` and writes the model folder ``out``.

    Args:
        dataset: a teach set (one sub-folder of images per class).
        out: the model folder to write; an existing one is replaced only once the new one is complete.
        options: how to train (defaults: quick, MobileNetV3-Large, 224 px).
        progress: called on the training thread after every batch.
        should_stop: polled after every batch; when it returns True training stops with
            :class:`TrainingCancelled` and nothing is written.

    Raises:
        DatasetError: the set is missing, empty, has one class or too few images in a class.
        ModelMissingError: the backbone's ImageNet weights are not pulled (the message names the command).
        TrainingCancelled: should_stop asked for it.
    """
    import torch

    opts = (options or TrainOptions()).resolved()
    backbone(opts.backbone)  # an unknown one fails before any image is read
    weights = pretrained_weights(opts.backbone) if opts.pretrained else None
    started = time.perf_counter()
    history = History()
    stop = should_stop or (lambda: False)

    def report(phase: str, done: int, total: int, epoch: int = 0) -> None:
        if stop():
            raise TrainingCancelled()
        if progress is not None:
            progress(TrainProgress(phase, done, total, epoch, opts.epochs, history))  # type: ignore[arg-type]

    report("reading", 0, 1)
    samples = load_samples(Path(dataset), short_side=round(opts.size * 1.15))
    train_rows, val_rows = samples.split(opts.val_fraction, opts.seed)
    torch.manual_seed(opts.seed)
    rng = np.random.default_rng(opts.seed)
    net = make_net(opts.backbone, len(samples.labels), weights)
    # Tiny activations (an untrained body's, or late layers') would otherwise run through the CPU's slow
    # denormal path: flushing them to zero changes no prediction and saved 20-40% of the feature time.
    torch.set_flush_denormal(True)
    fit = _fit_quick if opts.mode == "quick" else _fit_full
    val_logits = fit(net, samples, train_rows, val_rows, opts, rng, history, report)

    net.eval()
    report("saving", 0, 1)
    val_pred = val_logits.argmax(1).numpy()
    val_true = np.asarray([samples.targets[i] for i in val_rows])
    confusion = confusion_matrix(val_true, val_pred, len(samples.labels))
    accuracy = float((val_pred == val_true).mean())
    per_class = {name: float(confusion[c, c] / max(1, confusion[c].sum())) for c, name in enumerate(samples.labels)}
    seconds = time.perf_counter() - started
    metrics = {"accuracy": accuracy, "confusion": confusion.tolist(), "per_class": per_class, "n_train": len(train_rows),
               "n_val": len(val_rows), "seconds": round(seconds, 2), "history": history.as_dict()}
    if stop():
        raise TrainingCancelled()
    save_model(net, Path(out), labels=samples.labels, size=opts.size, mode=opts.mode, pretrained=opts.pretrained,
               dataset=Path(dataset), metrics=metrics)
    return TrainResult(Path(out), samples.labels, accuracy, confusion, per_class, history, seconds, len(train_rows),
                       len(val_rows), samples.skipped)


# -- quick: a linear head on frozen features ------------------------------------------------------------------------

def _fit_quick(net, samples: Samples, train_rows: list[int], val_rows: list[int], opts: TrainOptions,  # noqa: ANN001
               rng: np.random.Generator, history: History, report: Callable) -> "torch.Tensor":
    """Fits the head; returns the validation images' logits under the final network."""
    import torch

    net.eval()
    # each training image twice: as it is and augmented (cropped, perhaps mirrored, turned, recoloured), so the
    # head sees some variation; a third view cost a third more time for no accuracy we could measure
    views = [(i, "plain") for i in train_rows] + [(i, "augment") for i in train_rows]
    images = [_view(samples.images[i], kind, opts.size, rng) for i, kind in views]
    images += [cv2.resize(samples.images[i], (opts.size, opts.size), interpolation=cv2.INTER_AREA) for i in val_rows]
    features = _embed(net, images, opts.size, opts.batch, report)
    x_train, x_val = features[: len(views)], features[len(views):]
    y_train = torch.as_tensor([samples.targets[i] for i, _ in views])
    y_val = torch.as_tensor([samples.targets[i] for i in val_rows])

    # The head is fitted to standardised features (each feature to mean 0, deviation 1 over the training set),
    # which one learning rate suits whatever the backbone's feature scale, then folded back into the layer.
    mu, sigma = x_train.mean(0), x_train.std(0).clamp_min(1e-12)
    x_train, x_val = (x_train - mu) / sigma, (x_val - mu) / sigma
    head = torch.nn.Linear(x_train.shape[1], len(samples.labels))
    optimiser = torch.optim.Adam(head.parameters(), lr=opts.lr, weight_decay=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    steps_per_epoch = 10  # full-batch steps between two points of the curves
    for epoch in range(1, opts.epochs + 1):
        with torch.enable_grad():
            for _ in range(steps_per_epoch):
                optimiser.zero_grad()
                loss = loss_fn(head(x_train), y_train)
                loss.backward()
                optimiser.step()
        with torch.no_grad():
            train_logits, val_logits = head(x_train), head(x_val)
            history.add(epoch, float(loss_fn(train_logits, y_train)), _accuracy(train_logits, y_train),
                        float(loss_fn(val_logits, y_val)), _accuracy(val_logits, y_val))
        report("training", epoch, opts.epochs, epoch)
    with torch.no_grad():  # head(x') with x' = (x - mu) / sigma is the layer W / sigma, b - (W / sigma) mu
        weight = head.weight / sigma
        net.head.weight.copy_(weight)
        net.head.bias.copy_(head.bias - weight @ mu)
        return head(x_val)


def _embed(net, images: list[np.ndarray], size: int, batch: int, report: Callable) -> "torch.Tensor":  # noqa: ANN001
    import torch

    out = []
    with torch.no_grad():
        for start in range(0, len(images), batch):
            out.append(net.embed(torch.from_numpy(prepare(images[start:start + batch], size))))
            report("features", min(start + batch, len(images)), len(images))
    return torch.cat(out)


# -- full: fine-tuning ----------------------------------------------------------------------------------------------

def _fit_full(net, samples: Samples, train_rows: list[int], val_rows: list[int], opts: TrainOptions,  # noqa: ANN001
              rng: np.random.Generator, history: History, report: Callable) -> "torch.Tensor":
    """Fine-tunes the whole network; returns the validation images' logits after the last epoch."""
    import torch

    params = [{"params": net.body.parameters(), "lr": opts.lr}, {"params": net.head.parameters(), "lr": opts.lr * 10}]
    optimiser = torch.optim.AdamW(params, weight_decay=1e-4)
    steps = opts.epochs * math.ceil(len(train_rows) / opts.batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=[opts.lr, opts.lr * 10], total_steps=steps,
                                                   pct_start=0.15)
    loss_fn = torch.nn.CrossEntropyLoss()
    val_x = [cv2.resize(samples.images[i], (opts.size, opts.size), interpolation=cv2.INTER_AREA) for i in val_rows]
    y_val = torch.as_tensor([samples.targets[i] for i in val_rows])
    done = 0
    for epoch in range(1, opts.epochs + 1):
        net.train()
        order = rng.permutation(train_rows)
        seen, loss_sum, correct = 0, 0.0, 0
        for start in range(0, len(order), opts.batch):
            rows = order[start:start + opts.batch]
            if len(rows) < 2 and seen:  # batch norm cannot learn from a batch of one: it joins the next epoch
                continue
            x = torch.from_numpy(prepare([_view(samples.images[i], "augment", opts.size, rng) for i in rows], opts.size))
            y = torch.as_tensor([samples.targets[i] for i in rows])
            with torch.enable_grad():
                optimiser.zero_grad()
                logits = net(x)
                loss = loss_fn(logits, y)
                loss.backward()
                optimiser.step()
            if schedule.last_epoch + 1 < steps:
                schedule.step()
            seen += len(rows)
            loss_sum += loss.item() * len(rows)
            correct += int((logits.argmax(1) == y).sum())
            done += 1
            report("training", done, steps, epoch)
        net.eval()
        with torch.no_grad():
            val_logits = _logits(net, val_x, opts.size, opts.batch)
        history.add(epoch, loss_sum / max(1, seen), correct / max(1, seen), float(loss_fn(val_logits, y_val)),
                    _accuracy(val_logits, y_val))
        report("training", done, steps, epoch)
    return val_logits


# -- shared ---------------------------------------------------------------------------------------------------------

def _view(image: np.ndarray, kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """The image as the network sees it (size x size): plain, or randomly augmented."""
    if kind == "plain":
        return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    return augment(image, size, rng)


def augment(image: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random resized crop (50-100% of the area, aspect 3:4 to 4:3), mirror, rotation (±15°) and colour jitter."""
    h, w = image.shape[:2]
    area = h * w * rng.uniform(0.5, 1.0)
    aspect = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
    cw = int(min(w, round(math.sqrt(area * aspect))))
    ch = int(min(h, round(math.sqrt(area / aspect))))
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    crop = image[y:y + ch, x:x + cw]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    turn = cv2.getRotationMatrix2D((cw / 2, ch / 2), rng.uniform(-15, 15), 1.0)
    crop = cv2.warpAffine(np.ascontiguousarray(crop), turn, (cw, ch), borderMode=cv2.BORDER_REFLECT)
    out = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
    out = out * rng.uniform(0.75, 1.25) + rng.uniform(-25, 25)  # contrast and brightness
    grey = out.mean(axis=2, keepdims=True)
    out = grey + (out - grey) * rng.uniform(0.7, 1.3)  # saturation
    return np.clip(out, 0, 255).astype(np.uint8)


def _logits(net, images: list[np.ndarray], size: int, batch: int) -> "torch.Tensor":  # noqa: ANN001
    import torch

    with torch.no_grad():
        return torch.cat([net(torch.from_numpy(prepare(images[s:s + batch], size))) for s in range(0, len(images), batch)])


def _accuracy(logits: "torch.Tensor", y: "torch.Tensor") -> float:
    return float((logits.argmax(1) == y).float().mean())


__all__ = ["DatasetError", "History", "TrainOptions", "TrainProgress", "TrainResult", "TrainingCancelled", "train"]
