"""The pages and API calls people use most, at scale: gunicorn on PostgreSQL, 20 concurrent clients (wrk).

    python bench/scale.py [--leads 1000000] [--seconds 10] [--connections 20] [--gunicorn-workers 4] [--reuse]

Loads ``--leads`` leads (default 1,000,000) with two activities each, 50 reps, 10 sources with
campaigns, accounts and a review queue of duplicate pairs, with COPY (``leadflow.db.bulk_insert_rows``),
then measures under load: the marketers' inbox (no filter, each filter, search by name, company and
e-mail prefix), a lead page, a rep's queue (page and API), the lead list API and the duplicate review
queue API. Each URL's p95 is printed beside ``GET /healthz`` (one trivial query) measured in the same
run. Target: p95 under 150 ms for each. ``--reuse`` keeps the loaded database of an earlier run.
Needs ``wrk`` (installed when missing and running as root). Note the load average printed at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, setup_django
from intake_api import GET_LUA, ensure_wrk, free_port, run_wrk

DB_NAME = "leadflow_bench_scale"
CHUNK = 20_000
STAGES = (["new"] * 20 + ["junk"] * 15 + ["nurture"] * 20 + ["mql"] * 20 + ["sal"] * 10 + ["sql"] * 5
          + ["opportunity"] * 5 + ["won"] * 3 + ["lost"] * 2)  # fmt: skip
FIRST = ["Ann", "Bob", "Cleo", "Dmitri", "Eve", "Farid", "Gus", "Hana", "Ivo", "Jade", "Kofi", "Lena", "Mateo",
         "Nora", "Omar", "Pia", "Quinn", "Rosa", "Sven", "Tara"]  # fmt: skip
LAST = ["Lee", "Moreau", "Novak", "Okafor", "Petit", "Quist", "Rossi", "Sato", "Tanaka", "Ueda", "Vogel", "Weber",
        "Xu", "Young", "Zhang", "Fischer", "Garcia", "Hansen", "Ito", "Jensen"]  # fmt: skip


def load(n_leads: int) -> None:
    """Everything the measured pages read, in bulk."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.utils import timezone

    from dedupe.models import DuplicateCandidate
    from leadflow.db import bulk_insert_rows
    from leads.models import Account, Activity, Campaign, Lead, Source
    from routing.models import Rep
    from scoring.defaults import DEFAULT_RULES
    from tests.factories import LeadDefinitionFactory

    rng = random.Random(8)
    LeadDefinitionFactory(rules=DEFAULT_RULES)
    sources = [Source.objects.create(name=f"Source {n}", slug=f"source-{n}") for n in range(10)]
    campaigns = [Campaign.objects.create(name=f"Campaign {n}", slug=f"campaign-{n}", source=sources[n % 10])
                 for n in range(40)]  # fmt: skip
    # No passwords (hashing fifty would take longer than loading the leads): the bench signs in by session.
    users = get_user_model().objects
    users.create(username="mara").groups.add(Group.objects.get(name="marketing"))
    reps = [users.create(username="rick" if n == 0 else f"rep{n}", first_name=f"Rep {n}") for n in range(50)]
    sales = Group.objects.get(name="sales")
    for user in reps:
        user.groups.add(sales)
        Rep.objects.create(user=user, max_open_leads=10_000, max_new_per_day=10_000)
    accounts = [Account(name=f"Company {n}", domain=f"company{n}.example", industry="software", country="US")
                for n in range(20_000)]  # fmt: skip
    bulk_insert_rows(accounts)
    now = timezone.now()
    made = 0
    while made < n_leads:
        size = min(CHUNK, n_leads - made)
        leads = []
        for i in range(made, made + size):
            stage = rng.choice(STAGES)
            owned = stage in ("sal", "sql", "opportunity", "won", "lost") or (stage == "mql" and rng.random() < 0.7)
            company = rng.randrange(20_000)
            leads.append(Lead(
                first_name=rng.choice(FIRST), last_name=f"{rng.choice(LAST)}{i % 997}",
                email=f"person{i}@company{company}.example", company=f"Company {company}",
                company_domain=f"company{company}.example", title="VP Sales", seniority="vp", industry="software",
                country=rng.choice(["US", "GB", "DE", "FR", "CA"]), source=sources[i % 10],
                campaign=campaigns[i % 40] if i % 3 else None, account_id=accounts[company].pk,
                stage=stage, junk_reason="competitor" if stage == "junk" else "",
                pipeline_state="routed", score=rng.randrange(0, 101),
                owner=reps[rng.randrange(50)] if owned else None,
                sla_due_at=now + timedelta(hours=rng.randrange(-24, 48)) if owned else None,
                assigned_at=now - timedelta(hours=rng.randrange(1, 500)) if owned else None,
            ))  # fmt: skip
        bulk_insert_rows(leads)
        bulk_insert_rows([
            Activity(lead=lead, kind=kind, occurred_at=now - timedelta(days=rng.randrange(0, 200)), subject=kind)
            for lead in leads for kind in ("page_visit", "email_open")
        ])  # fmt: skip
        pairs = {(leads[j].pk, leads[j + 1].pk) for j in range(0, size - 1, 50)}
        bulk_insert_rows([DuplicateCandidate(lead_a_id=a, lead_b_id=b, score=0.8, reasons=["same company"])
                          for a, b in pairs])  # fmt: skip
        made += size
        print(f"  loaded {made:,} leads", flush=True)
    with connection.cursor() as cursor:
        # Spread the leads over a year, as a real inbox is, then let the planner see the data.
        cursor.execute(
            "UPDATE leads_lead SET created_at = now() - (id % 365) * interval '1 day'"
            " - (id % 86400) * interval '1 second'"
        )
        cursor.execute("ANALYZE")


def session_cookie(username: str) -> str:
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return f"sessionid={client.cookies['sessionid'].value}"


def token(username: str) -> str:
    from django.contrib.auth import get_user_model

    from leadflow.auth import token_issue

    return token_issue(user=get_user_model().objects.get(username=username)).key


def header_lua(header: str, value: str) -> str:
    return f'wrk.headers["{header}"] = "{value}"\n' + GET_LUA


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument("--reuse", action="store_true", help="Keep the database an earlier run loaded")
    args = parser.parse_args()
    wrk = ensure_wrk()

    setup_django(DB_NAME, fresh=not args.reuse)
    from django.core.management import call_command

    from leads.models import Lead

    if not Lead.objects.exists():
        started = time.perf_counter()
        load(args.leads)
        print(f"loaded {Lead.objects.count():,} leads in {time.perf_counter() - started:.0f} s")
    call_command("collectstatic", "--no-input", verbosity=0)
    lead = Lead.objects.filter(stage="mql").order_by("-id").only("pk").first()
    marketing, rep = session_cookie("mara"), session_cookie("rick")
    marketing_token, rep_token = token("mara"), token("rick")
    rick_id = Lead.objects.filter(owner__username="rick").values_list("owner_id", flat=True).first()

    page = "/leads/"
    urls = [
        ("GET /healthz (baseline)", "/healthz", "", ""),
        ("inbox", page, "Cookie", marketing),
        ("inbox ?stage=mql", page + "?stage=mql", "Cookie", marketing),
        ("inbox ?source=source-3", page + "?source=source-3", "Cookie", marketing),
        ("inbox ?campaign=campaign-7", page + "?campaign=campaign-7", "Cookie", marketing),
        ("inbox ?score_min=90", page + "?score_min=90", "Cookie", marketing),
        ("inbox ?owner=rick", page + f"?owner={rick_id}", "Cookie", marketing),
        ("inbox ?unowned=true", page + "?unowned=true", "Cookie", marketing),
        ("inbox ?created_after=30 days", page + "?created_after=" + _days_ago(30), "Cookie", marketing),
        ("inbox ?country=DE", page + "?country=DE", "Cookie", marketing),
        ("inbox search name", page + "?q=Tanaka", "Cookie", marketing),
        ("inbox search company", page + "?q=Company+123", "Cookie", marketing),
        ("inbox search e-mail prefix", page + "?q=person4242@", "Cookie", marketing),
        ("lead page", f"/leads/{lead.pk}/", "Cookie", marketing),
        ("rep queue page", "/queue/", "Cookie", rep),
        ("API /api/leads/", "/api/leads/?page_size=50", "Authorization", f"Token {marketing_token}"),
        ("API /api/queue/ (rep)", "/api/queue/", "Authorization", f"Token {rep_token}"),
        ("API review queue /api/duplicates/", "/api/duplicates/?status=open", "Authorization",
         f"Token {marketing_token}"),
    ]  # fmt: skip

    port = free_port()
    env = {**os.environ, "ALLOWED_HOSTS": "127.0.0.1,localhost", "SECURE_SSL_REDIRECT": "false",
           "SESSION_COOKIE_SECURE": "false", "CONN_MAX_AGE": "600"}  # fmt: skip
    log = open(ROOT / "test-artifacts" / "bench-scale-gunicorn.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "leadflow.wsgi", "-b", f"127.0.0.1:{port}",
         f"--workers={args.gunicorn_workers}", "--worker-class=sync", "--backlog=2048", "--log-level=warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    results = []
    try:
        _wait_for_port(port)
        base = f"http://127.0.0.1:{port}"
        run_wrk(wrk, base + "/healthz", GET_LUA, 2, args.connections)  # warm up
        for name, url, header, value in urls:
            script = header_lua(header, value) if header else GET_LUA
            _wait_until_idle(base)  # requests wrk gave up on may still hold the workers: let them finish
            run_wrk(wrk, base + url, script, 1, 2)  # warm the caches of every worker a little
            results.append((name, url, run_wrk(wrk, base + url, script, args.seconds, args.connections)))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
        log.close()

    baseline = results[0][2]["p95"]
    print(f"\n{Lead.objects.count():,} leads, {args.connections} connections, {args.gunicorn_workers} gunicorn "
          f"workers, {args.seconds} s per URL")  # fmt: skip
    print(f"{'what':38} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p95/healthz':>12} {'non-2xx':>8}")
    missed = []
    for index, (name, _url, result) in enumerate(results):
        rps = result["requests"] / (result["duration_us"] / 1e6)
        print(f"{name:38} {rps:8.0f} {result['p50']:8.1f} {result['p95']:8.1f} {result['p95'] / baseline:12.1f} "
              f"{int(result['non2xx'] + result['errors']):8d}")  # fmt: skip
        if index and (result["p95"] >= 150 or result["non2xx"] or result["errors"]):
            missed.append(name)
    print(f"target p95 < 150 ms with no errors: {'met' if not missed else 'MISSED by ' + ', '.join(missed)}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def _days_ago(days: int) -> str:
    from django.utils import timezone

    return (timezone.now() - timedelta(days=days)).date().isoformat()


def _wait_until_idle(base: str, *, timeout: float = 120.0) -> None:
    """Until ``/healthz`` answers within 100 ms three times in a row (or ``timeout`` passes)."""
    import urllib.request

    deadline, fast = time.monotonic() + timeout, 0
    while fast < 3 and time.monotonic() < deadline:
        started = time.perf_counter()
        with urllib.request.urlopen(base + "/healthz", timeout=30) as response:
            response.read()
        fast = fast + 1 if time.perf_counter() - started < 0.1 else 0
        time.sleep(0.2)


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                sys.exit("gunicorn did not start; see test-artifacts/bench-scale-gunicorn.log")
            time.sleep(0.2)


if __name__ == "__main__":
    main()
