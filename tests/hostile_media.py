"""A corpus of broken media, made from real clips and photos: truncated, bit-flipped, renamed, empty, huge, and
things that are not files at all (a folder, a symlink loop, a named pipe).

:func:`write_corpus` writes every case into one folder and returns what kind of damage each file carries; the two
good files it adds (``good_clip.mp4``, ``good_photo.png``) must come through untouched.
"""

from __future__ import annotations

import os
import random
import struct
import zlib
from pathlib import Path

import cv2

from tests.media import encode_frames, panning_frames, skimage_bgr

#: Frames in the good clip (and in every clip the damaged ones are made from).
GOOD_FRAMES = 24
CLIP_SIZE = (160, 96)
#: Cases that can only fail, whatever FFmpeg or OpenCV version reads them (the rest may decode in part or whole).
MUST_FAIL = {"empty.mp4", "empty.png", "trunc_1_byte.mp4", "trunc_header_only.mp4", "trunc_header_only.png",
             "random_bytes.mp4", "text_named.mp4", "html_page.mp4", "huge_100000x100000.png",
             "huge_100000x100000.bmp", "huge_2147483647x1.png", "loop_a.mp4", "loop_b.mp4", "dangling_link.mp4",
             "named_pipe.mp4", "flip_ihdr.png", "mp4_named.png"}
#: Cases whose damage leaves a readable file behind: they must complete, whole.
MUST_COMPLETE = {"good_clip.mp4": GOOD_FRAMES, "good_photo.png": 1, "mp4_named.avi": GOOD_FRAMES,
                 "mp4_named.mkv": GOOD_FRAMES, "mkv_named.mp4": GOOD_FRAMES, "png_named.jpg": 1, "jpeg_named.png": 1}


def mp4_boxes(data: bytes) -> dict[str, tuple[int, int]]:
    """Top-level ISO-BMFF boxes of an MP4: type -> (start, end) in bytes."""
    boxes, at = {}, 0
    while at + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        size = size or len(data) - at
        boxes[kind.decode("latin-1")] = (at, at + size)
        at += size
    return boxes


def flipped(data: bytes, start: int, end: int, count: int, seed: int) -> bytes:
    """``data`` with ``count`` bytes in [start, end) XOR-ed with a random non-zero value (seeded)."""
    rng = random.Random(seed)
    out = bytearray(data)
    for at in rng.sample(range(start, end), min(count, end - start)):
        out[at] ^= rng.randrange(1, 256)
    return bytes(out)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def huge_png(width: int, height: int) -> bytes:
    """A PNG whose valid IHDR (CRC and all) claims ``width`` x ``height`` RGB pixels, with one tiny row of data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + png_chunk(b"IEND", b""))


def huge_bmp(width: int, height: int) -> bytes:
    """A BMP header claiming ``width`` x ``height`` 24-bit pixels, followed by a few bytes of them."""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    header = struct.pack("<2sIHHI", b"BM", 14 + 40 + 64, 0, 0, 14 + 40)
    return header + info + b"\0" * 64


def huge_dims_mp4(data: bytes) -> bytes:
    """The MP4 with its track header and avc1 sample entry claiming 65535 x 65535 (the pixels stay small)."""
    out = bytearray(data)
    at = out.find(b"avc1")  # sample entry: 6 reserved + 2 index + 16 pre-defined, then width and height (16 bit)
    struct.pack_into(">HH", out, at + 4 + 24, 65535, 65535)
    at = out.find(b"tkhd")  # version 0: 80 bytes in, width and height as 16.16 fixed point
    struct.pack_into(">II", out, at + 4 + 76, 65535 << 16, 65535 << 16)
    return bytes(out)


def write_corpus(folder: Path) -> dict[str, str]:
    """Writes the corpus into ``folder``; returns file name -> kind of damage ("good" for the two good files)."""
    folder.mkdir(parents=True, exist_ok=True)
    frames = panning_frames(GOOD_FRAMES, CLIP_SIZE)
    clip = encode_frames(folder / "good_clip.mp4", frames, 12.0).read_bytes()
    faststart = encode_frames(folder / "_fs.mp4", frames, 12.0, options={"movflags": "faststart"})
    mkv = encode_frames(folder / "_c.mkv", frames, 12.0)
    fast, mkv_bytes = faststart.read_bytes(), mkv.read_bytes()
    faststart.unlink(), mkv.unlink()
    photo = cv2.resize(skimage_bgr("chelsea"), (120, 80))
    cv2.imwrite(str(folder / "good_photo.png"), photo)
    png = (folder / "good_photo.png").read_bytes()
    jpg = cv2.imencode(".jpg", photo)[1].tobytes()
    boxes = mp4_boxes(clip)
    moov, mdat = boxes["moov"], boxes["mdat"]
    cases: dict[str, tuple[str, bytes]] = {
        "trunc_1_byte.mp4": ("truncated", clip[:1]),
        "trunc_header_only.mp4": ("truncated", clip[: boxes["ftyp"][1]]),
        "trunc_mid_mdat_10pct.mp4": ("truncated", clip[: mdat[0] + (mdat[1] - mdat[0]) // 10]),
        "trunc_mid_mdat_90pct.mp4": ("truncated", clip[: mdat[0] + (mdat[1] - mdat[0]) * 9 // 10]),
        "trunc_mid_moov.mp4": ("truncated", clip[: (moov[0] + moov[1]) // 2]),
        "trunc_last_byte.mp4": ("truncated", clip[:-1]),
        "trunc_faststart_mid_mdat.mp4": ("truncated", fast[: len(fast) * 6 // 10]),
        "trunc_half.mkv": ("truncated", mkv_bytes[: len(mkv_bytes) // 2]),
        "trunc_half.png": ("truncated", png[: len(png) // 2]),
        "trunc_header_only.png": ("truncated", png[:33]),
        "trunc_half.jpg": ("truncated", jpg[: len(jpg) // 2]),
        "flip_ftyp.mp4": ("flipped bytes", flipped(clip, 0, boxes["ftyp"][1], 6, seed=1)),
        "flip_moov.mp4": ("flipped bytes", flipped(clip, moov[0] + 8, moov[1], 40, seed=2)),
        "flip_mdat.mp4": ("flipped bytes", flipped(clip, mdat[0] + 8, mdat[1], 200, seed=3)),
        "flip_ihdr.png": ("flipped bytes", flipped(png, 16, 29, 3, seed=4)),
        "flip_idat.png": ("flipped bytes", flipped(png, 60, len(png) - 12, 50, seed=5)),
        "flip_header.jpg": ("flipped bytes", flipped(jpg, 2, 160, 12, seed=6)),
        "flip_payload.jpg": ("flipped bytes", flipped(jpg, len(jpg) // 3, len(jpg) - 2, 60, seed=7)),
        "random_bytes.mp4": ("flipped bytes", random.Random(8).randbytes(20000)),
        "mp4_named.avi": ("swapped container", clip),
        "mp4_named.mkv": ("swapped container", clip),
        "mp4_named.png": ("swapped container", clip),
        "png_named.mp4": ("swapped container", png),
        "jpeg_named.png": ("swapped container", jpg),
        "mkv_named.mp4": ("swapped container", mkv_bytes),
        "empty.mp4": ("zero-length", b""),
        "empty.png": ("zero-length", b""),
        "huge_100000x100000.png": ("huge dimensions", huge_png(100_000, 100_000)),
        "huge_2147483647x1.png": ("huge dimensions", huge_png(2**31 - 1, 1)),
        "huge_100000x100000.bmp": ("huge dimensions", huge_bmp(100_000, 100_000)),
        "huge_dims_container.mp4": ("huge dimensions", huge_dims_mp4(clip)),
        "text_named.mp4": ("wrong extension", b"not a video, just some notes\n" * 20),
        "html_page.mp4": ("wrong extension", b"<!doctype html><html><body>404 Not Found</body></html>\n"),
        "png_named.jpg": ("wrong extension", png),
    }
    for name, (_, data) in cases.items():
        (folder / name).write_bytes(data)
    kinds = {name: kind for name, (kind, _) in cases.items()}
    (folder / "folder_named.mp4").mkdir()
    (folder / "folder_named.mp4" / "readme.txt").write_text("a folder, not a video\n")
    os.symlink("loop_b.mp4", folder / "loop_a.mp4")
    os.symlink("loop_a.mp4", folder / "loop_b.mp4")
    os.symlink("missing.mp4", folder / "dangling_link.mp4")
    os.mkfifo(folder / "named_pipe.mp4")
    kinds.update({"folder_named.mp4": "not a file", "loop_a.mp4": "not a file", "loop_b.mp4": "not a file",
                  "dangling_link.mp4": "not a file", "named_pipe.mp4": "not a file",
                  "good_clip.mp4": "good", "good_photo.png": "good"})
    return kinds
