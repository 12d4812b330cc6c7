"""Classical OpenCV toolbox stages, one module per family."""
