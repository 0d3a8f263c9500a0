"""Security: headers and CSP, login throttling, session and token expiry and rotation, source key
rotation, and no secret in an error page or a log line."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leads.models import AuditEvent, Source
from leads.services import source_rotate_key
from tests.factories import PASSWORD, SourceFactory, UserFactory
from tests.test_settings import PRODUCTION_ENV, manage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


# --- Headers -------------------------------------------------------------------------------------

PRODUCTION_HEADERS = """
import json
from django.test import Client
client = Client(HTTP_HOST="leads.example.com")
secure = client.get("/login/", secure=True)
plain = client.get("/login/")
print(json.dumps({"secure": dict(secure.headers), "status": secure.status_code,
                  "plain": plain.status_code, "location": plain.headers.get("Location", "")}))
"""


def test_production_settings_send_hsts_csp_frame_denial_and_nosniff_and_redirect_to_https():
    # No collectstatic here: static files straight from static/ (headers do not depend on it).
    env = {**PRODUCTION_ENV, "DATABASE_URL": "sqlite://:memory:", "STATICFILES_MANIFEST": "false"}
    result = manage("shell", "-c", PRODUCTION_HEADERS, env=env)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    headers = answer["secure"]

    assert answer["status"] == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert (answer["plain"], answer["location"]) == (301, "https://leads.example.com/login/")


def test_every_kind_of_response_carries_the_csp(client, marketer):
    client.force_login(marketer)
    for url in ["/login/", "/leads/", "/api/leads/", "/api/docs/", "/healthz"]:
        assert "frame-ancestors 'none'" in client.get(url)["Content-Security-Policy"], url


def test_the_api_docs_run_no_inline_script(client):
    response = client.get("/api/docs/")
    html = response.content.decode()
    directives = dict(d.strip().split(" ", 1) for d in response["Content-Security-Policy"].split(";"))

    # Swagger UI draws with style attributes: inline styles there, never inline scripts.
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self' 'unsafe-inline'"
    assert directives["frame-ancestors"] == "'none'"

    assert "<script" in html
    assert "<script>" not in html
    assert all("src=" in tag for tag in html.split("<script")[1:])


# --- Login throttling ----------------------------------------------------------------------------


def _login(client: Client, username: str, password: str, ip: str = "10.0.0.1", url: str = "/login/"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_too_many_failed_logins_lock_that_username_from_that_address_for_a_while(settings):
    settings.LOGIN_MAX_FAILURES = 3
    UserFactory(username="mara", roles=["marketing"])
    client = Client()

    failures = [_login(client, "mara", "wrong") for _ in range(3)]
    locked = _login(client, "mara", PASSWORD)
    elsewhere = _login(Client(), "mara", PASSWORD, ip="10.0.0.2")

    assert all(r.status_code == 200 and "Please enter a correct username" in r.content.decode() for r in failures)
    assert locked.status_code == 200
    assert "Too many failed sign-in attempts" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    assert elsewhere.status_code == 302


def test_a_successful_login_clears_the_failures(settings):
    settings.LOGIN_MAX_FAILURES = 3
    UserFactory(username="mara", roles=["marketing"])

    for _ in range(2):
        _login(Client(), "mara", "wrong")
    assert _login(Client(), "mara", PASSWORD).status_code == 302
    for _ in range(2):
        _login(Client(), "mara", "wrong")

    assert _login(Client(), "mara", PASSWORD).status_code == 302


def test_the_admin_login_is_throttled_too(settings):
    settings.LOGIN_MAX_FAILURES = 2
    UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client()

    for _ in range(2):
        _login(client, "root", "wrong", url="/admin/login/")
    locked = _login(client, "root", PASSWORD, url="/admin/login/")

    assert "Too many failed sign-in attempts" in locked.content.decode()


def test_the_token_endpoint_is_throttled_with_429_and_retry_after(settings):
    settings.LOGIN_MAX_FAILURES = 2
    UserFactory(username="zapier", roles=["marketing"])
    client = APIClient()

    wrong = [client.post("/api/auth/token/", {"username": "zapier", "password": "nope"}) for _ in range(2)]
    locked = client.post("/api/auth/token/", {"username": "zapier", "password": PASSWORD})

    assert [r.status_code for r in wrong] == [400, 400]
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == settings.LOGIN_LOCKOUT_SECONDS
    assert "Too many failed sign-in attempts" in locked.json()["detail"]


# --- Sessions and tokens -------------------------------------------------------------------------


def test_a_session_lasts_session_cookie_age(client):
    UserFactory(username="mara", roles=["marketing"])
    assert _login(client, "mara", PASSWORD).status_code == 302

    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE == 12 * 3600


def test_an_anonymous_api_call_gets_401_with_a_token_challenge(api_client):
    response = api_client.get("/api/leads/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_token_older_than_its_ttl_is_refused_and_a_rotated_one_works(settings, marketer):
    settings.API_TOKEN_TTL = 3600
    client = APIClient()
    body = client.post("/api/auth/token/", {"username": "mara", "password": PASSWORD}).json()
    old = body["token"]
    Token.objects.filter(key=old).update(created=timezone.now() - timedelta(seconds=3601))
    client.credentials(HTTP_AUTHORIZATION=f"Token {old}")

    expired = client.get("/api/leads/")
    renewed = APIClient().post("/api/auth/token/", {"username": "mara", "password": PASSWORD}).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {renewed}")
    rotated = client.post("/api/auth/token/rotate/").json()["token"]
    with_renewed = client.get("/api/leads/")
    client.credentials(HTTP_AUTHORIZATION=f"Token {rotated}")
    with_rotated = client.get("/api/leads/")

    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]
    assert renewed != old
    assert rotated != renewed
    assert with_renewed.status_code == 401
    assert with_rotated.status_code == 200
    assert Token.objects.filter(user=marketer).count() == 1
    issued = AuditEvent.objects.filter(action="user.token_issue", object_id=str(marketer.pk)).order_by("id")
    assert [event.changes["token"][1] for event in issued] == ["first", "expired", "rotated"]


def test_the_token_endpoint_gives_the_current_token_with_its_expiry(marketer):
    first = APIClient().post("/api/auth/token/", {"username": "mara", "password": PASSWORD}).json()
    again = APIClient().post("/api/auth/token/", {"username": "mara", "password": PASSWORD}).json()

    assert first == again
    assert first["expires_at"]


# --- Source keys ---------------------------------------------------------------------------------


def test_rotate_source_key_command_prints_a_new_key_and_with_no_grace_the_old_one_stops_working():
    source = SourceFactory(slug="web")
    old = source.set_new_api_key()
    source.save()
    out = io.StringIO()

    call_command("rotate_source_key", "web", "--grace-hours", "0", stdout=out, stderr=io.StringIO())

    new = out.getvalue().strip()
    body = {"email": "ann@acme.example"}
    client = APIClient()
    assert new.startswith(Source.KEY_PREFIX)
    assert new != old
    assert client.post("/api/intake/", body, format="json", HTTP_X_SOURCE_KEY=old).status_code == 401
    assert client.post("/api/intake/", body, format="json", HTTP_X_SOURCE_KEY=new).status_code == 202
    assert AuditEvent.objects.filter(action="source.rotate_key", object_id=str(source.pk)).exists()


def _intake_status(key: str) -> int:
    return (
        APIClient()
        .post("/api/intake/", {"email": "ann@acme.example"}, format="json", HTTP_X_SOURCE_KEY=key)
        .status_code
    )


def test_a_rotated_source_key_keeps_working_for_the_grace_period_then_stops(settings):
    settings.SOURCE_KEY_GRACE_HOURS = 6
    source = SourceFactory(slug="web")
    oldest = source.set_new_api_key()
    source.save()
    old = source_rotate_key(source=source, actor=None)
    rotated_at = timezone.now()

    new = source_rotate_key(source=source, actor=None)

    source.refresh_from_db()
    assert abs(source.previous_api_key_expires_at - (rotated_at + timedelta(hours=6))).total_seconds() < 60
    # The key just replaced works beside the new one; the one before it stopped at this second rotation.
    assert [_intake_status(k) for k in (new, old, oldest)] == [202, 202, 401]
    event = AuditEvent.objects.filter(action="source.rotate_key", object_id=str(source.pk)).latest("pk")
    assert event.changes["previous_key_valid_until"] == [None, source.previous_api_key_expires_at.isoformat()]
    assert source.previous_api_key_hash not in str(event.changes)
    # Six hours later the grace period is over.
    later = timezone.now() + timedelta(hours=6, minutes=1)
    assert Source.by_api_key(old, now=later) is None
    assert Source.by_api_key(new, now=later) == source
    Source.objects.filter(pk=source.pk).update(previous_api_key_expires_at=timezone.now() - timedelta(seconds=1))
    assert _intake_status(old) == 401


def test_a_leaked_key_is_revoked_at_once_over_the_api(marketer):
    source = SourceFactory(slug="web")
    leaked = source.set_new_api_key()
    source.save()
    client = APIClient()
    client.force_authenticate(marketer)

    response = client.post("/api/sources/web/rotate-key/", {"grace_hours": 0}, format="json")
    negative = client.post("/api/sources/web/rotate-key/", {"grace_hours": -1}, format="json")

    assert response.status_code == 200
    assert response.json()["source"]["previous_api_key_expires_at"] is None
    assert negative.status_code == 400
    assert _intake_status(leaked) == 401
    assert _intake_status(response.json()["api_key"]) == 202


def test_rotate_source_key_names_an_unknown_slug():
    SourceFactory(slug="web")

    with pytest.raises(CommandError, match=r"No source with slug 'nope'. Sources: web"):
        call_command("rotate_source_key", "nope")


# --- Secrets in error pages and logs -------------------------------------------------------------


def test_an_error_page_and_its_log_show_no_secret(settings, caplog, marketer):
    settings.ROOT_URLCONF = "tests.security_urls"
    source = SourceFactory(slug="web")
    source_key = source.set_new_api_key()
    source.save()
    token = Token.objects.create(user=marketer).key
    client = Client(raise_request_exception=False)

    with caplog.at_level(logging.DEBUG):
        response = client.post(
            "/boom/",
            {"username": "mara", "password": PASSWORD, "key": source_key},
            HTTP_AUTHORIZATION=f"Token {token}",
            HTTP_X_SOURCE_KEY=source_key,
        )

    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong" in page
    assert "Traceback" not in page
    assert "Boom" not in page
    logged = caplog.text + "".join(str(record.__dict__) for record in caplog.records)
    assert "Internal Server Error: /boom/" in caplog.text
    for secret in (settings.SECRET_KEY, source_key, PASSWORD, token):
        assert secret not in page
        assert secret not in logged
