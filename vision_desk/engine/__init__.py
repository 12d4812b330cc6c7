"""GUI-free core: frames and results, sources, pipeline runner, sinks, batch.

Nothing under this package may import PySide6 or ``vision_desk.gui``
(tests/test_layering.py checks it).
"""
