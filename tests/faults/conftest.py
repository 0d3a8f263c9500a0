"""Fixtures for the fault tests: a source with its key and a published lead definition."""

from __future__ import annotations

import pytest

from leads.models import Source
from tests.factories import LeadDefinitionFactory, SourceFactory


@pytest.fixture
def web_source(transactional_db) -> tuple[Source, str]:
    """A web-form source and its API key, with a published lead definition to score against."""
    LeadDefinitionFactory()
    source = SourceFactory(slug="web")
    key = source.set_new_api_key()
    source.save()
    return source, key
