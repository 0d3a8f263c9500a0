"""``manage.py rotate_source_key SLUG [--grace-hours N]``: give a source a new API key and print it (once)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leads.models import Source
from leads.services import source_rotate_key


class Command(BaseCommand):
    help = (
        "Give the source a new API key and print it; the old key keeps working for the grace period "
        "(SOURCE_KEY_GRACE_HOURS, or --grace-hours; 0 revokes it at once)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The source's slug")
        parser.add_argument(
            "--grace-hours",
            type=int,
            default=None,
            help="Hours the old key keeps working (default SOURCE_KEY_GRACE_HOURS; 0: stop it now, e.g. if it leaked)",
        )

    def handle(self, *args: Any, slug: str, grace_hours: int | None, **options: Any) -> None:
        source = Source.objects.filter(slug=slug).first()
        if source is None:
            known = ", ".join(Source.objects.order_by("slug").values_list("slug", flat=True)[:20])
            raise CommandError(f"No source with slug {slug!r}. Sources: {known or 'none yet'}.")
        if grace_hours is not None and grace_hours < 0:
            raise CommandError("--grace-hours cannot be negative.")
        key = source_rotate_key(source=source, actor=None, grace_hours=grace_hours)
        until = source.previous_api_key_expires_at
        old = f"the old key works until {until:%Y-%m-%d %H:%M %Z}" if until else "the old key no longer works"
        self.stderr.write(f"New API key for {source.name} ({source.slug}); {old}:")
        self.stdout.write(key)
