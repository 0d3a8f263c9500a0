"""The Django admin for accounts, sources, campaigns, lead definitions, leads, their history and intake.

The admin is an operator's tool, not a way around the domain rules: stage moves go through
``lead_change_stage`` (so they leave a StageChange and an audit event), API keys through
``source_rotate_key`` (shown once), scores and pipeline state are read-only, published definition
versions cannot be edited, and records of what happened (stage changes, audit events, raw
submissions, imports) cannot be rewritten.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join

from leads.lifecycle import OPPORTUNITY_EDITABLE_FIELDS, opportunity_update, opportunity_update_clean
from leads.models import (
    Account,
    Activity,
    AuditEvent,
    Campaign,
    Contact,
    DefinitionApproval,
    DefinitionPreview,
    ImportChunk,
    ImportJob,
    ImportRowError,
    Lead,
    LeadDefinition,
    Opportunity,
    Reason,
    RescoreChunk,
    RescoreJob,
    SavedView,
    Source,
    SourceRecord,
    StageChange,
    Submission,
)
from leads.services import (
    LeadOperationError,
    lead_change_stage,
    lead_stage_move_refusal,
    source_rotate_key,
    stage_why_clean,
)

admin.site.site_header = "LeadFlow admin"
admin.site.site_title = "LeadFlow admin"


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def count_per_row(rows: QuerySet, field: str, outer: str = "pk") -> Coalesce:
    """How many of ``rows`` point at each row of the page, as a correlated subquery on ``field``'s index.

    (An ``annotate(Count(...))`` would join and group the whole related table, e.g. every lead, to show
    the hundred rows of one page.)
    """
    counts = rows.filter(**{field: OuterRef(outer)}).order_by().values(field).annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


class ReadOnlyAdminMixin:
    """A record of what happened: viewable, never added, changed or deleted here (superusers included)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SlugFixedAfterCreateMixin:
    """Integrations, filters and reports refer to the slug, so it is typed once and then kept."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        return fields if obj is None else ["slug", *fields]

    def get_prepopulated_fields(self, request: HttpRequest, obj: Any = None) -> dict[str, Any]:
        return super().get_prepopulated_fields(request, obj) if obj is None else {}


# --- Accounts and contacts -------------------------------------------------------------------


class ContactInline(admin.TabularInline):
    model = Contact
    fields = ["first_name", "last_name", "email", "phone", "title"]
    extra = 0
    show_change_link = True


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "domain", "industry", "employees", "country", "owner", "lead_count"]
    list_filter = ["industry", "country"]
    search_fields = ["name", "domain"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [ContactInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Account]:
        return super().get_queryset(request).annotate(lead_count=count_per_row(Lead.objects.all(), "account"))

    @admin.display(description="Leads", ordering="lead_count")
    def lead_count(self, obj: Account) -> int:
        return obj.lead_count


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["__str__", "email", "phone", "title", "account"]
    search_fields = ["first_name", "last_name", "email", "account__name"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]
    readonly_fields = ["created_at", "updated_at"]


# --- Sources and campaigns -------------------------------------------------------------------


@admin.register(Source)
class SourceAdmin(SlugFixedAfterCreateMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "kind", "trust", "is_active", "api_key_prefix", "lead_count"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["api_key_prefix", "api_key_hash", "previous_api_key_expires_at", "created_at", "updated_at"]
    actions = ["rotate_api_key", "rotate_api_key_revoking_old"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Source]:
        return super().get_queryset(request).annotate(lead_count=count_per_row(Lead.objects.all(), "source"))

    @admin.display(description="Leads", ordering="lead_count")
    def lead_count(self, obj: Source) -> int:
        return obj.lead_count

    def save_model(self, request: HttpRequest, obj: Source, form: forms.ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:  # a new source gets its key at once, shown this one time
            key = source_rotate_key(source=obj, actor=request.user, ip_address=_client_ip(request))
            self._show_key(request, obj, key)

    @admin.action(description="Rotate API key (the old key works for the grace period)", permissions=["change"])
    def rotate_api_key(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        for source in queryset:
            key = source_rotate_key(source=source, actor=request.user, ip_address=_client_ip(request))
            self._show_key(request, source, key)

    @admin.action(description="Rotate API key and revoke the old key at once (leaked)", permissions=["change"])
    def rotate_api_key_revoking_old(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        for source in queryset:
            key = source_rotate_key(source=source, actor=request.user, ip_address=_client_ip(request), grace_hours=0)
            self._show_key(request, source, key)

    def _show_key(self, request: HttpRequest, source: Source, key: str) -> None:
        self.message_user(
            request,
            format_html(
                "New API key for “{}”: <code>{}</code> — copy it now, it is not stored and will not be shown again.",
                source.name,
                key,
            ),
            level=messages.WARNING,
        )


@admin.register(Campaign)
class CampaignAdmin(SlugFixedAfterCreateMixin, admin.ModelAdmin):
    list_display = ["name", "source", "cost", "starts_on", "ends_on", "lead_count"]
    list_filter = ["source"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    date_hierarchy = "starts_on"
    list_select_related = ["source"]
    autocomplete_fields = ["source"]
    readonly_fields = ["created_at", "updated_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Campaign]:
        return super().get_queryset(request).annotate(lead_count=count_per_row(Lead.objects.all(), "campaign"))

    @admin.display(description="Leads", ordering="lead_count")
    def lead_count(self, obj: Campaign) -> int:
        return obj.lead_count


# --- Lead definitions ------------------------------------------------------------------------


@admin.register(LeadDefinition)
class LeadDefinitionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only here: drafts are edited, approved and published on the definition pages, which
    validate the rules and withdraw approvals when the rules change."""

    list_display = ["version", "status", "author", "published_at", "published_by", "short_note"]
    list_filter = ["status"]
    search_fields = ["note", "version__exact"]
    list_select_related = ["author", "published_by"]
    fields = [
        "version", "status", "note", "rules", "author", "based_on", "published_at", "published_by", "retired_at",
        "created_at", "updated_at",
    ]  # fmt: skip
    readonly_fields = fields

    @admin.display(description="Note")
    def short_note(self, obj: LeadDefinition) -> str:
        return obj.note if len(obj.note) <= 80 else f"{obj.note[:79]}…"


# --- Leads -----------------------------------------------------------------------------------


class SourceRecordInline(admin.TabularInline):
    model = SourceRecord
    fields = ["source", "external_id", "created_at"]
    readonly_fields = ["created_at"]
    extra = 0


class StageChangeInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = StageChange
    fields = ["created_at", "from_stage", "to_stage", "actor", "reason_code", "reason"]
    readonly_fields = fields
    verbose_name_plural = "stage history (read-only)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[StageChange]:
        return super().get_queryset(request).select_related("actor", "reason_code")


class ActivityInline(admin.TabularInline):
    """The timeline. Rows added here are recorded as done by the admin user."""

    model = Activity
    fields = ["occurred_at", "kind", "subject", "url", "actor"]
    readonly_fields = ["actor"]
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[Activity]:
        return super().get_queryset(request).select_related("actor")


class LeadAdminForm(forms.ModelForm):
    """A stage change on the form becomes a ``lead_change_stage`` call, with this reason.

    (No ``Meta``: the admin makes it with the fields of ``LeadAdmin.fieldsets``.)
    """

    stage_reason = forms.CharField(
        label="Reason for the stage change",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Needed to move a lead to junk, nurture or lost; kept in the lead's stage history.",
    )
    stage_reason_code = forms.ModelChoiceField(
        label="Reason from the lists",
        required=False,
        queryset=Reason.objects.filter(is_active=True),
        help_text="Lost needs a lost reason, junk a disqualified one; a recycled reason (with a revisit date) "
        "recycles a lead to nurture.",
    )
    stage_revisit_on = forms.DateField(label="Revisit on", required=False, help_text="Recycling: when to look again")

    #: Where the service's refusals are shown.
    _error_fields = {
        "stage": "stage",
        "reason": "stage_reason",
        "reason_code": "stage_reason_code",
        "revisit_on": "stage_revisit_on",
    }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        to_stage = cleaned.get("stage")
        # ``self.instance`` still holds the stored stage here: the form copies its values later.
        if self.instance.pk and to_stage and to_stage != self.instance.stage:
            refusal = lead_stage_move_refusal(lead=self.instance, to_stage=to_stage)
            if refusal:
                self.add_error("stage", refusal)
                return cleaned
            try:
                stage_why_clean(
                    to_stage=to_stage,
                    reason=cleaned.get("stage_reason", ""),
                    reason_code=cleaned.get("stage_reason_code"),
                    revisit_on=cleaned.get("stage_revisit_on"),
                )
            except LeadOperationError as error:
                self.add_error(self._error_fields.get(error.field or "", None), str(error))
        return cleaned


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    form = LeadAdminForm
    list_display = [
        "__str__",
        "email",
        "company",
        "source",
        "campaign",
        "stage",
        "score",
        "owner",
        "sla_due_at",
        "created_at",
    ]
    list_filter = ["stage", "status", "pipeline_state", "seniority", "source", "campaign", "owner"]
    search_fields = ["first_name", "last_name", "email", "company", "company_domain"]
    search_help_text = "Name, e-mail, company or company domain"
    date_hierarchy = "created_at"
    list_select_related = ["source", "campaign", "owner"]
    show_full_result_count = False
    autocomplete_fields = ["source", "campaign", "account", "contact", "owner"]
    inlines = [SourceRecordInline, StageChangeInline, ActivityInline]
    readonly_fields = [
        "import_job",
        "status",
        "merged_into",
        "pipeline_state",
        "stage_changed_at",
        "revisit_on",
        "converted_at",
        "score",
        "fit_score",
        "engagement_score",
        "score_lines",
        "scored_at",
        "definition",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        ("Person", {"fields": [("first_name", "last_name"), "email", "phone", "title", ("seniority", "job_function")]}),
        ("Company", {"fields": ["company", "company_domain", "website", "industry", "employees"]}),
        ("Address", {"fields": ["street", ("city", "state", "postal_code"), "country"]}),
        ("Provenance and links", {"fields": ["source", "campaign", "import_job", "account", "contact"]}),
        (
            "Lifecycle",
            {
                "fields": [
                    "stage",
                    "stage_reason",
                    "stage_reason_code",
                    "stage_revisit_on",
                    "stage_changed_at",
                    "revisit_on",
                    "converted_at",
                    "junk_reason",
                    "status",
                    "merged_into",
                    "pipeline_state",
                ]
            },
        ),
        (
            "Score",
            {"fields": [("score", "fit_score", "engagement_score"), "score_lines", "scored_at", "definition"]},
        ),
        ("Ownership and service level", {"fields": ["owner", "assigned_at", "accepted_at", "sla_due_at"]}),
        (
            "Other",
            {
                "classes": ["collapse"],
                "fields": ["last_activity_at", "invalid_fields", "extra", "created_at", "updated_at"],
            },
        ),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Lead | None = None) -> list[str]:
        fields = list(self.readonly_fields)
        if obj is not None:
            # On an existing lead the junk reason is the reason given for the move to junk.
            fields.append("junk_reason")
        return fields

    @admin.display(description="Score breakdown")
    def score_lines(self, obj: Lead) -> str:
        lines = [line.get("text", "") for line in obj.score_breakdown or [] if isinstance(line, dict)]
        if not lines:
            return "—"
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((line,) for line in lines)))

    def save_model(self, request: HttpRequest, obj: Lead, form: forms.ModelForm, change: bool) -> None:
        if change:
            from dedupe.services import lead_keys_refresh

            # Its blocking keys follow an edit of the fields they are made of (one service for every edit path).
            before = {name: form.initial.get(name) for name in form.changed_data}
            self._save_lead(request, obj, form, change)
            lead_keys_refresh(lead=obj, before=before)
            return
        self._save_lead(request, obj, form, change)

    def _save_lead(self, request: HttpRequest, obj: Lead, form: forms.ModelForm, change: bool) -> None:
        if change and "stage" in form.changed_data:
            to_stage = obj.stage
            obj.stage = form.initial["stage"]
            super().save_model(request, obj, form, change)
            lead_change_stage(
                lead=obj,
                to_stage=to_stage,
                actor=request.user,
                reason=form.cleaned_data.get("stage_reason", ""),
                reason_code=form.cleaned_data.get("stage_reason_code"),
                revisit_on=form.cleaned_data.get("stage_revisit_on"),
                ip_address=_client_ip(request),
            )
        else:
            super().save_model(request, obj, form, change)

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset: Any, change: bool) -> None:
        if formset.model is Activity:
            for activity in formset.save(commit=False):
                if activity.pk is None and activity.actor_id is None:
                    activity.actor = request.user
                activity.save()
            for activity in formset.deleted_objects:
                activity.delete()
            return
        super().save_formset(request, form, formset, change)


@admin.register(SourceRecord)
class SourceRecordAdmin(admin.ModelAdmin):
    list_display = ["external_id", "source", "lead", "created_at"]
    list_filter = ["source"]
    search_fields = ["external_id", "lead__email", "lead__last_name"]
    list_select_related = ["source", "lead"]
    show_full_result_count = False
    autocomplete_fields = ["source", "lead"]
    readonly_fields = ["created_at"]


@admin.register(StageChange)
class StageChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Stage history, read-only: moves are made with ``lead_change_stage``."""

    list_display = ["created_at", "lead", "from_stage", "to_stage", "actor", "reason_code", "reason"]
    list_filter = ["to_stage", "from_stage", "reason_code"]
    search_fields = ["lead__email", "lead__last_name", "reason", "actor__username"]
    date_hierarchy = "created_at"
    list_select_related = ["lead", "actor", "reason_code"]
    show_full_result_count = False


@admin.register(Reason)
class ReasonAdmin(admin.ModelAdmin):
    """The lost / disqualified / recycled lists. A reason in use cannot be deleted (``PROTECT``): deactivate it."""

    list_display = ["label", "kind", "position", "is_active"]
    list_editable = ["position", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["label"]
    readonly_fields = ["created_at", "updated_at"]


class OpportunityAdminForm(forms.ModelForm):
    """Name, amount and expected close are ``opportunity_update``'s: its checks run here, shown by the field."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        # ``self.instance`` still holds the stored values here: the form copies its own later.
        data = {
            name: cleaned[name] for name in OPPORTUNITY_EDITABLE_FIELDS if name in self.changed_data and name in cleaned
        }
        if self.instance.pk and data:
            try:
                opportunity_update_clean(opportunity=self.instance, data=data)
            except LeadOperationError as error:
                self.add_error(error.field if error.field in self.fields else None, str(error))
        return cleaned


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    """Deals. Conversion and the outcome (won / lost, its amount and date) go through the services, so they
    are read-only here; name, amount and expected close of an open deal are saved by ``opportunity_update``
    (its rules, its ``opportunity.update`` audit event), and a closed deal's are read-only."""

    form = OpportunityAdminForm
    list_display = [
        "name",
        "account",
        "owner",
        "source",
        "campaign",
        "amount",
        "stage",
        "expected_close_on",
        "closed_on",
    ]
    list_filter = ["stage", "source", "campaign"]
    search_fields = ["name", "account__name", "lead__email", "lead__last_name"]
    date_hierarchy = "created_at"
    list_select_related = ["account", "owner", "source", "campaign"]
    show_full_result_count = False
    autocomplete_fields = ["account", "contact", "owner"]
    readonly_fields = ["lead", "source", "campaign", "stage", "closed_on", "lost_reason", "created_at", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Opportunity | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.stage != Opportunity.Stage.OPEN:
            fields += list(OPPORTUNITY_EDITABLE_FIELDS)
        return fields

    def save_model(self, request: HttpRequest, obj: Opportunity, form: forms.ModelForm, change: bool) -> None:
        data = {name: getattr(obj, name) for name in OPPORTUNITY_EDITABLE_FIELDS if name in form.changed_data}
        if not change or not data:
            super().save_model(request, obj, form, change)
            return
        stored = Opportunity.objects.get(pk=obj.pk)
        for name in data:  # the service writes these; the admin saves the rest (owner, account, contact)
            setattr(obj, name, getattr(stored, name))
        super().save_model(request, obj, form, change)
        opportunity_update(opportunity=obj, data=data, actor=request.user, ip_address=_client_ip(request))


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "kind", "subject", "lead", "actor"]
    list_filter = ["kind"]
    search_fields = ["subject", "lead__email", "lead__last_name", "lead__company"]
    date_hierarchy = "occurred_at"
    list_select_related = ["lead", "actor"]
    show_full_result_count = False
    autocomplete_fields = ["lead", "actor"]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Append-only: nobody adds, changes or deletes audit events, superusers included."""

    list_display = ["created_at", "actor", "action", "content_type", "object_link", "ip_address"]
    list_filter = ["action", "content_type"]
    search_fields = ["action", "object_repr", "=object_id", "actor__username"]
    date_hierarchy = "created_at"
    list_select_related = ["actor", "content_type"]
    show_full_result_count = False
    fields = ["created_at", "actor", "action", "content_type", "object_id", "object_link", "changes", "ip_address"]
    readonly_fields = fields

    @admin.display(description="Object")
    def object_link(self, obj: AuditEvent) -> str:
        try:
            url = reverse(f"admin:{obj.content_type.app_label}_{obj.content_type.model}_change", args=[obj.object_id])
        except NoReverseMatch:
            return obj.object_repr
        return format_html('<a href="{}">{}</a>', url, obj.object_repr or obj.object_id)


@admin.register(SavedView)
class SavedViewAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "is_shared", "query", "updated_at"]
    list_filter = ["is_shared"]
    search_fields = ["name", "owner__username", "query"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner"]
    readonly_fields = ["created_at", "updated_at"]


# --- Intake: raw submissions and list imports ------------------------------------------------


@admin.register(Submission)
class SubmissionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Raw submissions exactly as they arrived: the evidence behind every lead, never edited."""

    list_display = ["received_at", "id", "source", "lead", "import_job", "row_number", "spam_reason"]
    list_filter = ["source"]
    search_fields = ["id__exact", "idempotency_key", "lead__email"]
    search_help_text = "Tracking id, idempotency key or the lead's e-mail"
    date_hierarchy = "received_at"
    list_select_related = ["source", "lead", "import_job"]
    show_full_result_count = False
    fields = [
        "id",
        "received_at",
        "source",
        "lead",
        "import_job",
        "row_number",
        "idempotency_key",
        "payload",
        "meta",
        "spam_reason",
    ]
    readonly_fields = fields


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """List imports and their progress; they are started (and their files read) from the import page."""

    list_display = [
        "created_at",
        "file_name",
        "source",
        "campaign",
        "status",
        "rows_read",
        "rows_imported",
        "rows_rejected",
        "rows_merged",
        "rows_processed",
        "created_by",
        "row_error_link",
    ]
    list_filter = ["status", "source"]
    search_fields = ["file_name", "created_by__username"]
    date_hierarchy = "created_at"
    list_select_related = ["source", "campaign", "created_by"]
    fields = [
        "file_name",
        "file",
        "source",
        "campaign",
        "created_by",
        "status",
        "error",
        "mapping",
        ("rows_total", "rows_read", "rows_imported", "rows_rejected", "rows_merged", "rows_processed"),
        ("started_at", "read_at", "finished_at"),
        "row_error_link",
        "created_at",
    ]
    readonly_fields = [
        "file_name",
        "file",
        "source",
        "campaign",
        "created_by",
        "status",
        "error",
        "mapping",
        "rows_total",
        "rows_read",
        "rows_imported",
        "rows_rejected",
        "rows_merged",
        "rows_processed",
        "started_at",
        "read_at",
        "finished_at",
        "row_error_link",
        "created_at",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ImportJob]:
        return (
            super().get_queryset(request).annotate(row_error_count=count_per_row(ImportRowError.objects.all(), "job"))
        )

    @admin.display(description="Row problems", ordering="row_error_count")
    def row_error_link(self, obj: ImportJob) -> str:
        if not obj.row_error_count:
            return "none"
        url = reverse("admin:leads_importrowerror_changelist") + f"?job__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, obj.row_error_count)


@admin.register(ImportRowError)
class ImportRowErrorAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["job", "row_number", "field", "problem", "value", "rejected"]
    list_filter = ["rejected", "field"]
    search_fields = ["problem", "value", "job__file_name"]
    list_select_related = ["job"]
    show_full_result_count = False
    fields = ["job", "row_number", "field", "problem", "value", "rejected"]
    readonly_fields = fields


@admin.register(ImportChunk)
class ImportChunkAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The ledger of stored chunks that makes each chunk of an import count once."""

    list_display = ["job", "number", "rows", "created_at"]
    search_fields = ["job__file_name"]
    list_select_related = ["job"]
    fields = ["job", "number", "rows", "created_at"]
    readonly_fields = fields


@admin.register(DefinitionApproval)
class DefinitionApprovalAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Approvals are given in the app, where the two-sides rule is enforced; here they are only read."""

    list_display = ["definition", "side", "user", "created_at"]
    list_filter = ["side"]
    search_fields = ["user__username", "note"]
    list_select_related = ["definition", "user"]
    fields = ["definition", "side", "user", "note", "created_at"]
    readonly_fields = fields


@admin.register(RescoreJob)
class RescoreJobAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["definition", "reason", "status", "leads_done", "leads_total", "became_mql", "created_at"]
    list_filter = ["status", "reason"]
    search_fields = ["definition__note"]
    list_select_related = ["definition"]
    fields = [
        "definition", "reason", "status", "leads_total", "leads_done", "became_mql", "fell_below_mql",
        "created_by", "started_at", "finished_at", "error",
    ]  # fmt: skip
    readonly_fields = fields


@admin.register(RescoreChunk)
class RescoreChunkAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["job", "number", "leads", "created_at"]
    search_fields = ["job__definition__note"]
    list_select_related = ["job"]
    fields = ["job", "number", "leads", "created_at"]
    readonly_fields = fields


@admin.register(DefinitionPreview)
class DefinitionPreviewAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["definition", "status", "leads_considered", "created_at", "finished_at"]
    list_filter = ["status"]
    search_fields = ["definition__note"]
    list_select_related = ["definition"]
    fields = [
        "definition",
        "status",
        "rules_digest",
        "leads_considered",
        "result",
        "created_by",
        "finished_at",
        "error",
    ]
    readonly_fields = fields
