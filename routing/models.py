"""Territories and the reps who work them, with each rep's capacity and appetite."""

from __future__ import annotations

import datetime
from zoneinfo import available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from leadflow.models import TimeStampedModel


class Territory(TimeStampedModel):
    """A slice of the market. Empty criteria match anything; overlaps resolve by priority (lower first)."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    priority = models.PositiveSmallIntegerField(default=100, help_text="Lower wins when territories overlap")
    countries = models.JSONField(default=list, blank=True, help_text="ISO country codes")
    regions = models.JSONField(default=list, blank=True, help_text="States or regions")
    postal_prefixes = models.JSONField(default=list, blank=True)
    postal_ranges = models.JSONField(
        default=list,
        blank=True,
        help_text='Inclusive ranges as ["from", "to"] pairs of equal length, e.g. ["10000", "14999"]',
    )
    industries = models.JSONField(default=list, blank=True)
    min_employees = models.PositiveIntegerField(null=True, blank=True)
    max_employees = models.PositiveIntegerField(null=True, blank=True)
    named_accounts = models.JSONField(
        default=list, blank=True, help_text="Company domains or names: only their leads match (e.g. acme.com)"
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="managed_territories"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["priority", "name"]
        verbose_name_plural = "territories"
        constraints = [
            models.CheckConstraint(
                condition=Q(min_employees__isnull=True)
                | Q(max_employees__isnull=True)
                | Q(max_employees__gte=F("min_employees")),
                name="territory_employee_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


def default_work_days() -> list[int]:
    return [1, 2, 3, 4, 5]


def out_of_office_at(start: datetime.datetime | None, until: datetime.datetime | None, now: datetime.datetime) -> bool:
    """Whether an absence from ``start`` (empty: already begun) to ``until`` covers ``now``."""
    return until is not None and until > now and (start is None or start <= now)


class Rep(TimeStampedModel):
    """A sales rep: the user, their territories and how much they can take."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rep")
    territories = models.ManyToManyField(Territory, through="TerritoryMembership", related_name="reps", blank=True)
    max_open_leads = models.PositiveIntegerField(default=25, help_text="Most unworked leads at once")
    max_new_per_day = models.PositiveIntegerField(default=10, help_text="Most new leads a day")
    min_score = models.IntegerField(default=0, help_text="Takes only leads scoring at least this, right now")
    is_available = models.BooleanField(default=True)
    out_of_office_from = models.DateTimeField(
        null=True, blank=True, help_text="Start of an absence; empty with an end date: away from now on"
    )
    out_of_office_until = models.DateTimeField(null=True, blank=True, help_text="Back at this time")
    backup = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="backing_up",
        help_text="Gets this rep's account leads while they are out of office",
    )
    timezone = models.CharField(max_length=64, default="UTC")
    work_start = models.TimeField(default=datetime.time(9, 0))
    work_end = models.TimeField(default=datetime.time(17, 0))
    #: ISO weekdays the rep works (1 = Monday ... 7 = Sunday): SLA clocks run only in these days' hours.
    work_days = models.JSONField(default=default_work_days, blank=True, help_text="ISO weekdays, 1 = Monday")

    class Meta:
        ordering = ["user__username"]
        constraints = [
            models.CheckConstraint(condition=Q(work_end__gt=F("work_start")), name="rep_work_hours_order"),
            models.CheckConstraint(condition=~Q(backup=F("id")), name="rep_not_own_backup"),
            models.CheckConstraint(
                condition=Q(out_of_office_from__isnull=True)
                | Q(out_of_office_until__isnull=True)
                | Q(out_of_office_until__gt=F("out_of_office_from")),
                name="rep_out_of_office_order",
            ),
        ]

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.get_username()

    def clean(self) -> None:
        if self.timezone not in available_timezones():
            raise ValidationError({"timezone": f"Unknown time zone {self.timezone!r}."})
        if self.work_start and self.work_end and self.work_end <= self.work_start:
            raise ValidationError({"work_end": "Working hours must end after they start."})
        days = self.work_days
        if not isinstance(days, list) or not days or any(d not in range(1, 8) or isinstance(d, bool) for d in days):
            raise ValidationError({"work_days": "Pick at least one working day (1 = Monday ... 7 = Sunday)."})
        if self.out_of_office_from and self.out_of_office_until and self.out_of_office_until <= self.out_of_office_from:
            raise ValidationError({"out_of_office_until": "The absence must end after it starts."})

    def is_away(self, now: datetime.datetime) -> bool:
        """Unavailable, or inside an out-of-office period at ``now``."""
        return not self.is_available or out_of_office_at(self.out_of_office_from, self.out_of_office_until, now)


class TerritoryMembership(models.Model):
    """A rep's seat in a territory, with a weight for round-robin routing."""

    territory = models.ForeignKey(Territory, on_delete=models.CASCADE, related_name="memberships")
    rep = models.ForeignKey(Rep, on_delete=models.CASCADE, related_name="memberships")
    weight = models.PositiveSmallIntegerField(default=1, help_text="Share of the territory's leads, relative")
    #: Weighted round robin: how many of the territory's leads this seat has been given (its share used).
    routed_count = models.PositiveIntegerField(default=0, editable=False)
    last_routed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["territory", "rep"]
        constraints = [
            models.UniqueConstraint(fields=["territory", "rep"], name="territory_membership_unique"),
            models.CheckConstraint(condition=Q(weight__gte=1), name="territory_membership_weight_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.rep} in {self.territory} (x{self.weight})"


class Assignment(models.Model):
    """Who got a lead, when, and the rule that decided: one row per decision, overflow included. Append-only."""

    class Rule(models.TextChoices):
        ACCOUNT_OWNER = "account_owner", "Account owner"
        BACKUP = "backup", "Backup of the account owner"
        TERRITORY_ROUND_ROBIN = "territory_round_robin", "Territory round robin"
        OVERFLOW = "overflow", "Overflow (nobody had room)"
        MANUAL = "manual", "Reassigned by hand"
        CLAIM = "claim", "Claimed from overflow"
        SLA_REASSIGN = "sla_reassign", "Reassigned after an SLA lapse"

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="assignments")
    rep = models.ForeignKey(
        Rep, null=True, blank=True, on_delete=models.SET_NULL, related_name="assignments", help_text="Empty: overflow"
    )
    territory = models.ForeignKey(Territory, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    rule = models.CharField(max_length=24, choices=Rule.choices)
    reason = models.TextField(blank=True, help_text="Why, in words")
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty when routing decided",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["lead", "-created_at"], name="assignment_lead_idx"),
            # Today's intake per rep: counted under the rep's row lock on every routing decision.
            models.Index(fields=["rep", "created_at"], name="assignment_rep_day_idx"),
        ]
        constraints = [
            # (The other rules name a rep, but keep their row if that rep is later deleted.)
            models.CheckConstraint(condition=~Q(rule="overflow") | Q(rep__isnull=True), name="overflow_has_no_rep"),
        ]

    def __str__(self) -> str:
        return f"Lead {self.lead_id} -> {self.rep or 'overflow'} ({self.get_rule_display()})"


class OverflowEntry(models.Model):
    """An MQL nobody had room for, waiting in its territory's overflow (no territory: the general one).

    Drained hottest first as reps free up; the entry goes when the lead is assigned or claimed.
    """

    lead = models.OneToOneField("leads.Lead", on_delete=models.CASCADE, related_name="overflow_entry")
    territory = models.ForeignKey(
        Territory, null=True, blank=True, on_delete=models.SET_NULL, related_name="overflow_entries"
    )
    score = models.IntegerField(help_text="The lead's score when it overflowed: the drain takes the hottest first")
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-score", "created_at", "id"]
        verbose_name_plural = "overflow entries"
        indexes = [models.Index(fields=["territory", "-score", "created_at"], name="overflow_hottest_idx")]

    def __str__(self) -> str:
        return f"Lead {self.lead_id} waiting in {self.territory or 'no territory'}"


class Rejection(models.Model):
    """A rep turning down a lead routed to them, and why: feeds marketing's reports per source. Append-only."""

    class Reason(models.TextChoices):
        WRONG_TERRITORY = "wrong_territory", "Wrong territory"
        NOT_A_FIT = "not_a_fit", "Not a fit"
        DUPLICATE = "duplicate", "Duplicate"
        JUNK = "junk", "Junk"
        NOT_READY = "not_ready", "Not ready (nurture)"

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="rejections")
    rep = models.ForeignKey(Rep, null=True, blank=True, on_delete=models.SET_NULL, related_name="rejections")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    note = models.TextField(blank=True)
    source = models.ForeignKey(
        "leads.Source",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The lead's source when it was rejected, for the reports per source",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["source", "reason", "created_at"], name="rejection_source_reason_idx")]

    def __str__(self) -> str:
        return f"Lead {self.lead_id} rejected ({self.get_reason_display()})"


class SlaBreach(models.Model):
    """A lead its rep did not answer (or touch) within the SLA, and what the sweep did about it. Append-only.

    Counted per rep and per source (``routing.selectors.sla_breaches_by_rep`` / ``_by_source``). One row per
    lapse: the same SLA (lead, kind, due time) is never recorded twice, so a sweep that runs twice is harmless.
    """

    class Kind(models.TextChoices):
        ACCEPT = "accept", "Accept"
        TOUCH = "touch", "First touch after accept"

    class Action(models.TextChoices):
        REASSIGNED = "reassigned", "Reassigned to another rep"
        ESCALATED = "escalated", "Escalated to the territory manager"

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="sla_breaches")
    rep = models.ForeignKey(Rep, null=True, blank=True, on_delete=models.SET_NULL, related_name="sla_breaches")
    source = models.ForeignKey(
        "leads.Source", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="The lead's"
    )
    territory = models.ForeignKey(Territory, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    stage = models.CharField(max_length=20, help_text="The lead's stage when its SLA lapsed")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    score = models.IntegerField(default=0)
    due_at = models.DateTimeField()
    breached_at = models.DateTimeField(default=timezone.now, db_index=True, help_text="When the sweep found it")
    action = models.CharField(max_length=12, choices=Action.choices)
    reassigned_to = models.ForeignKey(Rep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    escalated_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True, help_text="What happened, in words")

    class Meta:
        ordering = ["-breached_at", "-id"]
        verbose_name_plural = "SLA breaches"
        indexes = [
            models.Index(fields=["rep", "breached_at"], name="slabreach_rep_idx"),
            models.Index(fields=["source", "breached_at"], name="slabreach_source_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["lead", "kind", "due_at"], name="slabreach_once_per_due"),
        ]

    def __str__(self) -> str:
        return f"Lead {self.lead_id}: {self.get_kind_display()} SLA lapsed ({self.get_action_display()})"


class Notification(models.Model):
    """An in-app notice for one user (an SLA lapse on their lead, an escalation to them); read or not."""

    class Kind(models.TextChoices):
        SLA_REASSIGNED = "sla_reassigned", "Lead reassigned after its SLA lapsed"
        SLA_ESCALATED = "sla_escalated", "SLA lapse escalated"
        LEAD_ASSIGNED = "lead_assigned", "Lead assigned to you"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    lead = models.ForeignKey("leads.Lead", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["user", "-created_at"], condition=Q(read_at__isnull=True), name="notification_unread_idx"
            ),
            models.Index(fields=["user", "-created_at", "-id"], name="notification_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.title}"
