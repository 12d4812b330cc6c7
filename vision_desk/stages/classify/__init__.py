"""Classification stages: ``classify`` (a taught model or any classifier, on the frame, a region or each object)
and ``gradcam`` (what a model looks at)."""
