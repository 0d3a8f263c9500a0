"""Route 50,000 MQLs across 200 reps in 40 territories through real Celery workers on PostgreSQL.

    python bench/routing.py [--leads 50000] [--reps 200] [--territories 40] [--workers 2] [--batch 500]

Builds its own database: ``--territories`` territories (one country each, plus leads from
countries no territory covers), ``--reps`` reps seated in them with weights 1-3 and capacity for
most but not all of the leads (so some territories overflow), and a tenth of the leads on accounts
owned by a rep (some of whom are out of office, with a backup). Then sends the MQLs in batches of
``--batch`` to ``--workers`` worker processes (``routing.tasks.leads_route_batch_task``, each batch
sent twice, the second time in reverse order, so the same leads race) and prints:

1. elapsed seconds and leads/s until every MQL is owned or waiting in overflow;
2. the largest capacity overshoot over all reps (open unworked leads above ``max_open_leads``, and
   today's intake above ``max_new_per_day``): must be 0; and leads with more than one rep assignment: must be 0;
3. beside it, measured in the same run, a plain ``UPDATE`` setting owner and SLA on the same rows.

Target: at least 1,000 leads/s with 2 workers, overshoot 0.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import setup_django, workers

DB = "leadflow_bench_routing"
COUNTRIES = [
    "US", "CA", "MX", "BR", "AR", "CL", "CO", "PE", "GB", "IE", "FR", "DE", "NL", "BE", "LU", "CH", "AT", "IT",
    "ES", "PT", "DK", "SE", "NO", "FI", "PL", "CZ", "HU", "RO", "GR", "TR", "IL", "AE", "SA", "ZA", "NG", "KE",
    "IN", "SG", "JP", "AU", "NZ", "KR", "CN", "TW", "TH", "VN",
]  # fmt: skip


def make_data(*, leads: int, reps: int, territories: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from leadflow.db import bulk_insert_rows
    from leads.models import Account, Lead, Source
    from routing.models import Rep, Territory, TerritoryMembership

    rng = random.Random(7)
    now = timezone.now()
    user_model = get_user_model()
    covered = COUNTRIES[:territories]
    places = [*covered, *COUNTRIES[territories : territories + 3]]  # a few countries nobody covers
    areas = [
        Territory(name=f"Territory {code}", slug=f"t-{code.lower()}", countries=[code], priority=n, created_at=now,
                  updated_at=now)
        for n, code in enumerate(covered)
    ]  # fmt: skip
    bulk_insert_rows(areas)
    users = [user_model(username=f"rep{n}", first_name=f"Rep{n}", password="!", date_joined=now) for n in range(reps)]
    bulk_insert_rows(users)
    # Capacity for about 95% of the leads, spread unevenly, so the smaller territories overflow.
    per_rep = int(leads * 0.95 / reps)
    profiles = [
        Rep(user=user, max_open_leads=rng.randint(per_rep // 2, per_rep * 3 // 2), max_new_per_day=100_000,
            min_score=rng.choice([0, 0, 0, 70]), created_at=now, updated_at=now)
        for user in users
    ]  # fmt: skip
    bulk_insert_rows(profiles)
    for n, rep in enumerate(profiles[::10]):  # a tenth of the owners are away, with a backup
        if n % 2:
            rep.out_of_office_until = now + timedelta(days=2)
            rep.backup = profiles[(profiles.index(rep) + 1) % reps]
            rep.save(update_fields=["out_of_office_until", "backup"])
    bulk_insert_rows(
        [
            TerritoryMembership(territory=areas[n % territories], rep=rep, weight=1 + n % 3)
            for n, rep in enumerate(profiles)
        ]
    )
    source = Source.objects.create(name="Web", slug="web")
    accounts = [
        Account(name=f"Account {n}", domain=f"account{n}.example", owner=rng.choice(users), created_at=now,
                updated_at=now)
        for n in range(leads // 50)
    ]  # fmt: skip
    bulk_insert_rows(accounts)
    rows = [
        Lead(source=source, email=f"p{n}@firm{n}.example", country=rng.choice(places), stage="mql",
             pipeline_state="scored", score=rng.randint(60, 100), account=rng.choice(accounts) if n % 10 == 0 else None,
             created_at=now, updated_at=now)
        for n in range(leads)
    ]  # fmt: skip
    bulk_insert_rows(rows)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def update_baseline() -> float:
    """Seconds for a plain UPDATE giving every MQL an owner and an SLA, rolled back."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        start = time.perf_counter()
        cursor.execute(
            "UPDATE leads_lead SET owner_id = (SELECT min(id) FROM auth_user), assigned_at = now(), "
            "sla_due_at = now() + interval '24 hours' WHERE stage = 'mql'"
        )
        elapsed = time.perf_counter() - start
        transaction.set_rollback(True)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=50_000)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--territories", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()

    setup_django(DB)
    from django.db.models import Count

    from leads.models import Lead
    from routing.models import Assignment, OverflowEntry, Rep
    from routing.selectors import rep_load
    from routing.tasks import leads_route_batch_task

    start = time.perf_counter()
    make_data(leads=args.leads, reps=args.reps, territories=args.territories)
    print(f"data: {args.leads:,} MQLs, {args.reps} reps in {args.territories} territories, "
          f"made in {time.perf_counter() - start:.0f} s")  # fmt: skip
    baseline = update_baseline()

    ids = list(Lead.objects.order_by("pk").values_list("pk", flat=True))
    batches = [ids[n : n + args.batch] for n in range(0, len(ids), args.batch)]
    with workers(DB, processes=args.workers):
        start = time.perf_counter()
        for batch in batches + batches[::-1]:
            leads_route_batch_task.delay(batch)
        while Lead.objects.filter(owner__isnull=False).count() + OverflowEntry.objects.count() < len(ids):
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        time.sleep(1)  # let the repeated batches finish, then check they changed nothing

    reps = list(Rep.objects.all())
    load = rep_load(reps=reps)
    overshoot = max(
        max(load[rep.pk].open_leads - rep.max_open_leads, load[rep.pk].today - rep.max_new_per_day, 0) for rep in reps
    )
    twice = Assignment.objects.filter(rep__isnull=False).values("lead").annotate(n=Count("*")).filter(n__gt=1).count()
    both = OverflowEntry.objects.filter(lead__owner__isnull=False).count()
    rules = dict(Assignment.objects.values_list("rule").annotate(n=Count("*")).order_by("rule"))
    rate = len(ids) / elapsed
    print(f"routing, {args.workers} worker processes, batches of {args.batch} (each sent twice): {elapsed:.1f} s, "
          f"{rate:,.0f} leads/s; {rules}")  # fmt: skip
    print(f"largest capacity overshoot: {overshoot}; leads assigned twice: {twice}; owned and in overflow: {both}")
    print(f"plain UPDATE of owner and SLA on the same rows: {baseline:.2f} s, {len(ids) / baseline:,.0f} rows/s")
    met = rate >= 1000 and overshoot == 0 and twice == 0 and both == 0
    print(f"target >= 1,000 leads/s with overshoot 0: {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
