"""Property-based requests generated from the app's own OpenAPI document (valid and invalid ones).

No answer may be a 5xx; besides, answers must match the documented schemas, status codes and content
types, valid requests must be accepted and invalid ones rejected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis import checks  # noqa: E402

from aispec.runtime.serving.app import create_app  # noqa: E402

CONFORMANCE = [getattr(checks, name) for name in (
    "response_schema_conformance", "status_code_conformance", "content_type_conformance",
    "positive_data_acceptance", "negative_data_rejection") if hasattr(checks, name)]


@pytest.fixture(scope="module", params=["classification", "regression", "anomaly_detection", "clustering"])
def served_schema(request: pytest.FixtureRequest, model_dirs: dict[str, Path],
                  tmp_path_factory: pytest.TempPathFactory) -> Any:
    app = create_app(model_dirs[request.param], log_dir=tmp_path_factory.mktemp("schemathesis-logs"))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("served_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors_and_the_contract_holds(case: Any) -> None:
    case.call_and_validate(checks=[checks.not_a_server_error, *CONFORMANCE])
