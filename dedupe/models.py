"""Blocking keys, duplicate candidates for review, and merges kept so they can be undone."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from leadflow.models import ChunkedJob, TimeStampedModel
from leads.models import Lead


class MatchKey(models.Model):
    """One blocking key of a lead (``dedupe.keys``): duplicates are looked up by (kind, value).

    Keys of a merged lead stay: a later record matching it finds its survivor through ``merged_into``.
    """

    # Looked up by lead through the unique (lead, kind, value) index: no index of its own to keep up.
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="match_keys", db_index=False)
    kind = models.CharField(max_length=20)
    value = models.CharField(max_length=200)

    class Meta:
        ordering = ["lead", "kind", "value"]
        indexes = [models.Index(fields=["kind", "value"], name="matchkey_lookup_idx")]
        constraints = [models.UniqueConstraint(fields=["lead", "kind", "value"], name="matchkey_unique")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class DuplicateCandidate(TimeStampedModel):
    """A pair of leads that may be one person, waiting for a person's decision (the review queue).

    A dismissed pair ("not a duplicate") is kept for good: it is never proposed or merged again.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for review"
        MERGED = "merged", "Merged"
        DISMISSED = "dismissed", "Not a duplicate"

    lead_a = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    lead_b = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    reasons = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-score", "-id"]
        indexes = [
            models.Index(fields=["status", "-score"], name="dupcandidate_queue_idx"),
            models.Index(fields=["lead_b"], name="dupcandidate_lead_b_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["lead_a", "lead_b"], name="dupcandidate_pair_unique"),
            models.CheckConstraint(condition=Q(lead_a__lt=F("lead_b")), name="dupcandidate_pair_ordered"),
            models.CheckConstraint(condition=Q(score__gte=0) & Q(score__lte=1), name="dupcandidate_score_0_1"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_a_id} ~ {self.lead_b_id} ({self.score:.2f}, {self.status})"


class Merge(TimeStampedModel):
    """One lead merged into another: both leads' fields before, every row moved, where each value came from.

    ``merge_undo`` puts every moved row back and both leads' fields as they were.
    """

    survivor = models.ForeignKey(Lead, on_delete=models.PROTECT, related_name="merges_in")
    # Indexed by merge_merged_idx (merged, undone_at).
    merged = models.ForeignKey(Lead, on_delete=models.PROTECT, related_name="merges_out", db_index=False)
    score = models.FloatField(null=True, blank=True, help_text="The match score, when matching proposed it")
    reasons = models.JSONField(default=list, blank=True)
    automatic = models.BooleanField(default=False)
    snapshot = models.JSONField(help_text="{'survivor': {field: value}, 'merged': {field: value}} before the merge")
    moved = models.JSONField(default=dict, help_text="{table: [row ids moved to the survivor]}")
    field_sources = models.JSONField(default=dict, help_text="{field: id of the lead the survivor's value came from}")
    changed = models.JSONField(default=dict, help_text="{field: value the merge gave the survivor}")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["merged", "undone_at"], name="merge_merged_idx")]
        constraints = [models.CheckConstraint(condition=~Q(survivor=F("merged")), name="merge_two_leads")]

    def __str__(self) -> str:
        return f"{self.merged_id} -> {self.survivor_id}"


class DedupeJob(ChunkedJob):
    """Matching re-run over the stored active leads (``manage.py dedupe_all``), in chunks, with progress."""

    merged = models.PositiveIntegerField(default=0, help_text="Leads merged automatically")
    queued = models.PositiveIntegerField(default=0, help_text="Pairs put in the review queue")

    class Meta(ChunkedJob.Meta):
        constraints = [
            models.CheckConstraint(condition=Q(leads_done__lte=F("leads_total")), name="dedupejob_done_within_total"),
        ]

    def __str__(self) -> str:
        return f"Dedupe job {self.pk} ({self.get_status_display()})"


class DedupeChunk(models.Model):
    """A chunk of a dedupe job that is done: the ledger that makes each chunk count once."""

    job = models.ForeignKey(DedupeJob, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField()
    leads = models.PositiveIntegerField()
    merged = models.PositiveIntegerField(default=0)
    queued = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job", "number"]
        constraints = [models.UniqueConstraint(fields=["job", "number"], name="dedupe_chunk_unique")]

    def __str__(self) -> str:
        return f"{self.job_id}#{self.number}"
