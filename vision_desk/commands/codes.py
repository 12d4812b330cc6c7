"""`vision-desk codes make TEXT --type qr|ean13|code128 --out FILE.png` and `vision-desk codes read IMAGE`."""

from __future__ import annotations

import argparse

ORDER = 60


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("codes", help="make QR codes and barcodes, or read them from an image")
    csub = p.add_subparsers(dest="codes_command", metavar="ACTION", required=True)
    make = csub.add_parser("make", help="write a QR code, EAN-13 or Code 128 barcode as an image",
                           description="Write a QR code (segno) or an EAN-13 / Code 128 barcode (python-barcode) as an image.")
    make.add_argument("text", help="the payload: any text for qr, 12 or 13 digits for ean13, ASCII for code128")
    make.add_argument("--type", dest="kind", choices=["qr", "ean13", "code128"], default="qr", help="code type (default: qr)")
    make.add_argument("--out", "-o", required=True, metavar="FILE.png", help="image file to write (PNG recommended)")
    make.add_argument("--scale", type=int, default=8, metavar="PX", help="pixels per module (default: 8)")
    make.add_argument("--error", choices=["l", "m", "q", "h"], default="m", help="QR error correction level (default: m)")
    make.set_defaults(func=cmd_make)
    read = csub.add_parser("read", help="print the codes found in an image file (payloads only; URLs are not opened)")
    read.add_argument("image", help="an image file")
    read.set_defaults(func=cmd_read)


def cmd_make(args: argparse.Namespace) -> int:
    from vision_desk.stages.text.generate import expected_payload, make_code, save_image

    image = make_code(args.text, args.kind, scale=args.scale, error=args.error)
    path = save_image(image, args.out)
    print(f"{path}: {args.kind} {expected_payload(args.text, args.kind)!r} ({image.shape[1]}x{image.shape[0]} px)")
    return 0


def cmd_read(args: argparse.Namespace) -> int:
    import cv2
    import numpy as np

    from vision_desk.errors import VisionDeskError
    from vision_desk.stages.text.codes import decode_codes

    try:
        image = cv2.imdecode(np.fromfile(args.image, np.uint8), cv2.IMREAD_COLOR)
    except OSError:
        image = None
    if image is None:
        raise VisionDeskError(f"cannot read the image {args.image}; check the path and that it is a picture file.")
    codes = decode_codes(image)
    for code in codes:
        encoding = "" if code.payload_encoding == "utf-8" else " (base64)"
        print(f"{code.code_type}\t{code.payload}{encoding}")
    if not codes:
        print("no codes found")
    return 0 if codes else 1
