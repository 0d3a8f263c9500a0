"""Shared set-up for the benchmarks: a fresh PostgreSQL database, Django on it, real Celery workers."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
BROKER_URL = os.environ.get("BENCH_CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")


def database_url(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def setup_django(db_name: str, *, fresh: bool = True) -> str:
    """Create (or recreate) database ``db_name``, point Django at it, migrate. Returns its URL."""
    import psycopg

    url = database_url(db_name)
    if fresh:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{db_name}"')
    os.environ.update(
        DATABASE_URL=url,
        CELERY_BROKER_URL=BROKER_URL,
        CELERY_TASK_ALWAYS_EAGER="false",
        CELERY_TASK_DEFAULT_QUEUE=f"bench-{db_name}",
        SECRET_KEY=os.environ.get("SECRET_KEY", "bench-only-secret-key-" + "x" * 40),
        DJANGO_SETTINGS_MODULE="leadflow.settings",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from leadflow.celery import app

    with app.connection_for_write() as conn:  # messages a previous run left for a database now gone
        conn.default_channel.queue_purge(f"bench-{db_name}")
    return url


@contextlib.contextmanager
def workers(db_name: str, *, processes: int = 2, env: dict[str, str] | None = None) -> Iterator[None]:
    """``processes`` Celery worker processes (prefork, concurrency 1 each) on the bench queue."""
    queue = f"bench-{db_name}"
    log_dir = ROOT / "test-artifacts"
    log_dir.mkdir(exist_ok=True)
    started = []
    for n in range(processes):
        log = open(log_dir / f"bench-{db_name}-worker{n}.log", "wb")  # noqa: SIM115 - closed below
        cmd = [sys.executable, "-m", "celery", "-A", "leadflow", "worker", "-Q", queue, "-n", f"{queue}-{n}@%h",
               "--concurrency=1", "--loglevel=WARNING", "--without-gossip", "--without-mingle",
               "--without-heartbeat"]  # fmt: skip
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env={**os.environ, "CONN_MAX_AGE": "600", **(env or {})}, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        started.append((proc, log))
    from leadflow.celery import app

    try:
        deadline = time.monotonic() + 60
        while len(app.control.ping(timeout=1.0)) < processes:
            if time.monotonic() > deadline:
                raise RuntimeError("Celery workers did not start; see test-artifacts/bench-*.log")
        yield
    finally:
        for proc, _log in started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc, log in started:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
            log.close()
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(queue)


def cpu_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine so far, from ``/proc/stat`` (Linux): two readings give
    how busy every core was in between, the bench's own processes and anything else alike."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def cpu_busy(before: tuple[int, int]) -> float:
    """The share of all cores' time that was busy since ``before`` (a ``cpu_jiffies()`` reading)."""
    busy, total = cpu_jiffies()
    return (busy - before[0]) / max(total - before[1], 1)


def copy_seconds(path: Path) -> float:
    """Seconds a plain PostgreSQL ``COPY`` of the CSV at ``path`` into an unlogged table of text columns takes:
    the baseline a bench's figure is put beside (measured in the same run, so the machine's load counts alike)."""
    from django.db import connection

    with path.open(encoding="utf-8") as handle:
        header = handle.readline().strip().split(",")
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_copy_baseline")
        cursor.execute("CREATE UNLOGGED TABLE bench_copy_baseline (" + ", ".join(f'"{h}" text' for h in header) + ")")
        start = time.perf_counter()
        with (
            path.open("rb") as handle,
            cursor.copy("COPY bench_copy_baseline FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
        ):
            while data := handle.read(1 << 20):
                copy.write(data)
        elapsed = time.perf_counter() - start
        cursor.execute("DROP TABLE bench_copy_baseline")
    return elapsed
