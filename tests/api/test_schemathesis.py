"""Every documented endpoint under generated input (schemathesis), as each role: no 5xx, and every
response matches the schema it is documented with.

The schema is read from ``/api/schema/`` of the app itself and the requests go to the WSGI app in
process, on the test database. Bounded: a few examples per operation and role.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from leadflow.wsgi import application
from tests.factories import AccountFactory, CampaignFactory, LeadFactory, SourceFactory, TerritoryFactory

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 10
#: Integrations post leads and activities with their source's key, not a user's token.
SOURCE_KEY_PATHS = r"^/api/(intake/|activities/$)"
CHECKS = [schemathesis.checks.not_a_server_error, response_schema_conformance, content_type_conformance]
HYPOTHESIS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(autouse=True)
def _requests_keep_the_test_connection(db):
    """As Django's test client does: requests keep the test's database connection (and its
    transaction) instead of closing it when they finish."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def some_data(published_definition, rep):
    source = SourceFactory(slug="web")
    CampaignFactory(source=source, slug="spring")
    TerritoryFactory(slug="emea")
    account = AccountFactory(owner=rep)
    LeadFactory(source=source, account=account, owner=rep)
    LeadFactory(source=source)
    return source


@pytest.fixture
def role_headers(some_data, marketer, rep, lf_admin) -> dict[str, dict[str, str]]:
    """Each role's token, as an integration would send it."""
    users = {"marketing": marketer, "rep": rep, "admin": lf_admin}
    return {role: {"Authorization": f"Token {Token.objects.create(user=user).key}"} for role, user in users.items()}


#: Read at collection from the app in process (building the schema touches no database).
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
# The coverage phase sends every boundary case of every parameter, whatever max_examples says: minutes.
# Random generation (positive and negative) with a fixed seed keeps the run bounded and repeatable.
schema.config.phases.coverage.enabled = False


@schema.exclude(path_regex=SOURCE_KEY_PATHS).parametrize()
@HYPOTHESIS
def test_every_endpoint_as_each_role(case, role_headers):
    for headers in role_headers.values():
        case.call_and_validate(headers=headers, checks=CHECKS)


@schema.include(path_regex=SOURCE_KEY_PATHS).parametrize()
@HYPOTHESIS
def test_integration_endpoints_with_a_source_key(case, some_data):
    key = some_data.set_new_api_key()
    some_data.save()
    case.call_and_validate(headers={"X-Source-Key": key}, checks=CHECKS)
