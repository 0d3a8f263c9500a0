"""Time every report figure, report API call and the whole dashboard on 1,000,000 leads in PostgreSQL.

    python bench/reports.py [--leads 1000000] [--opportunities 50000] [--keep] [--repeat 3]

Builds its own database (``--keep`` reuses the one a previous run made): ``--leads`` leads spread
over two years across 8 sources, 40 campaigns, 10 territories and 50 reps, in every stage
(new, junk, nurture, MQL, SAL, SQL, opportunity, won, lost) with the stage changes that got them
there (about 1.5 a lead), assignments and acceptances for the owned ones, rejections (3%), SLA
breaches (2%) and ``--opportunities`` opportunities (open, won, lost). Rows go in with ``COPY``
(``leadflow.db.bulk_insert_rows``) in chunks of 50,000 leads.

Then folds the reports' roll-up rows (``reports.services.rollups_compact``, as beat does) and prints,
each the median of ``--repeat`` runs and each beside a baseline measured in the same
run (``SELECT count(*) FROM leads_lead``, as a ratio):

1. each report's selector, for the dashboard's default range (the last 90 days), for all time, and
   for one campaign over all time;
2. each ``GET /api/reports/<name>/`` through Django's test client (its default, the last 90 days;
   all time; and one campaign over all time);
3. the whole dashboard page ``GET /reports/`` (default range; and filtered by one campaign).

Targets (issue 7): the dashboard page under 1 s, each report API call under 300 ms, on 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import setup_django

DB = "leadflow_bench_reports"
CHUNK = 50_000
DAYS = 730
SOURCES, CAMPAIGNS_PER_SOURCE, TERRITORIES, REPS_PER_TERRITORY = 8, 5, 10, 5

# Per 1,000 leads: the stage they end in, and the funnel path that took them there.
PATHS: list[tuple[int, tuple[str, ...]]] = [
    (100, ()),  # new
    (150, ("junk",)),
    (200, ("nurture",)),
    (200, ("mql",)),
    (130, ("mql", "sal")),
    (120, ("mql", "sal", "sql")),
    (20, ("mql", "sal", "sql", "opportunity")),
    (15, ("mql", "sal", "sql", "opportunity", "won")),
    (15, ("mql", "sal", "sql", "opportunity", "lost")),
    (50, ("mql", "sal", "lost")),
]
BUCKETS = [path for weight, path in PATHS for _ in range(weight)]


@contextlib.contextmanager
def keeping_timestamps() -> Iterator[None]:
    """Let the bench write past ``created_at``/``updated_at`` values (``auto_now*`` would overwrite them)."""
    from django.apps import apps

    fields = [
        field
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if getattr(field, "auto_now_add", False) or getattr(field, "auto_now", False)
    ]
    saved = [(field, field.auto_now, field.auto_now_add) for field in fields]
    for field in fields:
        field.auto_now = field.auto_now_add = False
    try:
        yield
    finally:
        for field, auto_now, auto_now_add in saved:
            field.auto_now, field.auto_now_add = auto_now, auto_now_add


def make_data(*, leads: int, opportunities: int) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.utils import timezone

    from leadflow.db import bulk_insert_rows
    from leads.models import Account, Campaign, Lead, Opportunity, Source, StageChange
    from routing.models import Assignment, Rejection, Rep, SlaBreach, Territory, TerritoryMembership

    rng = random.Random(7)
    now = timezone.now()
    start = now - datetime.timedelta(days=DAYS)
    users = get_user_model()
    marketer = users.objects.create_user("bench-marketer", password="bench-password")
    marketer.groups.add(Group.objects.get(name="marketing"))
    sources = [Source.objects.create(name=f"Source {n}", slug=f"source-{n}") for n in range(SOURCES)]
    campaigns = [
        Campaign.objects.create(
            source=source, name=f"Campaign {s}.{c}", slug=f"campaign-{s}-{c}", cost=Decimal(rng.randint(1, 200) * 500)
        )
        for s, source in enumerate(sources)
        for c in range(CAMPAIGNS_PER_SOURCE)
    ]
    territories = [Territory.objects.create(name=f"Territory {n}", slug=f"territory-{n}") for n in range(TERRITORIES)]
    reps: list[tuple[Rep, Territory]] = []
    for t, territory in enumerate(territories):
        for r in range(REPS_PER_TERRITORY):
            user = users.objects.create_user(f"rep{t}-{r}", first_name=f"Rep {t}.{r}", password="!")
            rep = Rep.objects.create(user=user, max_open_leads=5_000, max_new_per_day=500)
            TerritoryMembership.objects.create(territory=territory, rep=rep)
            reps.append((rep, territory))
    accounts = [Account(name=f"Account {n}", domain=f"account{n}.example") for n in range(10_000)]
    with keeping_timestamps():
        for account in accounts:
            account.created_at = account.updated_at = now
        bulk_insert_rows(accounts)

    opportunity_every = max(1, round(leads * 50 / 1000 / max(opportunities, 1)))  # 5% of leads reach one
    reasons = [value for value, _ in Rejection.Reason.choices]
    for first in range(0, leads, CHUNK):
        rows: list[Lead] = []
        paths: list[tuple[str, ...]] = []
        for n in range(first, min(first + CHUNK, leads)):
            path = BUCKETS[n % 1000]
            campaign = campaigns[rng.randrange(len(campaigns))] if n % 7 else None
            source = campaign.source if campaign else sources[rng.randrange(SOURCES)]
            created = start + datetime.timedelta(seconds=rng.uniform(0, DAYS * 86400))
            lead = Lead(
                email=f"p{n}@firm{n % 50_000}.example",
                first_name="Pat",
                last_name=f"Lead{n}",
                source=source,
                campaign=campaign,
                stage=path[-1] if path else "new",
                junk_reason="Competitor" if path == ("junk",) else "",
                pipeline_state="routed",
                score=rng.randint(0, 100),
                created_at=created,
                updated_at=created,
            )
            rows.append(lead)
            paths.append(path)
        changes: list[StageChange] = []
        assignments: list[Assignment] = []
        rejections: list[Rejection] = []
        breaches: list[SlaBreach] = []
        for lead, path in zip(rows, paths, strict=True):
            moment, before = lead.created_at, "new"
            for stage in path:
                moment += datetime.timedelta(hours=rng.expovariate(1 / 30))
                changes.append(StageChange(lead=lead, from_stage=before, to_stage=stage, created_at=moment))
                if stage == "mql" and (len(path) > 1 or rng.random() < 0.5):
                    rep, territory = reps[rng.randrange(len(reps))]
                    lead.owner_id, lead.assigned_at = rep.user_id, moment
                    lead.sla_due_at = moment + datetime.timedelta(hours=24)
                    assignments.append(Assignment(lead=lead, rep=rep, territory=territory, rule="territory_round_robin",
                                                  created_at=moment))  # fmt: skip
                    if rng.random() < 0.03:
                        other, _ = reps[rng.randrange(len(reps))]
                        rejections.append(Rejection(lead=lead, rep=other, source_id=lead.source_id,
                                                    reason=rng.choice(reasons), created_at=moment))  # fmt: skip
                    if rng.random() < 0.02:
                        breaches.append(SlaBreach(lead=lead, rep=rep, source_id=lead.source_id, territory=territory,
                                                  stage="mql", kind="accept", due_at=lead.sla_due_at,
                                                  breached_at=lead.sla_due_at, action="escalated"))  # fmt: skip
                if stage == "sal":
                    lead.accepted_at = moment
                if stage == "opportunity":
                    lead.converted_at = moment
                before = stage
            lead.stage_changed_at = moment if path else None
        with keeping_timestamps():
            bulk_insert_rows(rows)
            bulk_insert_rows(changes)
        bulk_insert_rows(assignments)
        bulk_insert_rows(rejections)
        bulk_insert_rows(breaches)
        deals = []
        for lead, path in zip(rows, paths, strict=True):
            if "opportunity" not in path or (lead.pk % opportunity_every):
                continue
            outcome = path[-1] if path[-1] in ("won", "lost") else "open"
            closed = lead.stage_changed_at.date() if outcome != "open" else None
            deals.append(Opportunity(lead=lead, account=accounts[lead.pk % len(accounts)], owner_id=lead.owner_id,
                                     source_id=lead.source_id, campaign_id=lead.campaign_id, name=f"Deal {lead.pk}",
                                     amount=Decimal(rng.randint(10, 1000) * 100), expected_close_on=now.date(),
                                     stage=outcome, closed_on=closed, created_at=lead.converted_at,
                                     updated_at=lead.converted_at))  # fmt: skip
        with keeping_timestamps():
            bulk_insert_rows(deals)
        print(f"  {min(first + CHUNK, leads):,} leads", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def timed(call: Callable[[], object], repeat: int) -> float:
    """Median seconds of ``repeat`` calls (after one warm-up call)."""
    call()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--opportunities", type=int, default=50_000)
    parser.add_argument("--keep", action="store_true", help="reuse the data of a previous run")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
    os.environ.setdefault("STATICFILES_MANIFEST", "false")

    setup_django(DB, fresh=not args.keep)
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.utils import timezone

    from leads.models import Campaign, Lead, Opportunity, StageChange
    from reports.catalog import REPORTS
    from reports.selectors import ReportFilter

    if not args.keep:
        began = time.perf_counter()
        make_data(leads=args.leads, opportunities=args.opportunities)
        print(f"data made in {time.perf_counter() - began:.0f} s")
    from reports.services import rollups_compact

    began = time.perf_counter()  # as beat does every few minutes: the roll-ups at one row per key
    print(f"roll-ups compacted: {rollups_compact():,} rows folded in {time.perf_counter() - began:.1f} s")
    with connection.cursor() as cursor:
        # A kept database may have been migrated (the reports migrations backfill LeadMilestone) or
        # updated since; autovacuum would mark the pages all-visible again for index-only scans (and
        # is off on the shared bench server): vacuum now, so every run measures the same steady state.
        cursor.execute("VACUUM ANALYZE")
    print(
        f"data: {Lead.objects.count():,} leads, {StageChange.objects.count():,} stage changes, "
        f"{Opportunity.objects.count():,} opportunities; load average {os.getloadavg()[0]:.2f}"
    )

    def count_leads() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM leads_lead")
            cursor.fetchone()

    baseline = timed(count_leads, args.repeat)
    print(f"baseline SELECT count(*) FROM leads_lead: {baseline * 1000:.0f} ms")

    def line(label: str, seconds: float, target: float | None = None) -> None:
        verdict = "" if target is None else ("  (target met)" if seconds < target else "  (target MISSED)")
        print(f"  {label:<44} {seconds * 1000:7.0f} ms  {seconds / baseline:5.1f}x baseline{verdict}")

    today = timezone.localdate()
    recent = {"date_from": today - datetime.timedelta(days=89), "date_to": today}
    campaign = Campaign.objects.order_by("pk").first()
    scopes = {
        "last 90 days": recent,
        "all time": {},
        f"all time, campaign {campaign.slug}": {"campaign": campaign},
    }
    for scope, filters in scopes.items():
        print(f"report selectors, {scope}:")
        # A fresh filter each call: a filter keeps the figures reports share (ReportFilter.memo).
        for report in REPORTS:
            line(report.name, timed(lambda report=report, kw=filters: report.rows(ReportFilter(**kw)), args.repeat))

        def every_report(kw: dict = filters) -> None:
            shared = ReportFilter(**kw)
            for report in REPORTS:
                report.rows(shared)

        line("all seven, as the dashboard asks", timed(every_report, args.repeat))

    setup_test_environment()
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench-marketer"))
    for scope, query in (
        ("default: last 90 days", {}),
        ("all time (date_from=2000-01-01)", {"date_from": "2000-01-01"}),
        (f"all time, campaign {campaign.slug}", {"date_from": "2000-01-01", "campaign": campaign.slug}),
    ):
        print(f"GET /api/reports/<name>/, {scope}:")
        for report in REPORTS:

            def call(name: str = report.name, query: dict = query) -> None:
                answer = client.get(f"/api/reports/{name}/", query)
                assert answer.status_code == 200, answer.content

            line(f"/api/reports/{report.name}/", timed(call, args.repeat), target=0.3)

    print("dashboard page GET /reports/:")
    pages = (("default (last 90 days)", {}), (f"campaign {campaign.slug}, 90 days", {"campaign": campaign.slug}))
    for label, query in pages:

        def page(query: dict = query) -> None:
            answer = client.get("/reports/", query)
            assert answer.status_code == 200, answer.content[:500]

        line(label, timed(page, args.repeat), target=1.0)
    print(f"load average after: {os.getloadavg()[0]:.2f} (2 cores)")


if __name__ == "__main__":
    main()
