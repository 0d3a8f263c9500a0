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
