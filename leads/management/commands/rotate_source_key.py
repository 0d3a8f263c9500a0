"""``manage.py rotate_source_key SLUG``: give a source a new API key and print it (once)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leads.models import Source
from leads.services import source_rotate_key


class Command(BaseCommand):
    help = "Give the source a new API key (the old one stops working at once) and print the new key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The source's slug")

    def handle(self, *args: Any, slug: str, **options: Any) -> None:
        source = Source.objects.filter(slug=slug).first()
        if source is None:
            known = ", ".join(Source.objects.order_by("slug").values_list("slug", flat=True)[:20])
            raise CommandError(f"No source with slug {slug!r}. Sources: {known or 'none yet'}.")
        key = source_rotate_key(source=source, actor=None)
        self.stderr.write(f"New API key for {source.name} ({source.slug}); the old key no longer works:")
        self.stdout.write(key)
