"""Locust users for ``bench/scale.py --modes users``: people clicking through the measured pages.

Not run by hand: ``bench/scale.py`` writes the plan (each URL with its name and credentials) to the JSON
file named by ``SCALE_LOCUST_PLAN`` and starts ``locust --headless`` on this file. Every simulated user
walks the whole plan in order from a random starting point, pausing ``SCALE_LOCUST_THINK`` ("1,3": between
1 and 3 s) after each answer, so every URL is asked about equally often. Each answer's time is kept
exactly (Locust's own percentiles round to 10 ms above 100 ms) and written to ``SCALE_LOCUST_OUT`` at the end.
"""

from __future__ import annotations

import json
import os
import random
from collections import defaultdict

from locust import FastHttpUser, between, events, task

with open(os.environ["SCALE_LOCUST_PLAN"], encoding="utf-8") as _handle:
    PLAN: list[dict[str, str]] = json.load(_handle)
THINK_MIN, THINK_MAX = (float(x) for x in os.environ.get("SCALE_LOCUST_THINK", "1,3").split(","))
TIMES: dict[str, list[float]] = defaultdict(list)
FAILURES: dict[str, int] = defaultdict(int)


@events.request.add_listener
def _keep(name: str, response_time: float, exception: BaseException | None, **_kwargs: object) -> None:
    TIMES[name].append(response_time)
    if exception is not None:
        FAILURES[name] += 1


@events.quitting.add_listener
def _write(**_kwargs: object) -> None:
    with open(os.environ["SCALE_LOCUST_OUT"], "w", encoding="utf-8") as handle:
        json.dump({"times": TIMES, "failures": FAILURES}, handle)


class Person(FastHttpUser):
    """Opens a page, reads it for a moment, opens the next one."""

    wait_time = between(THINK_MIN, THINK_MAX)

    def on_start(self) -> None:
        self.step = random.randrange(len(PLAN))

    @task
    def next_page(self) -> None:
        entry = PLAN[self.step % len(PLAN)]
        self.step += 1
        headers = {entry["header"]: entry["value"]} if entry["header"] else {}
        self.client.get(entry["url"], headers=headers, name=entry["name"])
