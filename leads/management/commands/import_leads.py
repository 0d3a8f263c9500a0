"""``manage.py import_leads FILE --source SLUG [--campaign SLUG] [--map header=field ...]``"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from leads.imports import (
    IMPORT_FIELDS,
    ImportFileError,
    import_job_create,
    import_job_errors,
    import_source_get_or_create,
)
from leads.models import Campaign, ImportJob, Source


class Command(BaseCommand):
    help = (
        "Import a CSV or XLSX list of leads through the pipeline and wait until every row is through. "
        "Exits 0 when the file was processed (rejected rows are listed), non-zero when it could not be read."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--source", required=True, help="Source slug; an unknown slug creates that source")
        parser.add_argument("--campaign", help="Campaign slug (must exist)")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="HEADER=FIELD",
            help="Map a column to a field (repeatable; an empty FIELD keeps the column as an extra field). "
            f"Fields: {', '.join(IMPORT_FIELDS)}",
        )
        parser.add_argument("--timeout", type=float, default=3600, help="Seconds to wait for the pipeline")
        parser.add_argument("--no-wait", action="store_true", help="Start the import and return at once")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file.")
        try:
            source, created = import_source_get_or_create(slug=options["source"])
        except ImportFileError as exc:
            raise CommandError(f"--source: {exc}") from exc
        if created:
            self.stdout.write(f"Created source {source.slug!r}.")
        campaign = None
        if options["campaign"]:
            campaign = Campaign.objects.filter(slug=options["campaign"]).first()
            if campaign is None:
                raise CommandError(f"--campaign: no campaign with slug {options['campaign']!r}.")
        mapping = None
        if options["map"]:
            pairs = [item.partition("=") for item in options["map"]]
            if any(not sep for _, sep, _ in pairs):
                raise CommandError("--map takes HEADER=FIELD.")
            mapping = {header: target for header, _, target in pairs}
        try:
            with path.open("rb") as handle:
                upload = File(handle, name=path.name)
                if mapping is not None:
                    mapping = self._complete_mapping(upload, source, mapping)
                job = import_job_create(source=source, upload=upload, mapping=mapping, campaign=campaign)
        except ImportFileError as exc:
            raise CommandError(f"{path}: {exc}") from exc
        self.stdout.write(f"Import {job.pk}: {job.rows_total} rows from {path.name} into source {source.slug!r}.")
        if options["no_wait"]:
            return
        job = self._wait(job, options["timeout"])
        if job.status == ImportJob.Status.FAILED:
            raise CommandError(f"{path}: {job.error}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Done: {job.rows_read} rows read, {job.rows_imported} imported, {job.rows_merged} merged "
                f"into existing leads, {job.rows_rejected} rejected."
            )
        )
        for error in import_job_errors(job=job):
            outcome = "rejected" if error.rejected else "imported"
            self.stdout.write(f"  row {error.row_number} ({outcome}): {error.field or 'row'}: {error.problem}")

    @staticmethod
    def _complete_mapping(upload: File, source: Source, given: dict[str, str]) -> dict[str, str]:
        """``--map`` overrides the suggested mapping for the columns it names."""
        from leads.imports import mapping_suggest, table_read

        table = table_read(upload, upload.name or "")
        upload.seek(0)
        return mapping_suggest(table.headers, source.import_mapping) | given

    def _wait(self, job: ImportJob, timeout: float) -> ImportJob:
        deadline = time.monotonic() + timeout
        interactive = sys.stderr.isatty()
        while True:
            job.refresh_from_db()
            total = job.rows_total or 0
            through = job.rows_processed + job.rows_rejected + job.rows_merged
            width = 30
            filled = int(width * through / total) if total else width
            line = (
                f"[{'#' * filled}{'.' * (width - filled)}] {through}/{total} rows · read {job.rows_read} · "
                f"imported {job.rows_imported} · merged {job.rows_merged} · rejected {job.rows_rejected} · "
                f"through the pipeline {job.rows_processed}"
            )
            self.stderr.write(("\r" + line) if interactive else line, ending="" if interactive else "\n")
            if job.is_finished:
                if interactive:
                    self.stderr.write("")
                return job
            if time.monotonic() > deadline:
                raise CommandError(f"Import {job.pk} did not finish within {timeout:.0f}s (status {job.status}).")
            time.sleep(0.5 if interactive else 2)
