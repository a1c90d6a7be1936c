"""The API's OpenAPI document is its contract: schemathesis generates requests from it
(valid and invalid ones) against a real ``python -m api`` on a loopback port and checks every
answer against it (``--checks all``: no 5xx, only documented statuses, content types, headers
and bodies, schema-valid requests accepted, schema-violating ones refused ...).

The operations are collected from the app's own document (``create_app().openapi()``, so
each route is its own test); every request goes to the real process, whose served
``/openapi.json`` must be that same document.

Bounded and repeatable: ``schemathesis.toml`` (seed, examples per operation, the statuses a
schema-valid request may still get for its content), hypothesis derandomized, no example
database. Its only network is 127.0.0.1 (the schema's own server). By hand, against a running
API: ``st run http://127.0.0.1:8000/openapi.json --checks all``."""

from __future__ import annotations

from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402

from api.app import create_app  # noqa: E402
from tests.api_contract import schema_valid_is_not_invalid_input  # noqa: E402
from tests.inference_api import get_json  # noqa: E402

MAX_EXAMPLES = 6  # per operation and phase; with the coverage phase's own cases: ~480 requests
DOCUMENT = create_app().openapi()
# (schemathesis.pytest.from_fixture, the lazy loader, needs a pytest internal that pytest 9 dropped)
schema = schemathesis.openapi.from_dict(DOCUMENT)


@pytest.mark.slow
def test_the_served_document_is_the_one_fuzzed(inference_api: str) -> None:
    assert get_json(inference_api + "/openapi.json") == DOCUMENT


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_its_openapi_contract(case: Any, inference_api: str) -> None:
    assert inference_api.startswith("http://127.0.0.1:"), inference_api  # loopback only
    # a model's first request loads it (seconds on a busy CPU): a long timeout, not an error
    case.call_and_validate(base_url=inference_api, additional_checks=[schema_valid_is_not_invalid_input], timeout=120)
