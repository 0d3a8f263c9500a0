"""The reports' periodic upkeep (beat: ``reports-rollups-compact``)."""

from __future__ import annotations

from celery import shared_task


@shared_task
def rollups_compact_task() -> int:
    from reports.services import rollups_compact

    return rollups_compact()
