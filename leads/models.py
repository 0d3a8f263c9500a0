"""Accounts, contacts, leads and everything that happens to them.

Models hold data and invariants only; business operations live in ``leads/services.py``
and reads in ``leads/selectors.py``.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
import uuid
from typing import ClassVar

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from leadflow.models import ChunkedJob, TimeStampedModel


class Account(TimeStampedModel):
    """A company we sell to, identified by its web domain where known."""

    name = models.CharField(max_length=200, db_index=True)
    domain = models.CharField(max_length=253, blank=True, help_text="Lower-case web domain, e.g. acme.com")
    industry = models.CharField(max_length=100, blank=True, db_index=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2 code")
    state = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_accounts"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["domain"], condition=~Q(domain=""), name="account_domain_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(TimeStampedModel):
    """A known person at an account (a converted or imported lead)."""

    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts")
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    email = models.CharField(max_length=254, blank=True, db_index=True)
    phone = models.CharField(max_length=32, blank=True)
    title = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["last_name", "first_name"]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email or f"Contact {self.pk}"


class Source(TimeStampedModel):
    """Where leads come from. Each source has its own API key for web-to-lead intake.

    Only a SHA-256 hash of the key is stored; the key itself is shown once, when made.
    """

    class Kind(models.TextChoices):
        WEB_FORM = "web_form", "Web form"
        LIST_IMPORT = "list_import", "List import"
        EVENT = "event", "Event"
        API = "api", "API / integration"
        PARTNER = "partner", "Partner"
        OTHER = "other", "Other"

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.WEB_FORM)
    trust = models.PositiveSmallIntegerField(
        default=50, help_text="0-100: how far this source's values are trusted when records are merged"
    )
    is_active = models.BooleanField(default=True)
    rate_limit_per_minute = models.PositiveIntegerField(
        default=600, help_text="Most web-to-lead submissions a minute with this source's key"
    )
    import_mapping = models.JSONField(
        default=dict, blank=True, help_text="The column mapping last used to import a list: {header: field}"
    )
    api_key_prefix = models.CharField(max_length=12, blank=True, editable=False)
    api_key_hash = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    # The key before the last rotation, still accepted until ``previous_api_key_expires_at`` (the grace
    # period, ``SOURCE_KEY_GRACE_HOURS``), so the forms using it can be switched over without losing leads.
    previous_api_key_hash = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    previous_api_key_expires_at = models.DateTimeField(null=True, blank=True, editable=False)

    KEY_PREFIX: ClassVar[str] = "lf_"

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(trust__lte=100), name="source_trust_0_100"),
        ]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def hash_api_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def by_api_key(cls, key: str, *, now: datetime.datetime | None = None) -> Source | None:
        """The active source whose current key is ``key``, or whose previous key it is, within its grace period."""
        digest = cls.hash_api_key(key)
        now = now or timezone.now()
        current_or_in_grace = Q(api_key_hash=digest) | Q(
            previous_api_key_hash=digest, previous_api_key_expires_at__gt=now
        )
        return cls.objects.filter(current_or_in_grace, is_active=True).first()

    def set_new_api_key(self) -> str:
        """Replace the key (the old one stops working once saved) and return the new one.

        ``leads.services.source_rotate_key`` keeps the old one valid for a grace period."""
        key = f"{self.KEY_PREFIX}{secrets.token_urlsafe(32)}"
        self.api_key_prefix = key[:10]
        self.api_key_hash = self.hash_api_key(key)
        return key


class Campaign(TimeStampedModel):
    """A marketing campaign with its cost, for cost-per-lead and return-on-spend reports."""

    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="campaigns")
    name = models.CharField(max_length=160)
    slug = models.SlugField(max_length=80, unique=True)
    cost = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_on", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(cost__gte=0), name="campaign_cost_not_negative"),
            models.CheckConstraint(
                condition=Q(starts_on__isnull=True) | Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="campaign_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class LeadDefinition(TimeStampedModel):
    """One version of the shared lead definition: screening, scoring, thresholds, dedupe, SLAs.

    Versions move draft -> published -> retired; at most one is published at a time, and a
    published or retired version is never edited (a change is a new draft).
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        RETIRED = "retired", "Retired"

    version = models.PositiveIntegerField(unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    note = models.TextField(blank=True)
    rules = models.JSONField(default=dict, help_text="screening, fit, engagement, thresholds, dedupe, sla")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    retired_at = models.DateTimeField(null=True, blank=True)
    based_on = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The version this draft was copied from (edited or restored)",
    )

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="published"), name="one_published_lead_definition"
            ),
            models.CheckConstraint(
                condition=~Q(status="published") | Q(published_at__isnull=False),
                name="published_definition_has_time",
            ),
        ]
        permissions = [
            ("edit_definition", "Can draft and edit lead definitions"),
            ("approve_definition", "Can approve and publish lead definitions"),
        ]

    def __str__(self) -> str:
        return f"v{self.version} ({self.get_status_display()})"

    @property
    def mql_threshold(self) -> int:
        return int(self.rules.get("thresholds", {}).get("mql", 60))


class Reason(TimeStampedModel):
    """An entry in one of the reason lists the admins keep (why a lead was lost, disqualified or recycled).

    Reasons are deactivated, never deleted once used: stage changes and opportunities point at them
    with ``PROTECT``, so history keeps its meaning.
    """

    class Kind(models.TextChoices):
        LOST = "lost", "Lost"
        DISQUALIFIED = "disqualified", "Disqualified"
        RECYCLED = "recycled", "Recycled"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    label = models.CharField(max_length=120)
    is_active = models.BooleanField(default=True, help_text="Inactive reasons stay on history but cannot be picked")
    position = models.PositiveSmallIntegerField(default=0, help_text="Order within its list")

    class Meta:
        ordering = ["kind", "position", "label"]
        constraints = [models.UniqueConstraint(fields=["kind", "label"], name="reason_label_unique_per_kind")]

    def __str__(self) -> str:
        return self.label


class Stage(models.TextChoices):
    """The lead lifecycle. ``TRANSITIONS`` below is the one place that says which moves exist."""

    NEW = "new", "New"
    JUNK = "junk", "Junk"
    NURTURE = "nurture", "Nurture"
    MQL = "mql", "MQL"
    SAL = "sal", "SAL (accepted)"
    SQL = "sql", "SQL"
    OPPORTUNITY = "opportunity", "Opportunity"
    WON = "won", "Won"
    LOST = "lost", "Lost"


STAGE_TRANSITIONS: dict[str, frozenset[str]] = {
    Stage.NEW: frozenset({Stage.JUNK, Stage.NURTURE, Stage.MQL}),
    Stage.JUNK: frozenset({Stage.NEW, Stage.NURTURE}),
    Stage.NURTURE: frozenset({Stage.MQL, Stage.JUNK}),
    Stage.MQL: frozenset({Stage.SAL, Stage.NURTURE, Stage.JUNK}),
    Stage.SAL: frozenset({Stage.SQL, Stage.NURTURE, Stage.LOST, Stage.JUNK}),
    Stage.SQL: frozenset({Stage.OPPORTUNITY, Stage.NURTURE, Stage.LOST, Stage.JUNK}),
    Stage.OPPORTUNITY: frozenset({Stage.WON, Stage.LOST}),
    Stage.WON: frozenset(),
    Stage.LOST: frozenset({Stage.NURTURE}),
}

#: Stages in which a lead is still in sales' hands and counts as open work.
OPEN_STAGES = frozenset({Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY})


class Lead(TimeStampedModel):
    """One person's interest, normalized, screened and scored."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        MERGED = "merged", "Merged into another lead"

    class PipelineState(models.TextChoices):
        RECEIVED = "received", "Received"
        NORMALIZED = "normalized", "Normalized"
        MATCHED = "matched", "Matched"
        SCREENED = "screened", "Screened"
        SCORED = "scored", "Scored"
        ROUTED = "routed", "Routed"

    class Seniority(models.TextChoices):
        C_LEVEL = "c_level", "C-level"
        VP = "vp", "VP"
        DIRECTOR = "director", "Director"
        MANAGER = "manager", "Manager"
        INDIVIDUAL = "individual", "Individual contributor"
        STUDENT = "student", "Student"

    # Every index on this table is written on each insert and on each survivor update of a merge, so no
    # column has two that do the same job: ``-created_at`` (``lead_created_idx``) serves the plain
    # ``created_at`` too, the foreign keys below lead an index of ``Meta.indexes`` that serves them, and
    # the identifying fields have one pattern index each (see ``Meta.indexes``), not db_index's two.
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)  # again, to stay after created_at (both set on save, in order)
    # Person
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    email = models.CharField(max_length=254, blank=True, help_text="Trimmed, lower-cased")
    phone = models.CharField(max_length=32, blank=True, help_text="E.164 where it parsed")
    title = models.CharField(max_length=200, blank=True)
    seniority = models.CharField(max_length=20, choices=Seniority.choices, blank=True)
    job_function = models.CharField(max_length=50, blank=True)
    # Company
    company = models.CharField(max_length=200, blank=True)
    company_domain = models.CharField(max_length=253, blank=True)
    website = models.CharField(max_length=300, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    # Address
    street = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2 code")
    # Provenance and links
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="leads", db_index=False)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads", db_index=False
    )
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads")
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads")
    import_job = models.ForeignKey(
        "ImportJob",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
        help_text="The list import this lead came from",
    )
    # Lifecycle
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.NEW)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    pipeline_state = models.CharField(max_length=12, choices=PipelineState.choices, default=PipelineState.RECEIVED)
    junk_reason = models.CharField(max_length=200, blank=True, help_text="The screening rule or reason that fired")
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_leads",
        help_text="The survivor this lead was merged into (it cannot be deleted while merged leads point at it)",
    )
    # Score
    score = models.IntegerField(default=0)
    fit_score = models.IntegerField(default=0)
    engagement_score = models.IntegerField(default=0)
    score_breakdown = models.JSONField(default=list, blank=True)
    scored_at = models.DateTimeField(null=True, blank=True)
    definition = models.ForeignKey(
        LeadDefinition,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The lead definition version that produced the score",
    )
    # Ownership and service level
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_leads",
        db_index=False,
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    sla_due_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    stage_changed_at = models.DateTimeField(
        null=True, blank=True, default=timezone.now, help_text="When the lead last moved stage (or was created)"
    )
    converted_at = models.DateTimeField(null=True, blank=True, help_text="When it became an opportunity")
    revisit_on = models.DateField(null=True, blank=True, help_text="Recycled: when marketing looks at it again")
    # Kept as entered: values that failed validation, and fields we do not model.
    invalid_fields = models.JSONField(default=dict, blank=True, help_text="{field: problem} for values kept as entered")
    extra = models.JSONField(default=dict, blank=True, help_text="Free-form fields from the submission")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "stage", "sla_due_at"], name="lead_queue_idx"),
            models.Index(fields=["stage", "-created_at"], name="lead_stage_created_idx"),
            models.Index(fields=["source", "-created_at"], name="lead_source_created_idx"),
            models.Index(fields=["campaign", "-created_at"], name="lead_campaign_created_idx"),
            models.Index(fields=["owner", "-created_at"], name="lead_owner_created_idx"),
            # A rep's queue (leads.selectors.lead_queue_for_rep) in its own order: the first page is read off
            # the index instead of sorting every open lead of the rep (5,800 of them: 90 ms).
            models.Index(
                fields=["owner", "sla_due_at", "-score", "id"],
                name="lead_rep_queue_idx",
                condition=Q(status="active", stage__in=["mql", "sal", "sql"]),
            ),
            # A rep's open leads (routing.selectors.lead_unworked_q): counted for capacity and the load meter.
            models.Index(
                fields=["owner"],
                name="lead_rep_open_idx",
                condition=Q(stage="mql", accepted_at__isnull=True, status="active"),
            ),
            models.Index(fields=["-score"], name="lead_score_idx"),
            models.Index(fields=["status", "stage"], name="lead_status_stage_idx"),
            models.Index(fields=["pipeline_state", "updated_at"], name="lead_pipeline_idx"),
            models.Index(fields=["junk_reason"], name="lead_junk_reason_idx", condition=~Q(junk_reason="")),
            models.Index(fields=["-created_at"], name="lead_created_idx"),
            # The SLA sweep pages through lapsed leads by (due, id).
            models.Index(fields=["sla_due_at", "id"], name="lead_sla_due_idx", condition=Q(sla_due_at__isnull=False)),
            models.Index(fields=["stage", "stage_changed_at"], name="lead_stage_changed_idx"),
            models.Index(fields=["revisit_on"], name="lead_revisit_idx", condition=Q(revisit_on__isnull=False)),
            # Equality (dedupe, filters, contacts) and prefix searches (``email__startswith``,
            # ``company_domain__startswith`` in leads.filters) in any collation; nothing orders by these.
            *(
                models.Index(fields=[name], name=f"lead_{name}_idx", opclasses=["varchar_pattern_ops"])
                for name in ("email", "phone", "company_domain", "country")
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(stage="junk") | ~Q(junk_reason=""), name="junk_lead_has_reason"),
            models.CheckConstraint(
                condition=Q(status="merged", merged_into__isnull=False)
                | Q(~Q(status="merged"), merged_into__isnull=True),
                name="merged_lead_points_to_survivor",
            ),
            models.CheckConstraint(condition=~Q(merged_into=F("id")), name="lead_not_merged_into_itself"),
        ]
        permissions = [
            ("view_all_leads", "Can see every lead, not only their own and claimable ones"),
            ("triage_lead", "Can qualify, disqualify, nurture, restore and merge leads"),
            ("work_lead", "Can accept, reject, claim and work leads they own"),
            ("assign_lead", "Can assign and reassign leads to reps"),
            ("import_leads", "Can import lead lists"),
            ("view_reports", "Can see source, campaign and funnel reports"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or f"Lead {self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def can_move_to(self, stage: str) -> bool:
        return stage in STAGE_TRANSITIONS[Stage(self.stage)]


class SourceRecord(models.Model):
    """A record in a source system (row id, form submission id) that became part of a lead.

    Unique per source, so the same record can never feed two leads; merges move these rows.
    """

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="source_records")
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="+")
    external_id = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="source_record_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.external_id}"


class StageChange(models.Model):
    """Every move of a lead between stages: who, when, why."""

    # Indexed by stagechange_lead_idx (lead, created_at): a second index on lead alone only costs writes.
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="stage_changes", db_index=False)
    from_stage = models.CharField(max_length=20, choices=Stage.choices)
    to_stage = models.CharField(max_length=20, choices=Stage.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty when the pipeline moved it",
    )
    reason = models.TextField(blank=True, help_text="Free text: why, in the mover's words")
    reason_code = models.ForeignKey(
        Reason, null=True, blank=True, on_delete=models.PROTECT, related_name="+", help_text="From the admins' lists"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["lead", "created_at"], name="stagechange_lead_idx")]
        constraints = [
            models.CheckConstraint(condition=~Q(from_stage=F("to_stage")), name="stage_change_moves"),
        ]

    def __str__(self) -> str:
        return f"{self.from_stage} -> {self.to_stage}"


class Opportunity(TimeStampedModel):
    """A deal made from a converted lead: amount, expected close and the outcome.

    ``source`` and ``campaign`` are copied from the lead at conversion so revenue per source and
    per campaign is one aggregate over this table, without joining leads.
    """

    class Stage(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    lead = models.OneToOneField(Lead, on_delete=models.PROTECT, related_name="opportunity")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="opportunities")
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="opportunities")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="opportunities"
    )
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="opportunities")
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="opportunities"
    )
    name = models.CharField(max_length=200)
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    expected_close_on = models.DateField()
    stage = models.CharField(max_length=10, choices=Stage.choices, default=Stage.OPEN)
    closed_on = models.DateField(null=True, blank=True)
    lost_reason = models.ForeignKey(
        Reason, null=True, blank=True, on_delete=models.PROTECT, related_name="opportunities"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "opportunities"
        indexes = [
            models.Index(fields=["stage", "closed_on"], name="opportunity_stage_closed_idx"),
            models.Index(fields=["source", "stage"], name="opportunity_source_stage_idx"),
            models.Index(fields=["campaign", "stage"], name="opportunity_campaign_stage_idx"),
            models.Index(fields=["owner", "stage"], name="opportunity_owner_stage_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="opportunity_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(stage__in=["won", "lost"], closed_on__isnull=False)
                | Q(stage="open", closed_on__isnull=True),
                name="opportunity_closed_on_iff_closed",
            ),
            models.CheckConstraint(
                condition=Q(lost_reason__isnull=True) | Q(stage="lost"), name="opportunity_lost_reason_only_when_lost"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Activity(TimeStampedModel):
    """The lead's timeline: what the person did (engagement) and what we did (notes, calls)."""

    class Kind(models.TextChoices):
        FORM_FILL = "form_fill", "Form fill"
        PAGE_VISIT = "page_visit", "Page visit"
        PRICING_VISIT = "pricing_visit", "Pricing page visit"
        EMAIL_OPEN = "email_open", "E-mail open"
        EMAIL_CLICK = "email_click", "E-mail click"
        WEBINAR = "webinar", "Webinar attended"
        CONTENT_DOWNLOAD = "content_download", "Content download"
        NOTE = "note", "Note"
        CALL = "call", "Call"
        MEETING = "meeting", "Meeting"
        SYSTEM = "system", "System notice"

    # Indexed by activity_lead_time_idx (lead, -occurred_at).
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="activities", db_index=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    occurred_at = models.DateTimeField()
    subject = models.CharField(max_length=300, blank=True)
    url = models.CharField(max_length=500, blank=True)
    body = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    meta = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "activities"
        indexes = [models.Index(fields=["lead", "-occurred_at"], name="activity_lead_time_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"


class AuditEvent(models.Model):
    """Who did what to which object, when, from where. Append-only."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=60, db_index=True)
    # Indexed by audit_object_idx (content_type, object_id).
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+", db_index=False)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True, help_text="{field: [before, after]}")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["content_type", "object_id"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"{self.action} {self.object_repr}"


class ImportJob(TimeStampedModel):
    """One uploaded list and its progress through the pipeline, row by row."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to start"
        READING = "reading", "Reading rows"
        PROCESSING = "processing", "Processing leads"
        DONE = "done", "Done"
        FAILED = "failed", "Could not be read"

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="import_jobs")
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    file = models.FileField(upload_to="imports/%Y/%m/")
    file_name = models.CharField(max_length=255)
    headers = models.JSONField(default=list, blank=True, help_text="The file's column headers, in order")
    mapping = models.JSONField(default=dict, blank=True, help_text="{column header: lead field}")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    error = models.TextField(blank=True, help_text="Why the file could not be read")
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    rows_read = models.PositiveIntegerField(default=0)
    rows_imported = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    rows_merged = models.PositiveIntegerField(default=0)
    rows_processed = models.PositiveIntegerField(default=0, help_text="Imported rows through the whole pipeline")
    started_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True, help_text="When the last row was read")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rows_imported__lte=F("rows_read")) & Q(rows_rejected__lte=F("rows_read")),
                name="import_counts_within_rows_read",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class ImportChunk(models.Model):
    """A chunk of an import's rows that has been stored: the ledger that makes each chunk count once."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField()
    rows = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job", "number"]
        constraints = [models.UniqueConstraint(fields=["job", "number"], name="import_chunk_unique")]

    def __str__(self) -> str:
        return f"{self.job_id}#{self.number}"


class ImportRowError(models.Model):
    """A problem with one row of an import: the row number, the field and what is wrong."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    row_number = models.PositiveIntegerField(help_text="As a spreadsheet shows it: the header is row 1")
    field = models.CharField(max_length=60, blank=True)
    problem = models.CharField(max_length=300)
    value = models.CharField(max_length=200, blank=True)
    rejected = models.BooleanField(default=True, help_text="False: the row was imported, the value kept as entered")

    class Meta:
        ordering = ["job", "row_number", "id"]
        indexes = [models.Index(fields=["job", "row_number"], name="import_error_job_row_idx")]

    def __str__(self) -> str:
        return f"row {self.row_number}: {self.field} {self.problem}"


class Submission(models.Model):
    """A raw submission exactly as it arrived (web form, API call, import row), stored before any processing.

    Its id is the tracking id given back to the sender. A retry with the same ``Idempotency-Key``
    finds this row again instead of making a second lead.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="submissions")
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="submissions")
    import_job = models.ForeignKey(
        ImportJob, null=True, blank=True, on_delete=models.CASCADE, related_name="submissions"
    )
    row_number = models.PositiveIntegerField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, blank=True)
    payload = models.JSONField(help_text="The fields as received")
    meta = models.JSONField(default=dict, blank=True, help_text="Remote address, user agent, content type")
    spam_reason = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "idempotency_key"], condition=~Q(idempotency_key=""), name="submission_idempotency"
            ),
            models.UniqueConstraint(
                fields=["import_job", "row_number"], condition=Q(import_job__isnull=False), name="submission_import_row"
            ),
        ]

    def __str__(self) -> str:
        return str(self.id)


class SavedView(TimeStampedModel):
    """A named inbox filter a user keeps (and may share with the team)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=2000, blank=True, help_text="The inbox filter as a query string")
    is_shared = models.BooleanField(default=False, help_text="Everyone who sees the inbox may use it")

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="saved_view_name_unique_per_owner")]

    def __str__(self) -> str:
        return self.name


class DefinitionApproval(models.Model):
    """One side's agreement to publish a draft: a marketing admin and a sales admin, two people."""

    class Side(models.TextChoices):
        MARKETING = "marketing", "Marketing"
        SALES = "sales", "Sales"

    definition = models.ForeignKey(LeadDefinition, on_delete=models.CASCADE, related_name="approvals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    side = models.CharField(max_length=10, choices=Side.choices)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["definition", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["definition", "side"], name="one_approval_per_side"),
            models.UniqueConstraint(fields=["definition", "user"], name="one_approval_per_person"),
        ]

    def __str__(self) -> str:
        return f"{self.definition} approved for {self.side} by {self.user_id}"


class RescoreJob(ChunkedJob):
    """Rescoring open leads in the background (after a publish, or the daily decay), with progress."""

    class Reason(models.TextChoices):
        PUBLISH = "publish", "Definition published"
        DECAY = "decay", "Daily engagement decay"
        MANUAL = "manual", "Started by hand"

    definition = models.ForeignKey(LeadDefinition, on_delete=models.PROTECT, related_name="rescore_jobs")
    reason = models.CharField(max_length=10, choices=Reason.choices)
    became_mql = models.PositiveIntegerField(default=0)
    fell_below_mql = models.PositiveIntegerField(default=0)

    class Meta(ChunkedJob.Meta):
        constraints = [
            models.CheckConstraint(condition=Q(leads_done__lte=F("leads_total")), name="rescore_done_within_total"),
        ]

    def __str__(self) -> str:
        return f"Rescore under {self.definition} ({self.get_status_display()})"


class RescoreChunk(models.Model):
    """A chunk of a rescore job that is done: the ledger that makes each chunk count once."""

    job = models.ForeignKey(RescoreJob, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField()
    leads = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job", "number"]
        constraints = [models.UniqueConstraint(fields=["job", "number"], name="rescore_chunk_unique")]

    def __str__(self) -> str:
        return f"{self.job_id}#{self.number}"


class DefinitionPreview(TimeStampedModel):
    """What publishing a draft would change, computed in the background from its rules at one moment."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Computing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    definition = models.ForeignKey(LeadDefinition, on_delete=models.CASCADE, related_name="previews")
    rules_digest = models.CharField(max_length=64, help_text="SHA-256 of the rules previewed: stale once they change")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    leads_considered = models.PositiveIntegerField(default=0)
    result = models.JSONField(
        default=dict, blank=True, help_text="into_mql, out_of_mql, by_source, by_territory, samples"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Preview of {self.definition} ({self.get_status_display()})"
