"""Every page loads its scripts, styles and fonts from this server: nothing from a CDN."""

import re

import pytest
from django.urls import reverse

from leads.models import Stage
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

ASSET_URL = re.compile(r"<(?:script|link|img|iframe)\b[^>]*?\b(?:src|href)=\"([^\"]*)\"", re.IGNORECASE)


def asset_urls(html: str) -> list[str]:
    return ASSET_URL.findall(html)


def test_pages_reference_only_local_assets(client, marketer, rep, lf_admin, published_definition):
    lead = LeadFactory(stage=Stage.MQL)
    pages = [(None, reverse("login"))]
    pages += [(marketer, reverse("leads:inbox")), (marketer, reverse("leads:detail", args=[lead.pk]))]
    pages += [(rep, reverse("routing:queue")), (lf_admin, reverse("scoring:definition"))]

    for user, url in pages:
        if user:
            client.force_login(user)
        html = client.get(url).content.decode()
        urls = asset_urls(html)
        assert any(u.endswith("/js/htmx.min.js") for u in urls), url
        assert any(u.endswith("/css/app.css") for u in urls), url
        external = [u for u in urls if u.startswith(("http://", "https://", "//"))]
        assert external == [], (url, external)
        assert "fonts.googleapis" not in html
        assert "@import" not in html


def test_pages_have_no_inline_scripts_so_a_strict_csp_can_follow(client, marketer):
    client.force_login(marketer)

    html = client.get(reverse("leads:inbox")).content.decode()

    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert not re.search(r"\son\w+=", html)  # no inline event handlers
    assert " hx-on" not in html


def test_htmx_sends_the_csrf_token_with_every_request(client, marketer):
    client.force_login(marketer)

    html = client.get(reverse("leads:inbox")).content.decode()

    assert re.search(r"<body hx-headers='\{\"X-CSRFToken\": \"[\w-]+\"\}'>", html)


def test_stylesheet_loads_nothing_from_elsewhere():
    from django.contrib.staticfiles import finders

    with open(finders.find("css/app.css"), encoding="utf-8") as stylesheet:
        css = stylesheet.read()

    assert "url(" not in css
    assert "@import" not in css
