"""Teaching new classes: datasets, training, evaluation and the taught model (GUI-free).

A *teach set* is a folder in the ImageFolder layout (one sub-folder of images
per class). :mod:`.train` turns one into a *taught model*: a folder holding the
network (``model.pt``), its ONNX export (``model.onnx``) and ``teach.json``
(labels, input size, metrics, curves), written completely or not at all. The
``classify`` stage runs it; ``gradcam`` explains it. The GUI's Teach panel and
the ``vision-desk teach`` commands are thin layers over this package.
"""
