"""`vision-desk stages [--json]`: every stage, its parameters and the values and object columns it writes."""

from __future__ import annotations

import argparse
import json

from vision_desk.engine.params import describe
from vision_desk.engine.stage import all_stages

ORDER = 30


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stages", help="list every stage, its parameters and the values and object columns it writes")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def catalogue() -> list[dict]:
    return [
        {"id": sid, "title": cls.title, "category": cls.category, "help": cls.help, "heavy": cls.heavy,
         "params": [s.as_dict() for s in describe(cls.Params)], "values": dict(cls.values), "columns": dict(cls.columns)}
        for sid, cls in all_stages().items()
    ]


def run(args: argparse.Namespace) -> int:
    rows = catalogue()
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    category = None
    for row in rows:
        if row["category"] != category:
            category = row["category"]
            print(f"\n{category}")
        print(f"  {row['id']:<16} {row['help']}{'  [heavy]' if row['heavy'] else ''}")
        for p in row["params"]:
            if "choices" in p:
                rng = " | ".join(map(str, p["choices"]))
            elif "minimum" in p or "maximum" in p:
                rng = f"{p.get('minimum', '')}..{p.get('maximum', '')}"
                if p.get("auto"):
                    rng = f"auto | {rng}"
            else:
                rng = p["type"]
            was = f" (old name: {', '.join(p['old_names'])})" if p.get("old_names") else ""
            print(f"      {p['name']:<18} = {json.dumps(p['default'], ensure_ascii=False):<10} [{rng}]  {p['help']}{was}")
        for kind in ("values", "columns"):
            if row[kind]:
                print(f"      {kind}: {', '.join(row[kind])}")
    return 0
