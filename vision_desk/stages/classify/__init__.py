"""Classification family: the ``classify`` stage (a taught model or a ready-made classifier, on the frame, a
region or each object) and the ``gradcam`` stage (where a model looks).

``gradcam`` shows EigenCAM for detectors (what the features feeding the
detection head respond to) and Grad-CAM or Grad-CAM++ for classifiers (what
raises the score of one class). The heatmaps are made by the pytorch-grad-cam
library; :mod:`.explain` holds the GUI-free functions the stages call and tests
use alone. Heavy imports (torch, torchvision, pytorch_grad_cam, ultralytics)
happen inside functions, so discovering these stages stays instant.
"""
