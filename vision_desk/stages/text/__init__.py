"""Text and codes: OCR (EasyOCR), QR and barcode reading (zbar with OpenCV's QR detectors
as a fallback) and code generation (segno, python-barcode). Flattening a
photographed page for OCR is the ``perspective`` stage's auto mode
(``vision_desk.stages.classical.perspective``).

The image work lives in plain functions (``read_text``, ``decode_codes``,
``make_code``) that the stages call and tests use alone.
"""
