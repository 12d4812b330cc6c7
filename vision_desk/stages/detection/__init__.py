"""Deep detection: YOLO detect/segment/pose/classify/obb, tracking, counting and privacy.

Heavy imports (torch, ultralytics, supervision) happen inside functions, so
discovering these stages stays instant.
"""
