"""``python manage.py dedupe_all [--wait]``: match every active lead again, in Celery chunks."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dedupe.models import DedupeJob
from dedupe.rematch import CHUNK_SIZE, dedupe_job_start


class Command(BaseCommand):
    help = (
        "Match every active lead again (e.g. after the dedupe thresholds changed): merge pairs above the "
        "definition's auto-merge threshold, queue those above the review threshold for review, never "
        "propose a pair marked 'not a duplicate'. Runs in Celery chunks; safe to run twice. When a job "
        "is running already, follows that one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--wait", action="store_true", help="Follow the job's progress until it is done")
        parser.add_argument(
            "--chunk-size", type=int, default=CHUNK_SIZE, help=f"Leads per chunk (default {CHUNK_SIZE})"
        )
        parser.add_argument("--timeout", type=float, default=3600, help="Seconds to wait with --wait (default 3600)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1.")
        job, started = dedupe_job_start(chunk_size=options["chunk_size"])
        if started:
            self.stdout.write(f"Dedupe job {job.pk}: {job.leads_total} active leads in {len(job.plan)} chunks.")
        else:
            self.stdout.write(f"Dedupe job {job.pk} is running already ({job.leads_done}/{job.leads_total} leads).")
        if options["wait"]:
            job = self._wait(job, options["timeout"])
        else:
            job.refresh_from_db()
        self.stdout.write(self._summary(job))
        if job.status == DedupeJob.Status.FAILED:
            raise CommandError(f"Dedupe job {job.pk} failed: {job.error}")

    @staticmethod
    def _summary(job: DedupeJob) -> str:
        return (
            f"Dedupe job {job.pk} {job.get_status_display().lower()}: {job.leads_done}/{job.leads_total} leads, "
            f"{job.merged} merged, {job.queued} pairs queued for review."
        )

    def _wait(self, job: DedupeJob, timeout: float) -> DedupeJob:
        deadline = time.monotonic() + timeout
        interactive = sys.stderr.isatty()
        last = ""
        while True:
            job.refresh_from_db()
            width = 30
            filled = int(width * job.leads_done / job.leads_total) if job.leads_total else width
            line = (
                f"[{'#' * filled}{'.' * (width - filled)}] {job.leads_done}/{job.leads_total} leads · "
                f"merged {job.merged} · queued {job.queued}"
            )
            if line != last or interactive:
                self.stderr.write(("\r" + line) if interactive else line, ending="" if interactive else "\n")
                last = line
            if job.status in (DedupeJob.Status.DONE, DedupeJob.Status.FAILED):
                if interactive:
                    self.stderr.write("")
                return job
            if time.monotonic() > deadline:
                raise CommandError(f"Dedupe job {job.pk} did not finish within {timeout:.0f}s ({job.status}).")
            time.sleep(0.5 if interactive else 1)
