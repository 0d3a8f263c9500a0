"""Abstract model bases shared by every app (no concrete models live here)."""

from django.conf import settings
from django.db import models


class TimeStampedModel(models.Model):
    """Every row knows when it was created and last changed."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class ChunkedJob(TimeStampedModel):
    """A job over many leads split into chunks of consecutive ids sent to the workers, with its progress:
    the fields ``scoring.RescoreJob`` and ``dedupe.DedupeJob`` share (and ``chunked_jobs_redrive_stale``
    reads). Each concrete job adds its own counters and its ``leads_done <= leads_total`` constraint
    (named per model)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    leads_total = models.PositiveIntegerField(default=0)
    leads_done = models.PositiveIntegerField(default=0)
    plan = models.JSONField(
        default=list, blank=True, help_text="The chunks: [number, first id, last id, leads], fixed at the start"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    @property
    def percent(self) -> int:
        return 100 if not self.leads_total else int(100 * self.leads_done / self.leads_total)
