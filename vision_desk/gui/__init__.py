"""The desktop application (PySide6). The only package that imports Qt.

It talks to the engine through its public API and receives frames through
one bridge (:mod:`vision_desk.gui.bridge`) that hands the GUI thread only the
newest frame.
"""
