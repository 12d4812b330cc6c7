"""engine and stages never import PySide6 or vision_desk.gui (batch and CLI run without a display)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "vision_desk"
GUI_FREE = ["engine", "stages", "commands", "benchmarks", "teach"]


def test_no_qt_imports_in_gui_free_code() -> None:
    offenders = []
    for folder in GUI_FREE:
        for path in (PACKAGE / folder).rglob("*.py"):
            if path in (PACKAGE / "commands" / "gui.py", PACKAGE / "commands" / "soak.py"):
                continue  # the CLI's doors into the GUI (the app; soak --gui): they import it inside run() only,
                # which the test below checks at run time (building the CLI's parser loads no Qt)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                offenders += [f"{path.relative_to(PACKAGE)}: {n}" for n in names if n.startswith(("PySide6", "vision_desk.gui", "pyqtgraph"))]
    assert offenders == []


def test_loading_every_stage_and_running_the_engine_loads_no_qt() -> None:
    code = (
        "import sys; from vision_desk.engine.stage import all_stages; all_stages(); "
        "import vision_desk.engine.batch, vision_desk.cli; vision_desk.cli.build_parser(); "
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'vision_desk.gui'))]; print(bad); sys.exit(1 if bad else 0)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent)
    assert r.returncode == 0, r.stdout + r.stderr
