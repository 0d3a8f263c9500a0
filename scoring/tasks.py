"""Celery tasks for scoring: thin wrappers, ids in, one service call."""

from celery import shared_task


@shared_task(bind=True, acks_late=True, max_retries=5, retry_backoff=True)
def lead_score_task(self, lead_id: int) -> int:
    """Rescore one lead under the published definition; returns the new score."""
    from leads.models import Lead
    from scoring.services import lead_score

    return lead_score(lead=Lead.objects.get(pk=lead_id)).total
