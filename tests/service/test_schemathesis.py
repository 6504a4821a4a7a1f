"""schemathesis against the app's own OpenAPI, with a valid admin token: whatever it sends,
no answer is a server error (5xx). The site is its own (it may revoke tokens and set holds)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode

from pipelines.service import create_app
from tests.service.conftest import Analyzed, Site, build_site


@pytest.fixture(scope="module")
def fuzz_site(tmp_path_factory: pytest.TempPathFactory, analyzed: Analyzed) -> Iterator[Site]:
    s = build_site(tmp_path_factory.mktemp("fuzz"), analyzed)
    yield s
    s.store.close()


@pytest.fixture(scope="module")
def api_schema(fuzz_site: Site) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(fuzz_site.settings,
                                                                       store=fuzz_site.store))


def test_no_server_error(api_schema: schemathesis.BaseSchema, fuzz_site: Site) -> None:
    headers = fuzz_site.headers("admin")
    tried: list[str] = []
    statuses: Counter[int] = Counter()
    for result in api_schema.get_all_operations():
        assert isinstance(result, Ok), f"the app's OpenAPI has an invalid operation: {result}"
        operation = result.ok()
        tried.append(operation.label)
        # valid input, invalid input, and valid input about the real event (its files,
        # hold, export): at most 30 examples an operation in all
        passes: list[tuple[GenerationMode, dict[str, str] | None]] = [
            (GenerationMode.POSITIVE, None)]
        if len(operation.path_parameters) + len(operation.query) + len(operation.body):
            passes.append((GenerationMode.NEGATIVE, None))  # (nothing to get wrong else)
        if "{event_id}" in operation.path:
            passes.append((GenerationMode.POSITIVE, {"event_id": fuzz_site.real_id}))
        for mode, path_parameters in passes:
            strategy = operation.as_strategy(generation_mode=mode,
                                             path_parameters=path_parameters)

            @settings(max_examples=10, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def check(case: schemathesis.Case) -> None:
                response = case.call(headers=headers)
                statuses[response.status_code] += 1
                case.validate_response(response, checks=[not_a_server_error])
                assert response.status_code < 500, (case.method, case.path, response.text)

            check()
    assert len(tried) >= 15, tried
    # the calls reached the app: answers, refusals of bad input, unknown ids
    assert statuses[200] > 0 and statuses[422] > 0 and statuses[404] > 0, statuses
    assert statuses[206] + statuses[416] + statuses[200] > 0, statuses
    assert all(code < 500 for code in statuses), statuses


def test_the_schema_covers_every_api_route(api_schema: schemathesis.BaseSchema) -> None:
    paths = set(api_schema.raw_schema["paths"])
    assert {"/api/events", "/api/events/{event_id}", "/api/events/{event_id}/original.{ext}",
            "/api/events/{event_id}/annotated.mp4", "/api/events/{event_id}/snapshot.jpg",
            "/api/events/{event_id}/manifest.json", "/api/events/{event_id}/hold",
            "/api/events/{event_id}/export", "/api/cameras", "/api/tokens",
            "/api/tokens/{token_id}", "/api/audit", "/metrics", "/healthz"} <= paths
