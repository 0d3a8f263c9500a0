"""Start and stop a real Celery worker process for the tests that need one."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection

from leadflow.celery import app

ROOT = Path(__file__).resolve().parent.parent
BROKER_URL = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")


@dataclass
class CeleryWorker:
    process: subprocess.Popen
    broker_url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise RuntimeError("A real Celery worker test needs PostgreSQL: set DATABASE_URL=postgres://...")
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


@contextlib.contextmanager
def celery_worker_running(concurrency: int = 2, timeout: float = 30.0) -> Iterator[CeleryWorker]:
    """Run ``celery worker`` against the test database and a Redis broker; send tasks to it meanwhile."""
    log_path = ROOT / "test-artifacts" / f"celery-worker-{os.getpid()}.log"
    log_path.parent.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CONN_MAX_AGE": "0",
    }
    queue = f"test-{os.getpid()}-{time.monotonic_ns()}"
    cmd = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "leadflow",
        "worker",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        f"--concurrency={concurrency}",
        "-Q",
        queue,
        "-n",
        f"{queue}@%h",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    previous = {
        "broker_url": app.conf.broker_url,
        "task_always_eager": app.conf.task_always_eager,
        "task_default_queue": app.conf.task_default_queue,
    }
    app.conf.update(broker_url=BROKER_URL, task_always_eager=False, task_default_queue=queue)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    _reset_connections()
    try:
        worker = CeleryWorker(process, BROKER_URL, log_path)
        _wait_until_ready(worker, queue, timeout)
        yield worker
    finally:
        app.conf.update(**previous)
        settings.CELERY_TASK_ALWAYS_EAGER = previous["task_always_eager"]
        _reset_connections()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _reset_connections() -> None:
    """Drop cached broker connections so the next send uses the broker URL now configured."""
    app._pool = None
    app.amqp._producer_pool = None


def _wait_until_ready(worker: CeleryWorker, queue: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            raise RuntimeError(f"Celery worker exited with {worker.process.returncode}:\n{worker.log()}")
        if app.control.ping(destination=[f"{queue}@{os.uname().nodename}"], timeout=1.0):
            return
    raise RuntimeError(f"Celery worker did not answer within {timeout:.0f}s:\n{worker.log()}")
