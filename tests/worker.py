"""Start and stop real Celery worker processes for the tests that need one."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
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
    queue: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once, as a crashed machine would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def new_queue() -> str:
    return f"test-{os.getpid()}-{time.monotonic_ns()}"


def database_url(*, port: int | None = None) -> str:
    """The test database's URL, optionally through another port (a fault test's proxy)."""
    return _database_url(port=port)


def _database_url(*, port: int | None = None) -> str:
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise RuntimeError("A real Celery worker test needs PostgreSQL: set DATABASE_URL=postgres://...")
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{port or db.get('PORT') or 5432}/{db['NAME']}"


@contextlib.contextmanager
def celery_worker_running(
    *,
    queue: str | None = None,
    concurrency: int = 2,
    beat: bool = False,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    broker_url: str = BROKER_URL,
    database_url: str | None = None,
) -> Iterator[CeleryWorker]:
    """Run ``celery worker`` on the test database and a Redis broker; tasks sent meanwhile go to it.

    Every task the worker sends on (chains, beat) stays on the test's own ``queue``. Fault tests
    pass their own ``broker_url`` (a private Redis they restart) and ``database_url`` (through a
    proxy they cut).
    """
    queue = queue or new_queue()
    log_path = ROOT / "test-artifacts" / f"celery-{queue}-{time.monotonic_ns()}.log"
    log_path.parent.mkdir(exist_ok=True)
    worker_env = {
        **os.environ,
        "DATABASE_URL": database_url or _database_url(),
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "CONN_MAX_AGE": "0",
        **(env or {}),
    }
    cmd = [
        sys.executable, "-m", "celery", "-A", "leadflow", "worker", "--loglevel=INFO", "--without-gossip",
        "--without-mingle", "--without-heartbeat", f"--concurrency={concurrency}", "-Q", queue,
        "-n", f"{queue}-{time.monotonic_ns()}@%h",
    ]  # fmt: skip
    if beat:
        cmd += ["-B", "--schedule", str(log_path.with_suffix(".beat"))]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            cmd, cwd=ROOT, env=worker_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    worker = CeleryWorker(process, queue, log_path)
    try:
        with tasks_sent_to(queue=queue, broker_url=broker_url):
            _wait_until_ready(worker, timeout)
            yield worker
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()


@contextlib.contextmanager
def tasks_sent_to(*, queue: str, broker_url: str = BROKER_URL) -> Iterator[None]:
    """Tasks sent meanwhile go to ``queue`` on ``broker_url`` instead of running in-process."""
    previous = {
        "broker_url": app.conf.broker_url,
        "task_always_eager": app.conf.task_always_eager,
        "task_default_queue": app.conf.task_default_queue,
    }
    app.conf.update(broker_url=broker_url, task_always_eager=False, task_default_queue=queue)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    _reset_connections()
    try:
        yield
    finally:
        app.conf.update(**previous)
        settings.CELERY_TASK_ALWAYS_EAGER = previous["task_always_eager"]
        _reset_connections()


def purge_queue(queue: str, broker_url: str = BROKER_URL) -> None:
    """Drop what is left on a test queue, so no later worker picks it up."""
    with app.connection_for_write(broker_url) as conn:
        conn.default_channel.queue_purge(queue)


def _reset_connections() -> None:
    """Drop cached broker connections so the next send uses the broker URL now configured."""
    app._pool = None
    app.amqp._producer_pool = None


def _wait_until_ready(worker: CeleryWorker, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            raise RuntimeError(f"Celery worker exited with {worker.process.returncode}:\n{worker.log()}")
        if "ready." in worker.log():
            return
        time.sleep(0.2)
    raise RuntimeError(f"Celery worker did not get ready within {timeout:.0f}s:\n{worker.log()}")


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, log: Callable[[], str] = lambda: "") -> None:
    """Poll ``predicate`` until it holds; fail naming ``what`` (with the worker's log) after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"Timed out after {timeout:.0f}s waiting for {what}\n{log()[-20000:]}")
