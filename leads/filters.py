"""The lead filters, shared by the marketers' inbox page and ``GET /api/leads/``."""

from __future__ import annotations

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from leads.models import Campaign, Lead, Source, Stage


class LeadFilter(django_filters.FilterSet):
    stage = django_filters.MultipleChoiceFilter(choices=Stage.choices)
    status = django_filters.ChoiceFilter(choices=Lead.Status.choices)
    pipeline_state = django_filters.ChoiceFilter(choices=Lead.PipelineState.choices)
    source = django_filters.ModelMultipleChoiceFilter(
        field_name="source__slug", to_field_name="slug", queryset=Source.objects.all()
    )
    campaign = django_filters.ModelMultipleChoiceFilter(
        field_name="campaign__slug", to_field_name="slug", queryset=Campaign.objects.all()
    )
    owner = django_filters.ModelChoiceFilter(queryset=get_user_model().objects.filter(is_active=True))
    unowned = django_filters.BooleanFilter(field_name="owner", lookup_expr="isnull", label="Unowned")
    score_min = django_filters.NumberFilter(field_name="score", lookup_expr="gte", label="Score at least")
    score_max = django_filters.NumberFilter(field_name="score", lookup_expr="lte", label="Score at most")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    junk_reason = django_filters.CharFilter(lookup_expr="icontains")
    country = django_filters.CharFilter(lookup_expr="iexact")
    q = django_filters.CharFilter(method="filter_search", label="Search")

    class Meta:
        model = Lead
        fields = ["stage", "status", "pipeline_state", "source", "campaign", "owner", "country"]

    def filter_search(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        """Name, e-mail, company or e-mail domain; e-mail prefix matches use the e-mail index."""
        value = value.strip()
        if not value:
            return queryset
        if "@" in value:
            return queryset.filter(email__startswith=value.lower())
        q = Q(company__icontains=value) | Q(email__icontains=value) | Q(company_domain__startswith=value.lower())
        for part in value.split()[:3]:
            q |= Q(first_name__icontains=part) | Q(last_name__icontains=part)
        return queryset.filter(q)
