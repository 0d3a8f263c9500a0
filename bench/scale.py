"""The pages and API calls people use most, at scale: alone, then under load on gunicorn and PostgreSQL.

    python bench/scale.py [--leads 1000000] [--reuse] [--modes single,closed,users] [--repeat 7]
        [--seconds 10] [--connections 20] [--users 20] [--user-seconds 120] [--think 1 3] [--gunicorn-workers 4]
        [--db leadflow_bench_scale]

Loads ``--leads`` leads (default 1,000,000) with two activities each, 50 reps, 10 sources with
campaigns, accounts and a review queue of duplicate pairs, with COPY (``leadflow.db.bulk_insert_rows``),
then measures the marketers' inbox (no filter, each filter, search by name, company and e-mail prefix),
a lead page, a rep's queue (page and API), the lead list API and the duplicate review queue API, in three
modes, each beside ``GET /healthz`` (one trivial query) measured the same way in the same run:

- ``single``: each URL alone through Django's test client in this process: best and median of ``--repeat``,
  its queries and their SQL time (what a request costs, without queueing).
- ``closed``: wrk with ``--connections`` connections and no think time, ``--seconds`` per URL: saturation
  (throughput, and the p95 of requests queueing for a worker).
- ``users``: ``--users`` Locust users (``bench/scale_locust.py``) who each open every URL in turn and wait
  ``--think`` seconds (uniform, default 1-3 s) after each answer, like people reading a page before the next
  click, for ``--user-seconds``: the "20 concurrent users" of issue #8.

Target: p95 under 150 ms for each; the verdict is printed per load mode. ``--reuse`` keeps the loaded
database of an earlier run (and applies new migrations to it); ``--db`` loads another database than
``leadflow_bench_scale`` (CI runs a small size in its own, ``tests/test_bench_scale.py``). The exit
status is 1 when any request failed or answered other than 2xx (a slow page is a figure, not a
failure). Needs ``wrk`` (installed when missing and running as root) and ``locust``
(requirements-dev.txt). Note the load average printed after each table.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
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

    from leadflow.db import bulk_insert_rows
    from leads.models import Account, Campaign, Lead, Source
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
    # Spread over a year, as a real inbox is, as the rows are written: an UPDATE afterwards rewrote every
    # row and every index (7 of the 23 minutes a million took) and left the table twice its size.
    created_at = Lead._meta.get_field("created_at")
    created_at.auto_now_add = False
    try:
        _load_leads(n_leads, rng, now, sources, campaigns, accounts, reps)
    finally:
        created_at.auto_now_add = True
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # the planner sees the data; index-only scans see all-visible pages


def _load_leads(n_leads: int, rng: random.Random, now: datetime, sources: list, campaigns: list, accounts: list,
                reps: list) -> None:  # fmt: skip
    from dedupe.models import DuplicateCandidate
    from leadflow.db import bulk_insert_rows
    from leads.models import Activity, Lead

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
                created_at=now - timedelta(days=i % 365, seconds=i % 86400),
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


def percentile(values: list[float], pct: float) -> float:
    """The ``pct`` percentile of ``values`` (nearest rank), as wrk and Locust report them."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))]


def measure_single(urls: list[tuple[str, str, str, str]], repeat: int) -> list[tuple[str, float, float, int, float]]:
    """Each URL alone through Django's test client, in this process: (name, best ms, median ms, queries, SQL ms).

    The best of ``repeat`` is what a request costs on an idle machine; the queries and their time come from
    one more request with the queries captured (capturing adds its own overhead, so it is not timed).
    """
    import statistics

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    rows = []
    for name, url, header, value in urls:
        extra = {"HTTP_" + header.upper().replace("-", "_"): value} if header else {}
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(url, **extra)
            times.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                sys.exit(f"{name}: {url} answered {response.status_code}")
        with CaptureQueriesContext(connection) as queries:
            client.get(url, **extra)
        sql_ms = sum(float(query["time"]) for query in queries.captured_queries) * 1000
        rows.append((name, min(times), statistics.median(times), len(queries), sql_ms))
    return rows


def run_users(base: str, urls: list[tuple[str, str, str, str]], args: argparse.Namespace) -> dict[str, dict]:
    """``args.users`` Locust users walking every URL with a think time between pages; exact times per URL."""
    import json
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        plan, out = Path(tmp) / "plan.json", Path(tmp) / "out.json"
        plan.write_text(json.dumps([{"name": n, "url": u, "header": h, "value": v} for n, u, h, v in urls]))
        env = {**os.environ, "SCALE_LOCUST_PLAN": str(plan), "SCALE_LOCUST_OUT": str(out),
               "SCALE_LOCUST_THINK": f"{args.think[0]},{args.think[1]}"}  # fmt: skip
        with open(ROOT / "test-artifacts" / "bench-scale-locust.log", "wb") as log:  # Locust's own summary
            subprocess.run(
                [sys.executable, "-m", "locust", "-f", str(Path(__file__).with_name("scale_locust.py")),
                 "--headless", "--host", base, "-u", str(args.users), "-r", str(args.users),
                 "-t", f"{args.user_seconds}s", "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0"],
                cwd=ROOT, env=env, check=True, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        data = json.loads(out.read_text())
    return {
        name: {"requests": len(data["times"].get(name, [])), "failures": data["failures"].get(name, 0),
               "p50": percentile(data["times"][name], 50) if data["times"].get(name) else float("nan"),
               "p95": percentile(data["times"][name], 95) if data["times"].get(name) else float("nan")}
        for name, *_rest in urls
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument(
        "--modes", default="single,closed,users",
        help="Comma-separated: single (each URL alone, test client), closed (wrk), users (Locust, think time)",
    )  # fmt: skip
    parser.add_argument("--repeat", type=int, default=7, help="single: requests per URL (the best is reported)")
    parser.add_argument("--seconds", type=int, default=10, help="closed: seconds of wrk per URL")
    parser.add_argument("--connections", type=int, default=20, help="closed: wrk connections (no think time)")
    parser.add_argument("--users", type=int, default=20, help="users: simulated people")
    parser.add_argument("--user-seconds", type=int, default=120, help="users: length of the mixed run")
    parser.add_argument(
        "--think", type=float, nargs=2, default=(1.0, 3.0), metavar=("MIN", "MAX"),
        help="users: seconds each person waits after an answer before the next page (uniform)",
    )  # fmt: skip
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument("--reuse", action="store_true", help="Keep the database an earlier run loaded")
    parser.add_argument("--db", default=DB_NAME, help=f"database to (re)create and load (default {DB_NAME})")
    args = parser.parse_args()
    modes = {mode.strip() for mode in args.modes.split(",") if mode.strip()}
    if not modes <= {"single", "closed", "users"}:
        parser.error(f"unknown mode(s): {', '.join(sorted(modes - {'single', 'closed', 'users'}))}")
    wrk = ensure_wrk() if "closed" in modes else ""
    # The same settings in this process (test client) and in gunicorn: no HTTPS redirect, plain-HTTP cookies.
    os.environ.update(ALLOWED_HOSTS="127.0.0.1,localhost,testserver", SECURE_SSL_REDIRECT="false",
                      SESSION_COOKIE_SECURE="false", CONN_MAX_AGE="600")  # fmt: skip

    setup_django(args.db, fresh=not args.reuse)
    from django.contrib.auth import get_user_model
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
    rick_id = get_user_model().objects.get(username="rick").pk

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
    count = Lead.objects.count()

    if "single" in modes:
        single = measure_single(urls, args.repeat)
        print(f"\n{count:,} leads, each URL alone (Django test client, best and median of {args.repeat})")
        print(f"{'what':38} {'best ms':>8} {'median':>8} {'queries':>8} {'SQL ms':>8}")
        for name, best, median, queries, sql_ms in single:
            print(f"{name:38} {best:8.1f} {median:8.1f} {queries:8d} {sql_ms:8.1f}")
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    if not modes & {"closed", "users"}:
        return

    port = free_port()
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    log = open(ROOT / "test-artifacts" / "bench-scale-gunicorn.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "leadflow.wsgi", "-b", f"127.0.0.1:{port}",
         f"--workers={args.gunicorn_workers}", "--worker-class=sync", "--backlog=2048", "--log-level=warning"],
        cwd=ROOT, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    closed, users, verdicts, errored = [], {}, [], []
    try:
        _wait_for_port(port)
        base = f"http://127.0.0.1:{port}"
        _warm(base, urls, times=args.gunicorn_workers * 2)
        if "closed" in modes:
            run_wrk(wrk, base + "/healthz", GET_LUA, 2, args.connections)  # warm up
            for name, url, header, value in urls:
                script = header_lua(header, value) if header else GET_LUA
                _wait_until_idle(base)  # requests wrk gave up on may still hold the workers: let them finish
                run_wrk(wrk, base + url, script, 1, 2)  # warm the caches of every worker a little
                closed.append((name, url, run_wrk(wrk, base + url, script, args.seconds, args.connections)))
            closed_load = os.getloadavg()
        if "users" in modes:
            _wait_until_idle(base)
            users = run_users(base, urls, args)
            users_load = os.getloadavg()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
        log.close()

    if closed:
        baseline = closed[0][2]["p95"]
        print(f"\nclosed loop (saturation): {count:,} leads, wrk with {args.connections} connections and no think "
              f"time, {args.gunicorn_workers} gunicorn workers, {args.seconds} s per URL")  # fmt: skip
        print(f"{'what':38} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p95/healthz':>12} {'non-2xx':>8}")
        missed = []
        for index, (name, _url, result) in enumerate(closed):
            rps = result["requests"] / (result["duration_us"] / 1e6)
            print(f"{name:38} {rps:8.0f} {result['p50']:8.1f} {result['p95']:8.1f} "
                  f"{result['p95'] / baseline:12.1f} {int(result['non2xx'] + result['errors']):8d}")  # fmt: skip
            if index and (result["p95"] >= 150 or result["non2xx"] or result["errors"]):
                missed.append(name)
            if result["non2xx"] or result["errors"]:
                errored.append(f"{name} (closed loop)")
        print(f"load average at the end: {' '.join(f'{x:.2f}' for x in closed_load)}")
        verdicts.append(("closed loop (wrk, no think time)", missed))
    if users:
        baseline = users[urls[0][0]]["p95"]
        print(f"\n{args.users} users (Locust, {args.think[0]:g}-{args.think[1]:g} s think time after each page, "
              f"every URL in turn): {count:,} leads, {args.gunicorn_workers} gunicorn workers, "
              f"{args.user_seconds} s")  # fmt: skip
        print(f"{'what':38} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'p95/healthz':>12} {'failed':>8}")
        missed = []
        for index, (name, *_rest) in enumerate(urls):
            result = users[name]
            print(f"{name:38} {result['requests']:8d} {result['p50']:8.1f} {result['p95']:8.1f} "
                  f"{result['p95'] / baseline:12.1f} {result['failures']:8d}")  # fmt: skip
            if index and not (result["p95"] < 150 and result["failures"] == 0):
                missed.append(name)
            if result["failures"]:
                errored.append(f"{name} (users)")
        print(f"load average at the end: {' '.join(f'{x:.2f}' for x in users_load)}")
        verdicts.append((f"{args.users} users with think time (Locust)", missed))
    for mode, missed in verdicts:
        verdict = "met" if not missed else "MISSED by " + ", ".join(missed)
        print(f"target p95 < 150 ms with no errors, {mode}: {verdict}")
    if errored:  # a slow page is a figure to read; a failed request is a bug (the exit status tells CI)
        sys.exit("requests failed or answered non-2xx: " + ", ".join(errored))


def _days_ago(days: int) -> str:
    from django.utils import timezone

    return (timezone.now() - timedelta(days=days)).date().isoformat()


def _warm(base: str, urls: list[tuple[str, str, str, str]], *, times: int) -> None:
    """Ask for every URL ``times`` times, so each worker has compiled its templates before anything is timed."""
    import urllib.request

    for _name, url, header, value in urls:
        for _ in range(times):
            request = urllib.request.Request(base + url, headers={header: value} if header else {})
            with urllib.request.urlopen(request, timeout=60) as response:
                response.read()


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
