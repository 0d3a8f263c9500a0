"""``manage.py restore FILE --yes``: replace all data with a backup made by ``manage.py backup``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from leads.backups import BackupError, database_restore


class Command(BaseCommand):
    help = "Replace every table of the database with a backup (in one transaction on PostgreSQL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="A file written by manage.py backup")
        parser.add_argument("--database", default="default")
        parser.add_argument("--yes", action="store_true", help="Do not ask: the current data is replaced")
        parser.add_argument("--no-input", action="store_false", dest="interactive", help="Never prompt")

    def handle(self, *args: Any, file: Path, database: str, yes: bool, interactive: bool, **options: Any) -> None:
        name = connections[database].settings_dict["NAME"]
        if not yes:
            if not interactive:
                raise CommandError("Restoring replaces all data; pass --yes to confirm.")
            answer = input(f"This replaces ALL data in {name} with {file}. Type 'yes' to go on: ")
            if answer.strip().lower() != "yes":
                raise CommandError("Restore cancelled; nothing changed.")
        try:
            database_restore(path=file, alias=database)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Restored {name} from {file}.")
