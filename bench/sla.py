"""The SLA sweep on a bad morning: 20,000 leads lapsed at once, reassigned or escalated, on PostgreSQL.

    python bench/sla.py [--leads 20000] [--reps 200] [--territories 40] [--batch 200]

Builds its own database with ``bench/routing.py``'s data (territories, weighted reps with capacity for
most of the leads, account owners, some out of office), routes every MQL, gives the reps a fifth more
room, then lets every assigned lead's accept SLA lapse and runs ``routing.services.sla_sweep`` once
(in this process, batches of ``--batch`` leads, one transaction each). Prints:

1. seconds and lapsed leads/s, with how many were reassigned and escalated;
2. checks: one ``SlaBreach`` per lapsed lead, no rep past capacity, nobody given back a lead they let lapse;
3. beside it, measured in the same run, a plain ``UPDATE`` stopping the clock on the same rows.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import setup_django

DB = "leadflow_bench_sla"


def routing_bench_data():
    """``make_data`` of ``bench/routing.py`` (loaded by path: ``routing`` is also the Django app's name)."""
    spec = importlib.util.spec_from_file_location("bench_routing", Path(__file__).with_name("routing.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_data


def stop_clock_baseline() -> float:
    """Seconds for a plain UPDATE clearing the SLA of every lapsed lead, rolled back."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        start = time.perf_counter()
        cursor.execute("UPDATE leads_lead SET sla_due_at = NULL, updated_at = now() WHERE sla_due_at < now()")
        elapsed = time.perf_counter() - start
        transaction.set_rollback(True)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--territories", type=int, default=40)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()

    setup_django(DB)
    from django.db.models import Count, F
    from django.utils import timezone

    from leads.models import Lead
    from routing.models import Rep, SlaBreach
    from routing.selectors import rep_load
    from routing.services import leads_route_batch, sla_sweep

    start = time.perf_counter()
    routing_bench_data()(leads=args.leads, reps=args.reps, territories=args.territories)
    ids = list(Lead.objects.order_by("pk").values_list("pk", flat=True))
    for n in range(0, len(ids), 1000):
        leads_route_batch(lead_ids=ids[n : n + 1000])
    Rep.objects.update(max_open_leads=F("max_open_leads") * 6 / 5)
    now = timezone.now()
    lapsed = Lead.objects.filter(owner__isnull=False).update(sla_due_at=now - timedelta(minutes=1))
    made = time.perf_counter() - start
    print(f"data: {lapsed:,} lapsed leads of {len(ids):,} MQLs, {args.reps} reps, made in {made:.0f} s")
    baseline = stop_clock_baseline()

    start = time.perf_counter()
    result = sla_sweep(now=now, batch_size=args.batch)
    elapsed = time.perf_counter() - start

    reps = list(Rep.objects.all())
    load = rep_load(reps=reps, now=now)
    overshoot = max(max(load[rep.pk].open_leads - rep.max_open_leads, 0) for rep in reps)
    breaches = SlaBreach.objects.count()
    back_to_lapser = SlaBreach.objects.filter(reassigned_to=F("rep")).count()
    actions = dict(SlaBreach.objects.values_list("action").annotate(n=Count("*")).order_by("action"))
    print(f"SLA sweep, one process, batches of {args.batch}: {elapsed:.1f} s, {lapsed / elapsed:,.0f} lapsed leads/s; "
          f"reassigned {len(result.reassigned):,}, escalated {len(result.escalated):,}; {actions}")  # fmt: skip
    print(f"breaches recorded: {breaches:,} (expected {lapsed:,}); largest capacity overshoot: {overshoot}; "
          f"given back to the rep who let it lapse: {back_to_lapser}")  # fmt: skip
    print(f"plain UPDATE stopping the clock on the same rows: {baseline:.2f} s, {lapsed / baseline:,.0f} rows/s "
          f"(sweep/plain: {elapsed / baseline:.0f}x)")  # fmt: skip
    ok = breaches == lapsed and overshoot == 0 and back_to_lapser == 0
    print(f"checks: {'ok' if ok else 'FAILED'}")


if __name__ == "__main__":
    main()
