"""``manage.py backup FILE``: every table of the database, to one file (see ``leads.backups``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leads.backups import BackupError, database_backup


class Command(BaseCommand):
    help = "Export all data: pg_dump (custom format) on PostgreSQL, a consistent file copy on SQLite."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="Where to write the backup")
        parser.add_argument("--database", default="default")

    def handle(self, *args: Any, file: Path, database: str, **options: Any) -> None:
        try:
            path = database_backup(path=file, alias=database)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Backup written to {path} ({path.stat().st_size:,} bytes).")
