"""Classification family: the ``classify`` stage (taught and ready-made classifiers) and the ``gradcam`` stage.

``gradcam`` shows where a model looks: EigenCAM for detectors (what the
features feeding the detection head respond to), Grad-CAM or Grad-CAM++ for
classifiers (what raises the score of one class). The heatmaps are made by
the pytorch-grad-cam library; :mod:`.explain` holds the GUI-free functions the
stages call and tests use alone. Heavy imports (torch, torchvision,
pytorch_grad_cam, ultralytics) happen inside functions, so discovering these
stages stays instant.
"""
