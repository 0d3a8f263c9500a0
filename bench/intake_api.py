"""POST /api/intake/ under load: gunicorn on PostgreSQL, 20 concurrent clients (wrk), 2 cores.

    python bench/intake_api.py [--seconds 20] [--connections 20] [--gunicorn-workers 4]

Every request is a new lead with its own Idempotency-Key, so each one stores a submission and a
lead and queues its pipeline on Redis. Prints requests/s and latency percentiles (p50, p95, p99)
beside the same server's rate for ``GET /healthz`` (one trivial query) measured in the same run,
and checks that every 202 left exactly one stored submission. Target: >= 300 requests/s, p95 < 100 ms.
Needs ``wrk`` (Debian package wrk; installed here when missing and running as root).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, setup_django, workers

LUA = r"""
local counter = 0
local thread_id = 0
setup = function(thread)
  thread:set("id", thread_id)
  thread_id = thread_id + 1
end
init = function(args)
  key = args[1]
end
request = function()
  counter = counter + 1
  local n = id .. "-" .. counter
  local body = '{"first_name":"Ann","last_name":"Lee' .. n .. '","email":"ann' .. n .. '@acme' .. (counter % 500) ..
    '.com","company":"ACME INC","title":"VP Marketing","country":"us","employees":"500","industry":"software",' ..
    '"external_id":"w' .. n .. '"}'
  return wrk.format("POST", "/api/intake/", {["Content-Type"] = "application/json", ["X-Source-Key"] = key,
    ["Idempotency-Key"] = "bench-" .. n}, body)
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors=%d non2xx=%d duration_us=%d p50=%.2f p95=%.2f p99=%.2f\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, summary.duration, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000))
end
"""

GET_LUA = r"""
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors=%d non2xx=%d duration_us=%d p50=%.2f p95=%.2f p99=%.2f\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, summary.duration, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000))
end
"""


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
        return shutil.which("wrk") or sys.exit("wrk did not install")
    sys.exit("This benchmark needs wrk: apt-get install wrk")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_wrk(wrk: str, url: str, script: str, seconds: int, connections: int, *args: str) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    out = subprocess.run(
        [wrk, "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", handle.name, url, "--", *args],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    match = re.search(r"RESULT (.*)", out)
    if not match:
        sys.exit(f"wrk printed no result:\n{out}")
    return {k: float(v) for k, v in (pair.split("=") for pair in match.group(1).split())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument(
        "--celery-workers", type=int, default=0,
        help="Worker processes draining the pipeline during the run (default 0: the queue just grows)",
    )  # fmt: skip
    args = parser.parse_args()
    wrk = ensure_wrk()

    setup_django("leadflow_bench_api")
    from django.core.management import call_command

    from leads.models import Lead, Source, Submission

    source = Source.objects.create(name="Bench web form", slug="bench-web", rate_limit_per_minute=10_000_000)
    key = source.set_new_api_key()
    source.save()
    call_command("collectstatic", "--no-input", verbosity=0)

    port = free_port()
    # As in production: the cache (per-source rate counts, the pipeline's drain flag) shared in Redis.
    os.environ["CACHE_URL"] = "redis://127.0.0.1:6379/12"
    env = {**os.environ, "ALLOWED_HOSTS": "127.0.0.1,localhost", "SECURE_SSL_REDIRECT": "false", "CONN_MAX_AGE": "600"}
    log = open(ROOT / "test-artifacts" / "bench-api-gunicorn.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "leadflow.wsgi", "-b", f"127.0.0.1:{port}",
         f"--workers={args.gunicorn_workers}", "--worker-class=sync", "--backlog=2048", "--log-level=warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit("gunicorn did not start; see test-artifacts/bench-api-gunicorn.log")
                time.sleep(0.2)
        base = f"http://127.0.0.1:{port}"
        run_wrk(wrk, base + "/healthz", GET_LUA, 3, args.connections)  # warm up
        health = run_wrk(wrk, base + "/healthz", GET_LUA, args.seconds, args.connections)
        with workers("leadflow_bench_api", processes=args.celery_workers) if args.celery_workers else nullcontext():
            intake = run_wrk(wrk, base + "/api/intake/", LUA, args.seconds, args.connections, key)
            drained_at = time.perf_counter()
            waiting = Lead.objects.exclude(pipeline_state=Lead.PipelineState.ROUTED)
            while args.celery_workers and waiting.exists() and time.perf_counter() - drained_at < 300:
                time.sleep(0.5)
            backlog_s = time.perf_counter() - drained_at
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
        log.close()

    for name, result in (("GET /healthz (baseline)", health), ("POST /api/intake/", intake)):
        rps = result["requests"] / (result["duration_us"] / 1e6)
        result["rps"] = rps
        print(
            f"{name}: {rps:,.0f} requests/s, p50 {result['p50']:.1f} ms, p95 {result['p95']:.1f} ms, "
            f"p99 {result['p99']:.1f} ms, errors {int(result['errors'])}, non-2xx {int(result['non2xx'])}"
        )
    stored = Submission.objects.filter(source=source).count()
    print(f"intake / healthz throughput: {intake['rps'] / health['rps']:.2f}")
    print(f"submissions stored: {stored:,} for {int(intake['requests'] - intake['non2xx']):,} answered 2xx; "
          f"leads: {Lead.objects.filter(source=source).count():,}")  # fmt: skip
    if args.celery_workers:
        print(f"with {args.celery_workers} Celery workers processing meanwhile: every lead through the pipeline "
              f"{backlog_s:.1f} s after the load stopped; not yet routed: {waiting.count():,}")  # fmt: skip
    ok = intake["rps"] >= 300 and intake["p95"] < 100 and intake["non2xx"] == 0
    print(f"target >= 300 requests/s with p95 < 100 ms: {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
