"""Import a 100,000-row CSV end to end through real Celery workers on PostgreSQL and Redis.

    python bench/intake.py [--rows 100000] [--workers 2] [--skewed]

The people have Faker names and postal codes (``--skewed``: 12 first and 10 last names and 4 postal
codes, as before, whose name keys are far more common than real ones: matching must skip them).

Prints the import's rows/s beside the rate of a plain PostgreSQL ``COPY`` of the same file into an
unindexed table measured in the same run (the floor no import can beat), and their ratio.
Target: the whole import, normalization and screening included, under 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import setup_django, workers

HEADER = ["external_id", "first_name", "last_name", "email", "phone", "company", "website", "title", "industry",
          "employees", "street", "city", "state", "postal_code", "country"]  # fmt: skip
FIRST = ["ann", "BOB", "Carla", "dmitri", "Eve", "Fatima", "george", "Hana", "Ivan", "JULIA", "Kofi", "Lena"]
LAST = ["smith", "O'NEIL", "García", "Müller", "Nguyen", "Kowalski", "Rossi", "Tanaka", "Dubois", "Okafor"]
TITLES = ["VP Sales", "Chief Marketing Officer", "Director of IT", "Software Engineer", "Marketing Manager",
          "Head of Operations", "Student", "CFO", "Account Executive", "Data Analyst"]  # fmt: skip
INDUSTRIES = ["Software", "fintech", "Manufacturing", "Government", "Retail", "Healthcare", "Education"]
COUNTRIES = [("US", "CA", "94107", "+1 415 555 {:04d}"), ("GB", "", "SW1A 1AA", "+44 20 7946 {:04d}"),
             ("DE", "BY", "80331", "+49 89 1234{:04d}"), ("France", "", "75001", "+33 1 42 68 {:04d}")]  # fmt: skip


def make_csv(path: Path, rows: int, *, skewed: bool = False) -> None:
    from faker import Faker

    rng = random.Random(7)
    fake = Faker("en_US")
    fake.seed_instance(7)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n in range(rows):
            company = f"Company {rng.randrange(rows // 10 or 1)}"
            domain = company.lower().replace(" ", "") + ".com"
            country, state, postal, phone = rng.choice(COUNTRIES)
            if skewed:
                first, last = rng.choice(FIRST), rng.choice(LAST)
            else:
                first, last = fake.first_name(), fake.last_name()
                postal = f"{postal[:2]}{rng.randrange(1000):03d}" if postal[0].isdigit() else fake.bothify("??# #??")
            email = f"{first.lower()}.{last.lower()}{n}@{rng.choice([domain] * 8 + ['gmail.com', 'mailinator.com'])}"
            writer.writerow([f"row-{n}", first, last, email if n % 50 else "not-an-email", phone.format(n % 10000),
                             company.upper() if n % 3 == 0 else company, f"https://www.{domain}", rng.choice(TITLES),
                             rng.choice(INDUSTRIES), rng.choice(["12", "250", "1,200", "51-200", "5000+"]),
                             f"{n % 999} Main St", "  springfield ", state, postal, country])  # fmt: skip


def copy_rate(path: Path) -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_copy")
        cursor.execute("CREATE UNLOGGED TABLE bench_copy (" + ", ".join(f"{h} text" for h in HEADER) + ")")
        start = time.perf_counter()
        with (
            path.open("rb") as handle,
            cursor.copy("COPY bench_copy FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
        ):
            while data := handle.read(1 << 20):
                copy.write(data)
        elapsed = time.perf_counter() - start
        cursor.execute("SELECT count(*) FROM bench_copy")
        count = cursor.fetchone()[0]
        cursor.execute("DROP TABLE bench_copy")
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skewed", action="store_true", help="the old few names and postal codes")
    args = parser.parse_args()

    setup_django("leadflow_bench_intake")
    from django.core.files import File
    from django.db.models import Count
    from django.utils import timezone

    from leads.imports import import_job_create
    from leads.models import ImportJob, Lead, LeadDefinition, Source
    from scoring.defaults import DEFAULT_RULES

    LeadDefinition.objects.create(version=1, status="published", published_at=timezone.now(), rules=DEFAULT_RULES)
    source = Source.objects.create(name="Bench list", slug="bench-list", kind=Source.Kind.LIST_IMPORT)
    path = Path("test-artifacts") / f"bench-intake-{args.rows}{'-skewed' if args.skewed else ''}.csv"
    path.parent.mkdir(exist_ok=True)
    make_csv(path, args.rows, skewed=args.skewed)
    size_mb = path.stat().st_size / 1e6
    copy_rows_s = copy_rate(path)

    with workers("leadflow_bench_intake", processes=args.workers):
        start = time.perf_counter()
        with path.open("rb") as handle:
            job = import_job_create(source=source, upload=File(handle, name=path.name))
        while True:
            job.refresh_from_db()
            if job.is_finished:
                break
            time.sleep(0.25)
        elapsed = time.perf_counter() - start

    stages = dict(Lead.objects.filter(import_job=job).values_list("stage").annotate(n=Count("id")))
    assert job.status == ImportJob.Status.DONE, job.error
    rows_s = job.rows_read / elapsed
    print(f"file: {args.rows:,} rows, {size_mb:.1f} MB ({'skewed' if args.skewed else 'Faker'} names); "
          f"{args.workers} worker processes")  # fmt: skip
    print(f"import end to end: {elapsed:.1f} s, {rows_s:,.0f} rows/s "
          f"(imported {job.rows_imported:,}, rejected {job.rows_rejected:,}, merged {job.rows_merged:,}; "
          f"stages {stages})")  # fmt: skip
    print(f"plain PostgreSQL COPY of the same file: {copy_rows_s:,.0f} rows/s")
    print(f"import rate / COPY rate: {rows_s / copy_rows_s:.3f} (COPY is {copy_rows_s / rows_s:.0f}x faster)")
    print(f"target under 60 s: {'met' if elapsed < 60 else 'MISSED'}")


if __name__ == "__main__":
    main()
