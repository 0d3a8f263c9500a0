"""The reports' maintained summary: one row per lead with the first time it entered each funnel stage.

The funnel (and the sources' and campaigns' MQL counts) would otherwise group every stage change of
the cohort per lead on each request, seconds over a million leads. PostgreSQL keeps this table true
with triggers on ``leads_lead``, ``leads_stagechange`` (``reports/migrations/0002_lead_milestones.py``)
and ``leads_opportunity`` (``0003_milestone_won_deals.py``),
the one mechanism that sees every write path: services, the pipeline's bulk inserts, imports and
``COPY``, merges moving stage changes between leads and their undo, deletes. SQLite (``make run``)
has no such triggers: there the table stays empty and the reports compute from the stage changes.
"""

from __future__ import annotations

from django.db import models

from leads.models import Campaign, Lead, Source


class LeadMilestone(models.Model):
    """A lead's cohort columns (copied from the lead) and when it first entered each funnel stage.

    Derived data written only by the database's triggers, never by Django code: no ``updated_at``,
    and no constraints to Source/Campaign (the lead row holds those).
    """

    lead = models.OneToOneField(
        Lead, primary_key=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    created_at = models.DateTimeField()
    status = models.CharField(max_length=10)
    source = models.ForeignKey(
        Source, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    campaign = models.ForeignKey(
        Campaign, null=True, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True)
    mql_at = models.DateTimeField(null=True)
    sal_at = models.DateTimeField(null=True)
    sql_at = models.DateTimeField(null=True)
    opportunity_at = models.DateTimeField(null=True)
    won_at = models.DateTimeField(null=True)
    #: The lead's won opportunities (at most one today) and their amount, for revenue per source and campaign.
    won_deals = models.PositiveSmallIntegerField(db_default=0)
    won_revenue = models.DecimalField(max_digits=16, decimal_places=2, db_default=0)
    #: Copied from the lead for the roll-ups: the stage it is in now and its owner's SLA (leaks), its
    #: owner and assignment time (reps).
    stage = models.CharField(max_length=20, db_default="")
    owner_id = models.BigIntegerField(null=True)
    assigned_at = models.DateTimeField(null=True)
    sla_due_at = models.DateTimeField(null=True)
    #: The lead's rejections by reason (``routing.Rejection.Reason``), kept by triggers on ``routing_rejection``.
    rejected_wrong_territory = models.PositiveSmallIntegerField(db_default=0)
    rejected_not_a_fit = models.PositiveSmallIntegerField(db_default=0)
    rejected_duplicate = models.PositiveSmallIntegerField(db_default=0)
    rejected_junk = models.PositiveSmallIntegerField(db_default=0)
    rejected_not_ready = models.PositiveSmallIntegerField(db_default=0)

    class Meta:
        ordering = ["lead_id"]
        indexes = [
            # Covering (PostgreSQL): a date range's cohort is read from the index alone.
            models.Index(
                fields=["created_at"],
                include=[
                    "status",
                    "source",
                    "campaign",
                    "accepted_at",
                    "mql_at",
                    "sal_at",
                    "sql_at",
                    "opportunity_at",
                    "won_at",
                    "won_deals",
                    "won_revenue",
                ],
                name="milestone_created_idx",
            )
        ]

    def __str__(self) -> str:
        return f"milestones of lead {self.lead_id}"


class CohortDay(models.Model):
    """One UTC day's active leads of one (source, campaign): how many, and how far down the funnel they got.

    A roll-up of ``LeadMilestone`` kept by a PostgreSQL trigger on that table
    (``reports/migrations/0005_cohort_day_triggers.py``), so a date range's volume, funnel counts and
    won revenue add up a few thousand rows instead of scanning a million leads. The trigger only
    appends rows of changes (+1, -1), so writers never wait on each other's day rows; a key may have
    several rows, every reader sums them, and ``reports.services.rollups_compact`` (beat, every few
    minutes) folds them back into one. Days are UTC days of
    ``created_at``: a range in another time zone takes its whole UTC days from here and the hours
    at either end from ``LeadMilestone`` (``reports.selectors``), so the figures stay exact. Empty
    on SQLite, like ``LeadMilestone``.
    """

    day = models.DateField()
    source = models.ForeignKey(
        Source, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    campaign = models.ForeignKey(
        Campaign, null=True, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    leads = models.IntegerField(db_default=0)
    accepted = models.IntegerField(db_default=0)
    mql = models.IntegerField(db_default=0)
    sal = models.IntegerField(db_default=0)
    sql = models.IntegerField(db_default=0)
    opportunity = models.IntegerField(db_default=0)
    won = models.IntegerField(db_default=0)
    won_deals = models.IntegerField(db_default=0)
    won_revenue = models.DecimalField(max_digits=18, decimal_places=2, db_default=0)
    #: Of those leads, how many are in each open stage now (the leaks report)...
    in_new = models.IntegerField(db_default=0)
    in_nurture = models.IntegerField(db_default=0)
    in_mql = models.IntegerField(db_default=0)
    in_sal = models.IntegerField(db_default=0)
    in_sql = models.IntegerField(db_default=0)
    in_opportunity = models.IntegerField(db_default=0)
    #: ...owned MQLs not accepted that have an SLA due time (past or not)...
    mql_sla_open = models.IntegerField(db_default=0)
    #: ...and their rejections by reason (the alignment report).
    rejected_wrong_territory = models.IntegerField(db_default=0)
    rejected_not_a_fit = models.IntegerField(db_default=0)
    rejected_duplicate = models.IntegerField(db_default=0)
    rejected_junk = models.IntegerField(db_default=0)
    rejected_not_ready = models.IntegerField(db_default=0)

    class Meta:
        ordering = ["day", "source_id", "campaign_id"]
        indexes = [models.Index(fields=["day"], name="cohortday_day_idx")]

    def __str__(self) -> str:
        return f"cohort of {self.day} (source {self.source_id}, campaign {self.campaign_id})"


class DurationDay(models.Model):
    """How many of one UTC day's active leads took how long for one funnel step, in logarithmic buckets.

    The funnel's exact medians take two passes: these counts say which bucket holds the median and
    at which rank (a few thousand rows for two years instead of sorting a million durations), then
    an expression index on ``LeadMilestone`` per step (``reports_duration_bucket``) reads only that
    bucket's durations. ``step`` is the stage reached (``mql`` times new to MQL); ``bucket`` is
    ``reports_duration_bucket`` of the seconds, about 8 to an e-fold. Kept by the same trigger as
    ``CohortDay`` (``reports/migrations/0005_cohort_day_triggers.py``); empty on SQLite.
    """

    day = models.DateField()
    step = models.CharField(max_length=12)
    bucket = models.IntegerField()
    leads = models.IntegerField(db_default=0)

    class Meta:
        ordering = ["day", "step", "bucket"]
        indexes = [models.Index(fields=["day"], name="durationday_day_idx")]

    def __str__(self) -> str:
        return f"{self.leads} {self.step} durations in bucket {self.bucket} of {self.day}"


class RepDay(models.Model):
    """One UTC day's active leads per owner: how many were assigned to them and how many they accepted.

    The reps report's counts for a date range (without a source, campaign or territory) add these
    up; its medians read ``lead_response_idx`` on the leads from the rank these counts give. Kept
    by the same triggers as ``CohortDay``; empty on SQLite.
    """

    day = models.DateField()
    owner_id = models.BigIntegerField()
    assigned = models.IntegerField(db_default=0)
    accepted = models.IntegerField(db_default=0)

    class Meta:
        ordering = ["day", "owner_id"]
        indexes = [models.Index(fields=["day"], name="repday_day_idx")]

    def __str__(self) -> str:
        return f"{self.assigned} leads of {self.day} assigned to user {self.owner_id}"
