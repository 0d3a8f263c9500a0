"""The OpenAPI schema is complete and warning-free, and the docs page needs nothing from a CDN."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    "/api/leads/",
    "/api/leads/{id}/",
    "/api/leads/{id}/stage/",
    "/api/leads/{id}/claim/",
    "/api/leads/{id}/activities/",
    "/api/leads/{id}/stage-changes/",
    "/api/accounts/",
    "/api/contacts/",
    "/api/sources/{slug}/rotate-key/",
    "/api/campaigns/{slug}/",
    "/api/lead-definitions/{version}/",
    "/api/territories/{slug}/",
    "/api/reps/{id}/",
    "/api/audit-events/",
    "/api/auth/token/",
]


def test_schema_endpoint_documents_every_api_endpoint(api_client):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert set(ENDPOINTS) <= set(paths)
    assert "api_key_hash" not in response.content.decode()


def test_schema_generates_without_warnings_and_validates(tmp_path: Path):
    out = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))

    schema = yaml.safe_load(out.read_text())
    assert schema["info"]["title"] == "LeadFlow API"
    assert "Idempotency-Key" in {p["name"] for p in schema["paths"]["/api/leads/"]["post"]["parameters"]}


def test_docs_page_loads_its_scripts_and_styles_locally(api_client):
    response = api_client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r"<script[^>]+src=\"([^\"]+)\"|<link[^>]+href=\"([^\"]+)\"", html)
    urls = [src or href for src, href in assets]
    assert any("swagger-ui" in url for url in urls)
    assert not [url for url in urls if re.match(r"(https?:)?//", url)]
