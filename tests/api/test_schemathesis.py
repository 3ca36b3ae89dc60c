"""Property-based run of the whole API against its own OpenAPI schema (schemathesis): as a
signed-in office user with a token — who may call every endpoint — generated requests for
every operation must never produce a server error, and every response must keep to the
schema's status codes and content types. Runs in CI with the rest of the suite, on SQLite and
on PostgreSQL."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from accounts.tokens import issue_token
from config.wsgi import application

pytestmark = pytest.mark.walk

EXAMPLES_PER_OPERATION = 15


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Calling the WSGI application directly sends request_started/finished, which would close
    the test's database connection (and its transaction); Django's test client disconnects
    these handlers the same way."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("persona", ["office", "dept"])
def test_no_generated_request_causes_a_server_error(db, world, personas, persona, mode):
    """Valid requests (positive) and requests that break the schema on purpose (negative)."""
    _, key = issue_token(personas[persona], "schemathesis")
    headers = {"Authorization": f"Token {key}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    failures: list[str] = []
    operations = unbreakable = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            response = case.call(headers=headers)
            try:
                case.validate_response(response, checks=[not_a_server_error])
            except Exception as exc:  # collected, so that one run reports every failure
                failures.append(f"{case.method} {case.formatted_path}: {exc}"[:500])

        try:
            run()
        except Unsatisfiable:
            # Negative mode has nothing to break in an operation without parameters or body.
            assert mode == GenerationMode.NEGATIVE
            unbreakable += 1
    assert operations >= 50 and unbreakable < operations / 2
    assert not failures, "\n".join(failures[:20])
