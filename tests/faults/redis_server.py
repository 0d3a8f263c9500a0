"""A private ``redis-server`` a fault test may stop and start, since the machine's Redis is shared."""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from tests.faults.proxy import _free_port


class PrivateRedis:
    """One ``redis-server`` on a free port, without persistence: a restart loses whatever it held."""

    def __init__(self, log_dir: Path) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = log_dir / f"redis-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (Debian package redis-server)")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--logfile", str(self.log_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        client = redis.Redis(port=self.port)
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.ConnectionError):
                if client.ping():
                    return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        """Kill it outright (SIGKILL), as a crashed or restarted broker host would go."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def queued(self, queue: str) -> int:
        return redis.Redis(port=self.port).llen(queue)


@contextlib.contextmanager
def private_redis(log_dir: Path) -> Iterator[PrivateRedis]:
    log_dir.mkdir(exist_ok=True)
    server = PrivateRedis(log_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
