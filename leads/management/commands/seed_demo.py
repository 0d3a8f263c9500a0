"""``manage.py seed_demo``: fill the database with demo data (see ``leads.demo``)."""

from __future__ import annotations

import time
from argparse import ArgumentParser, ArgumentTypeError
from typing import Any

from django.core.management.base import BaseCommand

from leads.demo import DEMO_SOURCE_SLUGS, DemoSummary, demo_seed


def _lead_count(value: str) -> int:
    count = int(value)
    if count < 0:
        raise ArgumentTypeError("must be 0 or more")
    return count


class Command(BaseCommand):
    help = (
        "Create demo users for every role, a published lead definition, territories, reps, sources, "
        "campaigns, accounts and scored leads. Does nothing if the demo data is already there."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--leads", type=_lead_count, default=300, help="How many leads to create (default 300).")
        parser.add_argument(
            "--reset",
            action="store_true",
            help=f"Delete the demo data first (its users, territories, sources {', '.join(DEMO_SOURCE_SLUGS)} "
            "with their leads, campaigns and accounts), then create it again.",
        )

    def handle(self, *args: Any, leads: int, reset: bool, **options: Any) -> None:
        started = time.perf_counter()
        summary = demo_seed(leads=leads, reset=reset)
        elapsed = time.perf_counter() - started
        if summary.created:
            self._report_created(summary, elapsed)
        else:
            self.stdout.write(
                f"The demo data is already there ({summary.leads} demo leads); nothing created. "
                "Run with --reset to delete and rebuild it."
            )
        self._report_logins(summary)

    def _report_created(self, summary: DemoSummary, elapsed: float) -> None:
        stages = ", ".join(f"{count} {stage}" for stage, count in summary.stages.items())
        counts = ", ".join(f"{count} {name}" for name, count in summary.counts.items())
        self.stdout.write(self.style.SUCCESS(f"Created {summary.leads} demo leads in {elapsed:.1f}s."))
        if stages:
            self.stdout.write(f"  Stages: {stages}")
        self.stdout.write(f"  Also: {counts}; lead definition v{summary.definition_version} published.")
        if summary.web_form_api_key:
            self.stdout.write(
                f"API key of the '{summary.web_form_source}' source (shown once, only its hash is stored):\n"
                f"  {summary.web_form_api_key}"
            )
        else:
            self.stdout.write(f"The '{summary.web_form_source}' source keeps its key (rotate it in the admin).")

    def _report_logins(self, summary: DemoSummary) -> None:
        self.stdout.write(f"Logins (password: {summary.password}):")
        width = max(len(login.username) for login in summary.logins)
        for login in summary.logins:
            note = " + Django admin (/admin/)" if login.superuser else ""
            if not login.created and summary.created:
                note += " (existing user: password unchanged)"
            self.stdout.write(f"  {login.username:<{width}}  {', '.join(login.roles)}{note}")
