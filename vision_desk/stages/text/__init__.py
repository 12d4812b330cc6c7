"""Text and codes: OCR (EasyOCR), QR and barcode reading (zbar with OpenCV's QR detectors
as a fallback), code generation (segno, python-barcode) and a document-page finder.

The image work lives in plain functions (``read_text``, ``decode_codes``,
``make_code``, ``find_document_quad``) that the stages call and tests use alone.
"""
