"""Score 100,000 leads with 20 rules and their activities: the engine alone, then the full rescore job.

    python bench/scoring.py [--leads 100000] [--workers 2] [--chunk 1000]

Builds its own database with ``--leads`` open leads (realistic fields, half linked to an account,
about 3 activities each) and a published definition of 20 rules (13 fit, 7 engagement), then prints:

1. the pure engine's leads/s, scoring facts already in memory (no database);
2. the full rescore job (``scoring.rescore``) through ``--workers`` real Celery worker processes on
   PostgreSQL and Redis: locking, reading leads and activities, scoring, writing score and breakdown
   back, the stage rules and their history; elapsed seconds and leads/s;
3. beside it, measured in the same run, a plain ``UPDATE leads_lead SET score = score + 0`` over the
   same rows (the floor for rewriting them at all), and the ratio.

Target: the full rescore of 100,000 leads under 30 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import setup_django, workers

DB = "leadflow_bench_scoring"
FIRST = ["Ann", "Bob", "Carla", "Dmitri", "Eve", "Fatima", "George", "Hana", "Ivan", "Julia", "Kofi", "Lena"]
LAST = ["Smith", "O'Neil", "García", "Müller", "Nguyen", "Kowalski", "Rossi", "Tanaka", "Dubois", "Okafor"]
TITLES = [("VP Sales", "vp", "sales"), ("Chief Marketing Officer", "c_level", "marketing"),
          ("Director of IT", "director", "it"), ("Software Engineer", "individual", "engineering"),
          ("Marketing Manager", "manager", "marketing"), ("Head of Operations", "vp", "operations"),
          ("CFO", "c_level", "finance"), ("Account Executive", "individual", "sales"),
          ("Data Analyst", "individual", ""), ("Product Manager", "manager", "product")]  # fmt: skip
INDUSTRIES = ["software", "fintech", "manufacturing", "retail", "healthcare", "logistics", "media", ""]
PLACES = [("US", "CA", "94107"), ("US", "NY", "10001"), ("US", "TX", "73301"), ("GB", "", "SW1A 1AA"), ("", "", ""),
          ("DE", "BY", "80331"), ("FR", "", "75001"), ("NL", "", "1012"), ("BR", "SP", "01000")]  # fmt: skip
EMPLOYEES = [None, 5, 12, 50, 180, 250, 800, 1500, 12000]
SOURCES = ["web-form", "webinar", "trade-show", "partner", "list-import"]
#: (stage, share of leads): every one open, so the job rescores them all.
STAGES = [("new", 55), ("nurture", 25), ("mql", 10), ("sal", 5), ("sql", 3), ("opportunity", 2)]
ACTIVITY_KINDS = ["page_visit", "page_visit", "email_open", "email_open", "email_click", "pricing_visit",
                  "webinar", "content_download", "form_fill", "note"]  # fmt: skip


def fit(rule_id: str, field: str, op: str, value: object, points: int) -> dict[str, object]:
    return {"id": rule_id, "label": rule_id.replace("_", " ").capitalize(), "field": field, "op": op,
            "value": value, "points": points}  # fmt: skip


def engagement(rule_id: str, activity: str, points: int, half_life: float, max_count: int) -> dict[str, object]:
    return {"id": rule_id, "activity": activity, "label": rule_id.replace("_", " ").capitalize(), "points": points,
            "half_life_days": half_life, "max_count": max_count}  # fmt: skip


RULES = {
    "fit": [
        fit("senior", "seniority", "in", ["vp", "c_level"], 20),
        fit("director", "seniority", "eq", "director", 10),
        fit("manager", "seniority", "eq", "manager", 5),
        fit("technical_buyer", "job_function", "in", ["it", "engineering"], 10),
        fit("target_industry", "industry", "in", ["software", "fintech", "manufacturing"], 15),
        fit("midmarket", "employees", "gte", 200, 15),
        fit("enterprise", "employees", "gte", 1000, 10),
        fit("tiny", "employees", "lte", 10, -10),
        fit("core_market", "country", "in", ["US", "CA", "GB", "DE", "FR", "NL"], 10),
        fit("business_email", "email_is_business", "eq", True, 10),
        fit("from_webinar", "source", "eq", "webinar", 5),
        fit("account_in_target", "account_industry", "in", ["software", "fintech"], 5),
        fit("head_of", "title", "contains", ["head of", "chief"], 5),
    ],
    "engagement": [
        engagement("pricing", "pricing_visit", 20, 14, 2),
        engagement("webinar", "webinar", 15, 30, 2),
        engagement("form", "form_fill", 10, 30, 2),
        engagement("download", "content_download", 8, 21, 3),
        engagement("click", "email_click", 3, 7, 5),
        engagement("open", "email_open", 1, 7, 5),
        engagement("visit", "page_visit", 2, 10, 5),
    ],
    "thresholds": {"mql": 60},
}


def make_data(count: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from leadflow.db import bulk_insert_rows
    from leads.models import Account, Activity, Lead, LeadDefinition, Source

    rng = random.Random(11)
    now = timezone.now()
    LeadDefinition.objects.create(version=1, status="published", published_at=now, rules={"fit": []})
    sources = [Source(name=slug.replace("-", " ").title(), slug=slug) for slug in SOURCES]
    bulk_insert_rows(sources)
    accounts = [
        Account(name=f"Company {n}", domain=f"company{n}.com", industry=rng.choice(INDUSTRIES),
                employees=rng.choice(EMPLOYEES), country=rng.choice(PLACES)[0])
        for n in range(count // 20)
    ]  # fmt: skip
    bulk_insert_rows(accounts)
    stages = [stage for stage, share in STAGES for _ in range(share)]
    leads = []
    for n in range(count):
        title, seniority, function = rng.choice(TITLES)
        country, state, postal = rng.choice(PLACES)
        account = rng.choice(accounts) if n % 2 else None
        domain = account.domain if account else f"firm{n % 5000}.com"
        leads.append(
            Lead(
                first_name=rng.choice(FIRST), last_name=rng.choice(LAST),
                email=f"person{n}@{domain if n % 7 else 'gmail.com'}", company=account.name if account else "Firm",
                company_domain=domain, title=title, seniority=seniority, job_function=function,
                industry=rng.choice(INDUSTRIES), employees=rng.choice(EMPLOYEES), country=country, state=state,
                postal_code=postal, source=rng.choice(sources), account=account, stage=rng.choice(stages),
                pipeline_state=Lead.PipelineState.ROUTED, created_at=now, updated_at=now,
            )
        )  # fmt: skip
    bulk_insert_rows(leads)
    activities = [
        Activity(lead=lead, kind=rng.choice(ACTIVITY_KINDS), subject="Bench activity",
                 occurred_at=now - timedelta(days=rng.uniform(0, 90)), created_at=now, updated_at=now)
        for lead in leads
        for _ in range(rng.randint(1, 5))
    ]  # fmt: skip
    bulk_insert_rows(activities)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE leads_lead")
        cursor.execute("VACUUM ANALYZE leads_activity")


def engine_rate() -> tuple[float, float, int]:
    """(leads/s scoring, leads/s scoring with the breakdown as stored, leads scored), facts in memory."""
    from django.utils import timezone

    from leads.models import Lead
    from scoring.engine import score_lead
    from scoring.rescore import CHUNK_LEAD_FIELDS
    from scoring.services import lead_facts_bulk

    facts = []
    leads = Lead.objects.select_related("source", "account").only(*CHUNK_LEAD_FIELDS).order_by("pk")
    after = 0
    while chunk := list(leads.filter(pk__gt=after)[:5000]):
        by_id = lead_facts_bulk(leads=chunk)
        facts += [by_id[lead.pk] for lead in chunk]
        after = chunk[-1].pk
    now = timezone.now()
    start = time.perf_counter()
    for lead_facts in facts:
        score_lead(lead_facts, RULES, now)
    scoring = time.perf_counter() - start
    start = time.perf_counter()
    for lead_facts in facts:
        score_lead(lead_facts, RULES, now).breakdown()
    with_breakdown = time.perf_counter() - start
    return len(facts) / scoring, len(facts) / with_breakdown, len(facts)


def update_baseline() -> tuple[float, int]:
    """Seconds for a plain UPDATE rewriting every lead row once, and the rows it touched."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        start = time.perf_counter()
        cursor.execute("UPDATE leads_lead SET score = score + 0")
        rows = cursor.rowcount
    elapsed = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE leads_lead")
    return elapsed, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=1000, help="leads per chunk task (RESCORE_CHUNK_SIZE)")
    args = parser.parse_args()

    os.environ["RESCORE_CHUNK_SIZE"] = str(args.chunk)
    setup_django(DB)
    from django.conf import settings
    from django.db.models import Count
    from django.utils import timezone

    from leads.models import Activity, Lead, LeadDefinition, RescoreJob
    from scoring.rescore import rescore_job_start

    settings.RESCORE_CHUNK_SIZE = args.chunk
    start = time.perf_counter()
    make_data(args.leads)
    activities = Activity.objects.count()
    print(f"data: {args.leads:,} open leads, {activities:,} activities, made in {time.perf_counter() - start:.0f} s; "
          f"{len(RULES['fit']) + len(RULES['engagement'])} rules")  # fmt: skip

    per_s, with_breakdown_s, scored = engine_rate()
    print(f"engine alone (facts in memory, one process): {per_s:,.0f} leads/s; "
          f"{with_breakdown_s:,.0f} leads/s with the breakdown as stored ({scored:,} leads)")  # fmt: skip

    baseline_s, baseline_rows = update_baseline()
    baseline_rate = baseline_rows / baseline_s

    LeadDefinition.objects.filter(status="published").update(status="retired", retired_at=timezone.now())
    definition = LeadDefinition.objects.create(version=2, status="published", published_at=timezone.now(), rules=RULES)
    with workers(DB, processes=args.workers, env={"RESCORE_CHUNK_SIZE": str(args.chunk)}):
        start = time.perf_counter()
        job = rescore_job_start(definition=definition, reason=RescoreJob.Reason.PUBLISH)
        while True:
            job.refresh_from_db()
            if job.status in (RescoreJob.Status.DONE, RescoreJob.Status.FAILED):
                break
            time.sleep(0.1)
        elapsed = time.perf_counter() - start

    assert job.status == RescoreJob.Status.DONE, job.error
    assert not Lead.objects.exclude(definition=definition).exists(), "some open leads were not rescored"
    stages = dict(Lead.objects.values_list("stage").annotate(n=Count("id")).order_by("stage"))
    rate = job.leads_done / elapsed
    print(f"full rescore job, {args.workers} worker processes, chunks of {args.chunk:,}: {elapsed:.1f} s, "
          f"{rate:,.0f} leads/s ({job.leads_done:,} leads; {job.became_mql:,} became MQL, "
          f"{job.fell_below_mql:,} fell below; stages now {stages})")  # fmt: skip
    print(f"plain UPDATE leads_lead SET score = score + 0: {baseline_s:.1f} s, {baseline_rate:,.0f} rows/s")
    print(f"rescore rate / plain UPDATE rate: {rate / baseline_rate:.2f} "
          f"(the job takes {elapsed / baseline_s:.1f}x the plain UPDATE's time)")  # fmt: skip
    print(f"target under 30 s: {'met' if elapsed < 30 else 'MISSED'}")


if __name__ == "__main__":
    main()
