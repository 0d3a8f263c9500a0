"""Serializers for territories and reps. They translate JSON; ``routing.services`` decides."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from leads.api.serializers import StrictFieldsMixin, check_date_order, country_code
from leads.models import Lead, Stage
from routing.models import Assignment, Notification, OverflowEntry, Rep, Territory, TerritoryMembership
from routing.preview import LEAD_FIELDS_ROUTED
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


class SeatInputSerializer(serializers.Serializer):
    """A rep to seat in the territory, with their round-robin weight."""

    rep = serializers.PrimaryKeyRelatedField(queryset=Rep.objects.all(), help_text="Rep id")
    weight = serializers.IntegerField(min_value=1, max_value=100, default=1)


class PostalRangeField(serializers.ListField):
    """``["10000", "14999"]``: an inclusive range of postal codes of one length."""

    child = serializers.CharField(max_length=20)

    def to_internal_value(self, data: Any) -> list[str]:
        pair = super().to_internal_value(data)
        if len(pair) != 2:
            raise serializers.ValidationError('Give a range as two codes, from and to, e.g. ["10000", "14999"].')
        low, high = ("".join(code.split()).upper() for code in pair)
        if len(low) != len(high):
            raise serializers.ValidationError(f"{low} and {high}: both ends need the same number of characters.")
        if low > high:
            raise serializers.ValidationError(f"{low} to {high}: the range must start below where it ends.")
        return [low, high]


class TerritorySerializer(serializers.ModelSerializer):
    countries = serializers.ListField(
        child=serializers.CharField(max_length=2), required=False, help_text="ISO country codes; empty matches any"
    )
    regions = serializers.ListField(child=serializers.CharField(max_length=100), required=False)
    postal_prefixes = serializers.ListField(child=serializers.CharField(max_length=20), required=False)
    postal_ranges = serializers.ListField(
        child=PostalRangeField(), required=False, help_text='Inclusive ranges, e.g. [["10000", "14999"]]'
    )
    industries = serializers.ListField(child=serializers.CharField(max_length=100), required=False)
    named_accounts = serializers.ListField(
        child=serializers.CharField(max_length=253),
        required=False,
        help_text="Company domains or names; when set, only their leads match",
    )
    manager = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    reps = TerritoryRepSerializer(
        source="memberships", many=True, read_only=True, help_text="Reps and their round-robin weights"
    )
    seats = SeatInputSerializer(
        many=True,
        write_only=True,
        required=False,
        help_text="Replaces the territory's reps: [{rep, weight}]; a rep who keeps a seat keeps its round-robin count",
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
            "postal_ranges",
            "industries",
            "min_employees",
            "max_employees",
            "named_accounts",
            "manager",
            "is_active",
            "reps",
            "seats",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate_countries(self, value: list[str]) -> list[str]:
        codes = [country_code(code) for code in value]
        if "" in codes:
            raise serializers.ValidationError("Country codes cannot be empty.")
        return codes

    def validate_seats(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        reps = [seat["rep"].pk for seat in value]
        twice = sorted({pk for pk in reps if reps.count(pk) > 1})
        if twice:
            raise serializers.ValidationError(f"Rep {', '.join(map(str, twice))} is listed twice; give one seat.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        check_date_order(
            attrs, self.instance, "min_employees", "max_employees", "The largest size cannot be below the smallest."
        )
        return attrs

    def seats_given(self) -> dict[int, int] | None:
        """The validated seats as rep id -> weight, or ``None`` when the request left them out."""
        seats = self.validated_data.get("seats")
        return None if seats is None else {seat["rep"].pk: seat["weight"] for seat in seats}

    def criteria(self) -> dict[str, Any]:
        return {name: value for name, value in self.validated_data.items() if name != "seats"}


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
    open_leads = serializers.IntegerField(
        read_only=True, help_text="Open, unworked leads (owned active MQLs not yet accepted): what max_open_leads caps"
    )
    new_today = serializers.IntegerField(
        read_only=True, default=0, help_text="Leads given to the rep since midnight in their time zone"
    )
    sla_breaches = serializers.IntegerField(
        source="breaches_30d", read_only=True, default=0, help_text="SLAs the rep let lapse in the last 30 days"
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
            "sla_breaches",
            "min_score",
            "is_available",
            "out_of_office_from",
            "out_of_office_until",
            "backup",
            "timezone",
            "work_start",
            "work_end",
            "work_days",
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
            "out_of_office_from",
            "out_of_office_until",
            "backup",
            "timezone",
            "work_start",
            "work_end",
            "work_days",
        ]


class RepSelfUpdateSerializer(RepUpdateSerializer):
    """What a rep may change on their own profile."""

    field_hints = dict.fromkeys(
        RepUpdateSerializer.Meta.fields,
        "Only an admin may change this; you may change min_score, is_available, out_of_office_from and "
        "out_of_office_until.",
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


class NotificationSerializer(serializers.ModelSerializer):
    lead = serializers.IntegerField(source="lead_id", read_only=True, allow_null=True)

    class Meta:
        model = Notification
        fields = ["id", "kind", "lead", "title", "body", "read_at", "created_at"]
        read_only_fields = fields


class NotificationsReadSerializer(serializers.Serializer):
    marked_read = serializers.IntegerField(help_text="How many notifications were unread and now are read")


class RouteTestRequestSerializer(StrictFieldsMixin, serializers.Serializer):
    """An existing lead's id, or the fields routing reads of a lead."""

    lead = serializers.IntegerField(required=False, min_value=1, help_text="An existing lead's id")
    country = serializers.CharField(required=False, allow_blank=True, max_length=2)
    state = serializers.CharField(required=False, allow_blank=True, max_length=100)
    postal_code = serializers.CharField(required=False, allow_blank=True, max_length=20)
    industry = serializers.CharField(required=False, allow_blank=True, max_length=100)
    employees = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    company = serializers.CharField(required=False, allow_blank=True, max_length=200)
    company_domain = serializers.CharField(required=False, allow_blank=True, max_length=253)
    score = serializers.IntegerField(required=False, default=0, min_value=-1000, max_value=1000)

    def validate_country(self, value: str) -> str:
        return country_code(value) if value else ""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("lead") is None and not any(attrs.get(name) not in (None, "") for name in LEAD_FIELDS_ROUTED):
            raise serializers.ValidationError("Give an existing lead's id, or some of its fields.")
        return attrs


class TerritoryVerdictSerializer(serializers.Serializer):
    territory = serializers.SlugField(source="territory.slug")
    name = serializers.CharField(source="territory.name")
    priority = serializers.IntegerField(source="territory.priority")
    chosen = serializers.BooleanField()
    why = serializers.CharField()


class SeatVerdictSerializer(serializers.Serializer):
    rep = serializers.IntegerField(source="rep_id")
    name = serializers.CharField()
    weight = serializers.IntegerField()
    routed_count = serializers.IntegerField()
    chosen = serializers.BooleanField()
    why = serializers.CharField()


class RoutePreviewSerializer(serializers.Serializer):
    """Where the lead would go now (nothing was assigned), and why every territory and seat was or was not chosen."""

    lead = serializers.IntegerField(source="lead.pk", allow_null=True)
    rule = serializers.ChoiceField(choices=Assignment.Rule.choices)
    rule_label = serializers.CharField()
    reason = serializers.CharField()
    rep = serializers.IntegerField(source="rep.pk", allow_null=True, default=None)
    username = serializers.CharField(source="rep.user.username", allow_null=True, default=None)
    territory = serializers.SlugField(source="territory.slug", allow_null=True, default=None)
    territories = TerritoryVerdictSerializer(many=True)
    seats = SeatVerdictSerializer(many=True)
