"""Shared fixtures: a user per role, API clients, a published lead definition, a real Celery worker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rest_framework.test import APIClient

from leads.models import LeadDefinition
from tests.factories import LeadDefinitionFactory, RepFactory, UserFactory
from tests.worker import CeleryWorker, celery_worker_running


@pytest.fixture
def marketer(db):
    return UserFactory(username="mara", roles=["marketing"])


@pytest.fixture
def rep(db):
    """A sales rep (the user) with a Rep profile."""
    return RepFactory(user__username="rick").user


@pytest.fixture
def other_rep(db):
    return RepFactory(user__username="olga").user


@pytest.fixture
def lf_admin(db):
    """A user in the ``admin`` role (not a Django superuser)."""
    return UserFactory(username="ada", roles=["admin"])


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def published_definition(db) -> LeadDefinition:
    return LeadDefinitionFactory()


@pytest.fixture
def celery_worker_factory(transactional_db):
    """``celery_worker_running`` for tests that pass the worker options (environment, queue, beat)."""
    return celery_worker_running


@pytest.fixture
def celery_worker(transactional_db) -> Iterator[CeleryWorker]:
    """A real ``celery worker`` process on Redis, pointed at the test database.

    For tests whose truth depends on a separate process (row locks, acks_late, retries);
    most tests run tasks eagerly instead.
    """
    with celery_worker_running() as worker:
        yield worker
