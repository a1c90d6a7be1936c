"""``POST /api/digits``: a handwritten digit, as JSON pixels or an uploaded PNG/JPEG."""

from __future__ import annotations

import json
import time
from typing import get_args

import numpy as np
from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from api import schemas as s
from api.checks import pixels_array, png_array
from api.errors import BODY, GUARDED, ApiError, BodyTooLarge, responses
from api.serving import Serving, rounded
from core.digits.explain import resolve_method

ERRORS = responses(*BODY, *GUARDED, 503)
FORM_FIELDS = ("file", "saliency", "saliency_method")
METHODS = get_args(s.DigitMethod)
_BOOL = {"true": True, "false": False}


def router(serving: Serving) -> APIRouter:
    r = APIRouter(tags=["Digits"], responses=ERRORS)

    @r.post(
        "/api/digits",
        response_model=s.DigitsResponse,
        summary="Read a handwritten digit",
        openapi_extra={
            "requestBody": {
                "content": {
                    "application/json": {"schema": s.DigitsRequest.model_json_schema()},
                    "multipart/form-data": {"schema": s.DIGITS_FORM},
                },
                "required": True,
            }
        },
    )
    async def digits(request: Request) -> s.DigitsResponse:
        ctype = request.headers.get("content-type", "")
        saliency, method = False, "auto"
        if ctype.startswith("multipart/form-data"):
            try:
                form = await request.form(max_files=1, max_fields=4)
            except BodyTooLarge:
                raise
            except Exception:
                raise ApiError(400, "invalid-form", "a multipart form with one file field named 'file'") from None
            extra = sorted(set(form.keys()) - set(FORM_FIELDS))
            if extra:
                raise ApiError(422, "invalid-input", f"unknown form fields {extra}: only {', '.join(FORM_FIELDS)}")
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise ApiError(422, "invalid-input", "upload the image as the form field 'file'")
            flag = form.get("saliency", "false")
            if not isinstance(flag, str) or flag.lower() not in _BOOL:
                raise ApiError(422, "invalid-input", "saliency is true or false")
            asked = form.get("saliency_method", "auto")
            if not isinstance(asked, str) or asked not in METHODS:
                raise ApiError(422, "invalid-input", f"saliency_method is one of {', '.join(METHODS)}")
            method = asked
            image = png_array(await upload.read())
            saliency = _BOOL[flag.lower()]
        else:
            try:
                raw = json.loads(await request.body())
            except BodyTooLarge:
                raise
            except (ValueError, UnicodeDecodeError):
                raise ApiError(
                    400, "invalid-json", "the body is not valid JSON (or upload a PNG as multipart 'file')"
                ) from None
            try:
                body = s.DigitsRequest.model_validate(raw)
            except ValidationError as exc:
                raise RequestValidationError(exc.errors()) from None
            image = pixels_array(body.pixels)
            saliency, method = body.saliency, body.saliency_method
        t0 = time.perf_counter()
        kwargs = {"method": method} if saliency else {}  # without saliency: batchable with other requests
        res = await serving.run("digits", image, saliency=saliency, compare=False, **kwargs)
        ms = (time.perf_counter() - t0) * 1000
        if res.code != "ok" or res.probs is None:
            return s.DigitsResponse(
                code="blank",
                digit=None,
                probabilities=None,
                image=None,
                saliency_method=None,
                model=res.model,
                latency_ms=ms,
            )
        return s.DigitsResponse(
            code="ok",
            digit=int(np.argmax(res.probs)),
            probabilities=rounded(res.probs, 6),
            image=rounded(res.image, 4),
            saliency=None if res.saliency is None else rounded(res.saliency, 4),
            saliency_method=resolve_method(method) if res.saliency is not None else None,
            model=res.model,
            latency_ms=ms,
        )

    return r
