"""Checks on request content that a JSON schema cannot say: text that is not text, blank
text, passages over core's limit, pictures (JSON pixels or an uploaded PNG/JPEG)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from api.errors import ApiError
from core.qa.select import PassageTooLong, check_length

MAX_IMAGE_PIXELS = 4096 * 4096


def check_text(value: str, field: str) -> str:
    """Refuse text that is not text: lone surrogates (not UTF-8), NUL bytes or mostly
    control characters (a binary file pasted as text)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(422, "wrong-encoding", f"{field} is not valid UTF-8 text") from None
    if "\x00" in value:
        raise ApiError(422, "binary-text", f"{field} looks like binary data, not text")
    controls = sum(1 for ch in value if ord(ch) < 32 and ch not in "\t\n\r")
    if value and controls / len(value) > 0.05:
        raise ApiError(422, "binary-text", f"{field} looks like binary data, not text")
    return value


def check_strings(value: Any) -> None:
    """:func:`check_text` on every string inside decoded task arguments (lists of texts,
    labels and keyword names included)."""
    if isinstance(value, str):
        check_text(value, "text")
    elif isinstance(value, (list, tuple)):
        for v in value:
            check_strings(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            check_strings(k)
            check_strings(v)


def too_long(exc: PassageTooLong) -> ApiError:
    return ApiError(422, exc.code, str(exc), length=exc.length, limit=exc.limit)


def check_passage(value: str) -> str:
    """A Q&A passage, refused past core's limit (``core.qa.MAX_CONTEXT_CHARS``) with code
    ``passage-too-long`` before any other work on it."""
    try:
        check_length(value)
    except PassageTooLong as exc:
        raise too_long(exc) from None
    return check_text(value, "context")


def blank(value: str, field: str) -> None:
    if not value.strip():
        raise ApiError(422, "empty", f"{field} is empty")


def pixels_array(pixels: list[list[float]]) -> np.ndarray:
    """A JSON image (28x28 or 280x280, 0..255 or 0..1) as ``(H, W)`` uint8."""
    h = len(pixels)
    if h not in (28, 280) or any(len(row) != h for row in pixels):
        raise ApiError(422, "bad-shape", "pixels must be 28x28 or 280x280 (rows of equal length)")
    arr = np.asarray(pixels, dtype=np.float64)
    if not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 255:
        raise ApiError(422, "bad-pixels", "pixel values are numbers from 0 to 255 (or 0 to 1)")
    if arr.max() <= 1.0:
        arr = arr * 255.0
    return arr.round().astype(np.uint8)


def png_array(data: bytes) -> np.ndarray:
    """An uploaded image as ``(H, W, 4)`` uint8 RGBA; 422 when it is not an image."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise ApiError(422, "empty", "the uploaded file is empty")
    try:
        with Image.open(io.BytesIO(data)) as img:
            w, h = img.size
            if w * h > MAX_IMAGE_PIXELS or w < 8 or h < 8:
                raise ApiError(422, "bad-shape", f"images are 8x8 to {MAX_IMAGE_PIXELS} pixels")
            return np.asarray(img.convert("RGBA"), dtype=np.uint8)
    except ApiError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise ApiError(422, "not-an-image", "the uploaded file is not a PNG or JPEG image") from None
