"""Drawing on the frame itself (text with live fields, shapes, a logo), so recordings and exports carry it.

Unlike overlays, which annotators draw on a copy at the end, these stages change
``frame.image``: put them last, after the stages that analyse the picture.
"""
