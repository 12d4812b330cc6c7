"""`vision-desk teach capture | train | eval`: teaching new classes without the app."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ORDER = 45


def register(sub: argparse._SubParsersAction) -> None:
    from vision_desk.teach.backbones import BACKBONES, DEFAULT_BACKBONE

    p = sub.add_parser("teach", help="capture samples, train a classifier on them, and measure it")
    tsub = p.add_subparsers(dest="teach_command", metavar="ACTION", required=True)

    cap = tsub.add_parser("capture", help="save frames of a source as samples of one class")
    cap.add_argument("source", help="a video file, images: folder, camera index, rtsp:// stream or demo:")
    cap.add_argument("--class", dest="name", required=True, help="the class the frames show")
    cap.add_argument("--out", "-o", required=True, type=Path, help="the teach set folder (one sub-folder per class)")
    cap.add_argument("--every", type=int, default=1, help="keep one frame in N (default 1)")
    cap.add_argument("--max", type=int, default=0, help="stop after this many samples (needed for cameras and streams)")
    cap.add_argument("--region", help="x,y,w,h as fractions of the frame (default: the whole frame)")
    cap.set_defaults(func=cmd_capture)

    tr = tsub.add_parser("train", help="train a classifier on a teach set")
    tr.add_argument("dataset", type=Path, help="the teach set folder (one sub-folder of images per class)")
    tr.add_argument("--out", "-o", required=True, type=Path, help="the model folder to write (replaced when complete)")
    tr.add_argument("--mode", choices=("quick", "full"), default="quick",
                    help="quick: a new last layer on frozen ImageNet features (seconds); full: fine-tune it all")
    tr.add_argument("--backbone", choices=sorted(BACKBONES), default=DEFAULT_BACKBONE)
    tr.add_argument("--epochs", type=int, default=0, help="default: 30 curve points (quick) or 10 epochs (full)")
    tr.add_argument("--size", type=int, default=224, help="the network's input size in pixels (default 224)")
    tr.add_argument("--from-scratch", action="store_true",
                    help="start from untrained weights instead of the pulled ImageNet ones: nothing to download, "
                         "but it needs far more images to generalise")
    tr.set_defaults(func=cmd_train)

    ev = tsub.add_parser("eval", help="accuracy and confusion matrix of a taught model on a teach set")
    ev.add_argument("model", type=Path)
    ev.add_argument("dataset", type=Path)
    ev.set_defaults(func=cmd_eval)


def _region(text: str | None) -> tuple[float, float, float, float] | None:
    from vision_desk.errors import VisionDeskError

    if not text:
        return None
    try:
        x, y, w, h = (float(v) for v in text.split(","))
    except ValueError:
        raise VisionDeskError(f"--region '{text}' is not x,y,w,h; give four fractions, e.g. 0.25,0.25,0.5,0.5.") from None
    if not (0 <= x < 1 and 0 <= y < 1 and 0 < w <= 1 and 0 < h <= 1):
        raise VisionDeskError(f"--region '{text}' is outside the frame; give fractions between 0 and 1.")
    return x, y, w, h


def cmd_capture(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from vision_desk.teach.capture import capture

    with tqdm(total=args.max or None, unit="sample", desc=args.name, file=sys.stderr) as bar:
        saved = capture(args.source, args.out, args.name, every=args.every, limit=args.max,
                        region=_region(args.region), progress=lambda read, saved: bar.update(saved - bar.n))
    print(f"{saved} samples of '{args.name}' saved in {args.out / args.name}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from vision_desk.teach.train import TrainOptions, train

    bars: dict[str, tqdm] = {}

    def show(p) -> None:  # noqa: ANN001 - TrainProgress
        bar = bars.get(p.phase)
        if bar is None:
            for old in bars.values():
                old.close()
            bar = bars[p.phase] = tqdm(total=p.total, desc=p.phase, file=sys.stderr, leave=False)
        bar.update(p.done - bar.n)
        if p.history.val_acc:
            bar.set_postfix(epoch=p.history.epoch[-1], loss=f"{p.history.train_loss[-1]:.3f}",
                            val_acc=f"{p.history.val_acc[-1]:.3f}")

    options = TrainOptions(mode=args.mode, backbone=args.backbone, epochs=args.epochs, size=args.size,
                           pretrained=not args.from_scratch)
    try:
        result = train(args.dataset, args.out, options, progress=show)
    finally:
        for bar in bars.values():
            bar.close()
    for line in result.skipped:
        print(f"skipped {line}", file=sys.stderr)
    print(f"trained {', '.join(result.labels)} on {result.n_train} images in {result.seconds:.1f} s; "
          f"validation accuracy {result.accuracy:.3f} on {result.n_val} images")
    print(f"model: {result.model}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from vision_desk.teach.model import evaluate

    evaluation = evaluate(args.model, args.dataset)
    for line in evaluation.skipped:
        print(f"skipped {line}", file=sys.stderr)
    print(evaluation.report())
    return 0
