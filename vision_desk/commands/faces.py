"""`vision-desk faces enroll NAME IMAGES... | list | rename OLD NEW | remove NAME | export FILE | import FILE | path`."""

from __future__ import annotations

import argparse
import datetime as dt
import json

ORDER = 60


def register(sub: argparse._SubParsersAction) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--gallery", metavar="PATH", help="gallery database file (default: face_gallery.sqlite in the user data folder)")
    p = sub.add_parser("faces", help="the face gallery: enrol, list, rename, remove, export and import people")
    fsub = p.add_subparsers(dest="faces_command", metavar="ACTION", required=True)

    enroll = fsub.add_parser("enroll", parents=[common], help="enrol a person from image files or folders (the largest face of each image)")
    enroll.add_argument("name")
    enroll.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders of images")
    enroll.add_argument("--backend", choices=["dlib", "facenet"], default="dlib", help="embedding backend (default: dlib, offline)")
    enroll.set_defaults(func=cmd_enroll)

    listing = fsub.add_parser("list", parents=[common], help="enrolled people, their backend and number of images")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=cmd_list)

    rename = fsub.add_parser("rename", parents=[common], help="rename a person")
    rename.add_argument("old")
    rename.add_argument("new")
    rename.set_defaults(func=cmd_rename)

    remove = fsub.add_parser("remove", parents=[common], help="remove a person and all their images")
    remove.add_argument("name")
    remove.set_defaults(func=cmd_remove)

    export = fsub.add_parser("export", parents=[common], help="write the whole gallery to a JSON file")
    export.add_argument("file")
    export.set_defaults(func=cmd_export)

    imp = fsub.add_parser("import", parents=[common], help="add the people of an exported JSON file")
    imp.add_argument("file")
    imp.set_defaults(func=cmd_import)

    fsub.add_parser("path", parents=[common], help="print the gallery's file path").set_defaults(func=cmd_path)


def _open(args: argparse.Namespace, create: bool = True):  # noqa: ANN202 - Gallery, imported lazily
    from vision_desk.stages.faces.gallery import Gallery

    return Gallery(args.gallery, create=create)


def cmd_enroll(args: argparse.Namespace) -> int:
    from vision_desk.stages.faces.recognize import enrol_images

    with _open(args) as gallery:
        results = enrol_images(gallery, args.name, args.images, args.backend)
        for r in results:
            print(f"{r.path}: {r.note}")
        added = sum(r.added for r in results)
        print(f"enrolled {args.name!r} from {added} of {len(results)} image(s) ({args.backend}) in {gallery.path}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with _open(args) as gallery:
        people = gallery.people()
        if args.json:
            print(json.dumps([{"name": p.name, "backend": p.backend, "images": p.images, "enrolled": p.enrolled} for p in people], indent=2))
            return 0
        if not people:
            print(f"nobody enrolled yet in {gallery.path}")
            return 0
        for p in people:
            when = dt.datetime.fromtimestamp(p.enrolled).strftime("%Y-%m-%d %H:%M")
            print(f"{p.name:<24} {p.backend:<8} {p.images:>3} image(s)  last enrolled {when}")
    return 0


def cmd_rename(args: argparse.Namespace) -> int:
    with _open(args, create=False) as gallery:
        gallery.rename(args.old, args.new)
    print(f"renamed {args.old!r} to {args.new!r}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    with _open(args, create=False) as gallery:
        n = gallery.remove(args.name)
    print(f"removed {args.name!r} ({n} image(s))")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    with _open(args, create=False) as gallery:
        n = gallery.export(args.file)
    print(f"exported {n} embedding(s) to {args.file}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    with _open(args) as gallery:
        added, present = gallery.import_file(args.file)
    print(f"imported {added} embedding(s) from {args.file}" + (f" ({present} already present)" if present else ""))
    return 0


def cmd_path(args: argparse.Namespace) -> int:
    from pathlib import Path

    from vision_desk.stages.faces.gallery import default_gallery_path

    print(Path(args.gallery).expanduser() if args.gallery else default_gallery_path())
    return 0
