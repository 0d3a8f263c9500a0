"""The lead filters, shared by the marketers' inbox page and ``GET /api/leads/``, and the API's
filters for the reference data beside them."""

from __future__ import annotations

import datetime

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Lookup, Q, QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from leads.models import Account, AuditEvent, Campaign, Contact, Lead, LeadDefinition, Source, Stage


class UtcIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 moment, turned into UTC: PostgreSQL refuses offsets past ±15:59 ("+23:18"), which
    Python parses, so the query would fail with a 500 instead of answering (found by schemathesis)."""

    def to_python(self, value: object) -> datetime.datetime | None:
        moment = super().to_python(value)
        if moment is None or moment.tzinfo is None:
            return moment
        try:
            return moment.astimezone(datetime.UTC)
        except OverflowError as exc:
            raise forms.ValidationError("Enter a date and time within years 1 to 9999.", code="invalid") from exc


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


@extend_schema_field(OpenApiTypes.STR)
class SlugMultipleChoiceFilter(django_filters.ModelMultipleChoiceFilter):
    """Several objects by slug (``?source=web&source=events``), documented as strings in the API schema.

    Without DISTINCT: the slug is on a foreign key, so no lead can match twice, and ``SELECT DISTINCT``
    over every lead column cost 80 ms a page at 100,000 leads (bench/scale.py).
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("distinct", False)
        super().__init__(*args, **kwargs)

    def get_filter_predicate(self, v: models.Model) -> dict[str, models.Model]:
        """The object the slug named, on the foreign key (``source_id = 3``), not a join on its slug: the
        planner then walks ``(source, -created_at)`` instead of the newest-first index with a join filter
        (a source with a tenth of a million leads: 11,000 rows walked, 150 ms)."""
        return {self.field_name.rsplit(LOOKUP_SEP, 1)[0]: v}


class IContainsAny(Lookup):
    """``UPPER(col::text) LIKE ANY(ARRAY[UPPER('%a%'), UPPER('%b%')])``: ``col__icontains`` any of the terms
    (PostgreSQL). The same expression as ``icontains``, so the trigram indexes (leads/0008) serve it, but the
    column is upper-cased once a row for all the terms instead of once a term: when the planner walks the
    newest-first index for a common search term, those calls are about half of what a row costs."""

    lookup_name = "icontains_any"
    prepare_rhs = False

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, list[object]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        column = connection.ops.lookup_cast("icontains", self.lhs.output_field.get_internal_type()) % lhs
        patterns = [f"%{connection.ops.prep_for_like_query(term)}%" for term in self.rhs]
        return f"{column} LIKE ANY(ARRAY[{', '.join(['UPPER(%s)'] * len(patterns))}])", [*lhs_params, *patterns]


class LeadFilter(django_filters.FilterSet):
    stage = django_filters.MultipleChoiceFilter(choices=Stage.choices, distinct=False)  # a column: no duplicates
    status = django_filters.ChoiceFilter(choices=Lead.Status.choices)
    pipeline_state = django_filters.ChoiceFilter(choices=Lead.PipelineState.choices)
    source = SlugMultipleChoiceFilter(field_name="source__slug", to_field_name="slug", queryset=Source.objects.all())
    campaign = SlugMultipleChoiceFilter(
        field_name="campaign__slug", to_field_name="slug", queryset=Campaign.objects.all()
    )
    owner = django_filters.ModelChoiceFilter(queryset=get_user_model().objects.filter(is_active=True))
    unowned = django_filters.BooleanFilter(field_name="owner", lookup_expr="isnull", label="Unowned")
    score_min = django_filters.NumberFilter(field_name="score", lookup_expr="gte", label="Score at least")
    score_max = django_filters.NumberFilter(field_name="score", lookup_expr="lte", label="Score at most")
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    junk_reason = django_filters.CharFilter(lookup_expr="icontains")
    country = django_filters.CharFilter(lookup_expr="iexact")
    import_job = django_filters.NumberFilter(field_name="import_job", label="Import")
    revisit_due = django_filters.BooleanFilter(
        method="filter_revisit_due",
        label="Due for revisit",
        help_text="Recycled leads in nurture whose revisit date has come (true), or not (false)",
    )
    q = django_filters.CharFilter(method="filter_search", label="Search")

    class Meta:
        model = Lead
        fields = ["stage", "status", "pipeline_state", "source", "campaign", "owner", "country"]

    def filter_revisit_due(self, queryset: QuerySet[Lead], name: str, value: bool | None) -> QuerySet[Lead]:
        """On ``revisit_on``'s partial index: recycled leads back on marketing's desk."""
        due = Q(stage=Stage.NURTURE, revisit_on__lte=timezone.localdate())
        if value is None:
            return queryset
        return queryset.filter(due) if value else queryset.exclude(due)

    def filter_search(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        """Name, e-mail, company or e-mail domain; e-mail prefix matches use the e-mail index.

        The whole term is looked for in the company and the e-mail, and at the start of the domain; each of
        its first three words in the first and the last name."""
        value = value.strip()
        if not value:
            return queryset
        if "@" in value:
            return queryset.filter(email__startswith=value.lower())
        q = Q(company__icontains=value) | Q(email__icontains=value) | Q(company_domain__startswith=value.lower())
        parts = value.split()[:3]
        if connections[queryset.db].vendor == "postgresql":
            q |= Q(IContainsAny(F("first_name"), parts)) | Q(IContainsAny(F("last_name"), parts))
        else:
            for part in parts:
                q |= Q(first_name__icontains=part) | Q(last_name__icontains=part)
        return queryset.filter(q)


class AccountFilter(django_filters.FilterSet):
    domain = django_filters.CharFilter(lookup_expr="iexact")
    industry = django_filters.CharFilter(lookup_expr="iexact")
    country = django_filters.CharFilter(lookup_expr="iexact")
    owner = django_filters.CharFilter(field_name="owner__username", label="Owner's username")
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name contains")

    class Meta:
        model = Account
        fields = ["domain", "industry", "country", "owner"]


class ContactFilter(django_filters.FilterSet):
    account = django_filters.NumberFilter(field_name="account_id")
    email = django_filters.CharFilter(lookup_expr="iexact")
    q = django_filters.CharFilter(method="filter_search", label="Search")

    class Meta:
        model = Contact
        fields = ["account", "email"]

    def filter_search(self, queryset: QuerySet[Contact], name: str, value: str) -> QuerySet[Contact]:
        """First name, last name or e-mail."""
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(first_name__icontains=value) | Q(last_name__icontains=value) | Q(email__icontains=value)
        )


class SourceFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Source.Kind.choices)

    class Meta:
        model = Source
        fields = ["kind", "is_active"]


class CampaignFilter(django_filters.FilterSet):
    source = django_filters.CharFilter(field_name="source__slug", label="Source slug")
    active_on = django_filters.DateFilter(method="filter_active_on", label="Running on this date")

    class Meta:
        model = Campaign
        fields = ["source"]

    def filter_active_on(self, queryset: QuerySet[Campaign], name: str, value: datetime.date) -> QuerySet[Campaign]:
        return queryset.filter(
            Q(starts_on__isnull=True) | Q(starts_on__lte=value), Q(ends_on__isnull=True) | Q(ends_on__gte=value)
        )


class LeadDefinitionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=LeadDefinition.Status.choices)

    class Meta:
        model = LeadDefinition
        fields = ["status"]


class AuditEventFilter(django_filters.FilterSet):
    action = django_filters.CharFilter(help_text='Exact, e.g. "lead.stage_change"')
    action_prefix = django_filters.CharFilter(field_name="action", lookup_expr="startswith", label="Action prefix")
    object_type = django_filters.CharFilter(method="filter_object_type", label='The object\'s "app_label.model"')
    object_id = django_filters.CharFilter()
    actor = django_filters.CharFilter(field_name="actor__username", label="Actor's username")
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["action", "object_id", "actor"]

    def filter_object_type(self, queryset: QuerySet[AuditEvent], name: str, value: str) -> QuerySet[AuditEvent]:
        app_label, _, model = value.strip().lower().partition(".")
        return queryset.filter(content_type__app_label=app_label, content_type__model=model)
