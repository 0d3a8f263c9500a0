"""Serializers for territories and reps. They translate JSON; ``routing.services`` decides."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from leads.api.serializers import StrictFieldsMixin, check_date_order, country_code
from leads.models import Lead, Stage
from routing.models import Assignment, OverflowEntry, Rep, Territory, TerritoryMembership
from routing.services import REP_SELF_SERVICE_FIELDS

User = get_user_model()


class TerritoryRepSerializer(serializers.ModelSerializer):
    """A rep's seat in a territory."""

    rep = serializers.IntegerField(source="rep_id", read_only=True)
    username = serializers.CharField(source="rep.user.username", read_only=True)

    class Meta:
        model = TerritoryMembership
        fields = ["rep", "username", "weight"]
        read_only_fields = fields


class TerritorySerializer(serializers.ModelSerializer):
    countries = serializers.ListField(
        child=serializers.CharField(max_length=2), required=False, help_text="ISO country codes; empty matches any"
    )
    regions = serializers.ListField(child=serializers.CharField(max_length=100), required=False)
    postal_prefixes = serializers.ListField(child=serializers.CharField(max_length=20), required=False)
    industries = serializers.ListField(child=serializers.CharField(max_length=100), required=False)
    manager = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    reps = TerritoryRepSerializer(
        source="memberships", many=True, read_only=True, help_text="Reps and their round-robin weights"
    )

    class Meta:
        model = Territory
        fields = [
            "id",
            "name",
            "slug",
            "priority",
            "countries",
            "regions",
            "postal_prefixes",
            "industries",
            "min_employees",
            "max_employees",
            "manager",
            "is_active",
            "reps",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate_countries(self, value: list[str]) -> list[str]:
        codes = [country_code(code) for code in value]
        if "" in codes:
            raise serializers.ValidationError("Country codes cannot be empty.")
        return codes

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        check_date_order(
            attrs, self.instance, "min_employees", "max_employees", "The largest size cannot be below the smallest."
        )
        return attrs


class RepTerritorySerializer(serializers.ModelSerializer):
    territory = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    name = serializers.CharField(source="territory.name", read_only=True)

    class Meta:
        model = TerritoryMembership
        fields = ["territory", "name", "weight"]
        read_only_fields = fields


class RepSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    full_name = serializers.CharField(source="user.get_full_name", read_only=True)
    territories = RepTerritorySerializer(source="memberships", many=True, read_only=True)
    open_leads = serializers.IntegerField(read_only=True, help_text="Owned, active leads in MQL, SAL or SQL")
    new_today = serializers.IntegerField(
        read_only=True, default=0, help_text="Leads given to the rep since midnight in their time zone"
    )

    class Meta:
        model = Rep
        fields = [
            "id",
            "username",
            "full_name",
            "territories",
            "max_open_leads",
            "max_new_per_day",
            "open_leads",
            "new_today",
            "min_score",
            "is_available",
            "out_of_office_until",
            "backup",
            "timezone",
            "work_start",
            "work_end",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class RepUpdateSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """What an admin may change on any rep; a rep may change only their appetite and availability."""

    class Meta:
        model = Rep
        fields = [
            "max_open_leads",
            "max_new_per_day",
            "min_score",
            "is_available",
            "out_of_office_until",
            "backup",
            "timezone",
            "work_start",
            "work_end",
        ]


class RepSelfUpdateSerializer(RepUpdateSerializer):
    """What a rep may change on their own profile."""

    field_hints = dict.fromkeys(
        RepUpdateSerializer.Meta.fields,
        "Only an admin may change this; you may change min_score, is_available and out_of_office_until.",
    )

    class Meta(RepUpdateSerializer.Meta):
        fields = sorted(REP_SELF_SERVICE_FIELDS)


class OverflowEntrySerializer(serializers.ModelSerializer):
    """A lead waiting in overflow: nobody had room for it when it was routed."""

    lead = serializers.IntegerField(source="lead_id", read_only=True)
    name = serializers.CharField(source="lead.__str__", read_only=True)
    email = serializers.CharField(source="lead.email", read_only=True)
    company = serializers.CharField(source="lead.company", read_only=True)
    current_score = serializers.IntegerField(source="lead.score", read_only=True)
    territory = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = OverflowEntry
        fields = ["lead", "name", "email", "company", "score", "current_score", "territory", "reason", "created_at"]
        read_only_fields = fields


class AssignmentSerializer(serializers.ModelSerializer):
    rep = serializers.IntegerField(source="rep_id", read_only=True)
    username = serializers.CharField(source="rep.user.username", read_only=True, default=None)
    territory = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    assigned_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Assignment
        fields = ["id", "lead", "rep", "username", "territory", "rule", "reason", "assigned_by", "created_at"]
        read_only_fields = fields


class QueueLeadSerializer(serializers.ModelSerializer):
    """A lead as the rep's queue shows it: who, how hot and why, and by when it needs an answer."""

    name = serializers.CharField(source="full_name", read_only=True)
    source = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    waiting_for_answer = serializers.SerializerMethodField()

    class Meta:
        model = Lead
        fields = [
            "id", "name", "email", "company", "title", "stage", "score", "fit_score", "engagement_score",
            "score_breakdown", "source", "assigned_at", "accepted_at", "sla_due_at", "waiting_for_answer",
        ]  # fmt: skip
        read_only_fields = fields

    def get_waiting_for_answer(self, lead: Lead) -> bool:
        """An MQL the rep has not accepted or rejected yet (it counts against their capacity)."""
        return lead.stage == Stage.MQL and lead.accepted_at is None
