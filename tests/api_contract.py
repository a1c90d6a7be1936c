"""schemathesis hooks for the API's contract (``schemathesis.toml``'s ``hooks``): a check that
keeps "schema-valid requests are accepted" strict where the schema can say it.

``positive_data_acceptance`` lets a schema-valid request be refused with 422 (its content:
blank or binary text, an image that is not an image ...), since JSON Schema cannot say those
rules. :func:`schema_valid_is_not_invalid_input` fails where the refusal is the schema's
business: a 400 (the body was not read), or a 422 ``invalid-input`` with ``details`` (the
request validation found it breaks the schema) for a request schemathesis generated as valid."""

from __future__ import annotations

import json
from typing import Any

import schemathesis


@schemathesis.check
def schema_valid_is_not_invalid_input(ctx: Any, response: Any, case: Any) -> bool | None:
    meta = getattr(case, "meta", None)
    if meta is None or not meta.generation.mode.is_positive:
        return None
    status = response.status_code
    if status not in (400, 422):
        return None
    try:
        error = json.loads(response.content).get("error", {})
    except (ValueError, AttributeError):
        error = {}
    if status == 400 or (error.get("code") == "invalid-input" and error.get("details")):
        raise AssertionError(
            f"a schema-valid request was refused as invalid ({status} {error.get('code')}): "
            f"{error.get('message')}; the OpenAPI document and the validation disagree"
        )
    return None
