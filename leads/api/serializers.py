"""Serializers for leads and their reference data. They translate JSON; the services decide."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from leads.models import (
    Account,
    Activity,
    AuditEvent,
    Campaign,
    Contact,
    Lead,
    LeadDefinition,
    Reason,
    Source,
    SourceRecord,
    Stage,
    StageChange,
)
from leads.services import LEAD_EDITABLE_FIELDS
from routing.models import Rejection

User = get_user_model()


class StrictFieldsMixin:
    """Refuse fields the client may not write, instead of silently dropping them.

    ``field_hints`` gives a better message for a field that is changed elsewhere.
    """

    field_hints: Mapping[str, str] = {}
    unknown_field_hint = "This field cannot be written here."

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}  # type: ignore[attr-defined]
            refused = sorted(set(data) - writable)
            if refused:
                raise serializers.ValidationError(
                    {name: [self.field_hints.get(name, self.unknown_field_hint)] for name in refused}
                )
        return super().to_internal_value(data)  # type: ignore[misc]


def country_code(value: str) -> str:
    """A two-letter ISO 3166-1 code, upper-cased; empty stays empty."""
    value = value.strip().upper()
    if value and not (len(value) == 2 and value.isascii() and value.isalpha()):
        raise serializers.ValidationError("Use a two-letter ISO 3166-1 country code, e.g. US.")
    return value


def check_date_order(attrs: Mapping[str, Any], instance: Any, start: str, end: str, message: str) -> None:
    """The cross-field database constraints, checked here too so the 400 names the field."""
    first = attrs.get(start, getattr(instance, start, None))
    last = attrs.get(end, getattr(instance, end, None))
    if first is not None and last is not None and last < first:
        raise serializers.ValidationError({end: [message]})


# --- Leads ---------------------------------------------------------------------------------


class ScoreLineSerializer(serializers.Serializer):
    """One line of a score's explanation; the lines add up to the score."""

    rule = serializers.CharField()
    kind = serializers.ChoiceField(choices=["fit", "engagement"])
    label = serializers.CharField()
    points = serializers.IntegerField()
    base_points = serializers.IntegerField()
    age_days = serializers.FloatField(allow_null=True)
    text = serializers.CharField(help_text='In plain words, e.g. "+15 Visited pricing page 2 days ago"')


@extend_schema_field(ScoreLineSerializer(many=True))
class ScoreBreakdownField(serializers.JSONField):
    """Stored as JSON by the scoring engine; documented line by line."""


class SourceRecordSerializer(serializers.ModelSerializer):
    source = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = SourceRecord
        fields = ["source", "external_id"]


class LeadSerializer(serializers.ModelSerializer):
    """A lead as the API shows it. Stage, owner and score change only through their actions."""

    full_name = serializers.CharField(read_only=True)
    # Read-only model fields lose ``allow_blank``, so the schema would forbid the "" an unrecognised title gives.
    seniority = serializers.ChoiceField(choices=Lead.Seniority.choices, allow_blank=True, read_only=True)
    source = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    campaign = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    definition_version = serializers.IntegerField(
        source="definition.version",
        read_only=True,
        allow_null=True,
        help_text="The lead definition version that produced the score",
    )
    score_breakdown = ScoreBreakdownField(read_only=True)
    source_record_ids = SourceRecordSerializer(
        source="source_records",
        many=True,
        read_only=True,
        help_text="Every source-system record merged into this lead",
    )

    class Meta:
        model = Lead
        fields = [
            "id",
            "full_name",
            *LEAD_EDITABLE_FIELDS,
            "source",
            "campaign",
            "account",
            "contact",
            "stage",
            "status",
            "pipeline_state",
            "junk_reason",
            "merged_into",
            "score",
            "fit_score",
            "engagement_score",
            "score_breakdown",
            "scored_at",
            "definition_version",
            "owner",
            "assigned_at",
            "accepted_at",
            "sla_due_at",
            "last_activity_at",
            "stage_changed_at",
            "converted_at",
            "revisit_on",
            "source_record_ids",
            "invalid_fields",
            "extra",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


_LEAD_FIELD_HINTS = {
    "stage": "Change the stage with POST /api/leads/{id}/stage/.",
    "owner": "A lead gets its owner from routing or POST /api/leads/{id}/claim/.",
    **dict.fromkeys(("score", "fit_score", "engagement_score"), "The score is computed from the lead definition."),
}


class LeadUpdateSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """What PATCH /api/leads/{id}/ may change. Values are cleaned as intake cleans them; an invalid one is a 400."""

    field_hints = _LEAD_FIELD_HINTS

    class Meta:
        model = Lead
        fields = list(LEAD_EDITABLE_FIELDS)


def _text(help_text: str = "") -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, max_length=5000, help_text=help_text)


class LeadCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    """A new lead. It goes through intake like a web form's: stored as sent, then normalized,
    deduplicated, screened, scored and routed in the background. A value that does not validate
    (an e-mail, a phone number) is kept as entered and listed in the lead's ``invalid_fields``."""

    field_hints = _LEAD_FIELD_HINTS
    unknown_field_hint = 'Unknown field; send free-form fields inside "extra".'

    source = serializers.SlugRelatedField(slug_field="slug", queryset=Source.objects.all())
    campaign = serializers.SlugRelatedField(
        slug_field="slug", queryset=Campaign.objects.all(), required=False, allow_null=True
    )
    external_id = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="The record's id in the source system: a second submission with it is added to the same lead.",
    )
    first_name = _text()
    last_name = _text()
    name = _text("The full name, when first and last name are not sent apart")
    email = _text()
    phone = _text("Any format; read in the lead's country unless it starts with +")
    company = _text()
    website = _text()
    title = _text("Job title; seniority and function are recognised from it")
    industry = _text()
    employees = _text('Head count: "250", "51-200" or "5000+"')
    street = _text()
    city = _text()
    state = _text()
    postal_code = _text()
    country = _text("Code or name: US, USA, Germany")
    extra = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=5000),
        required=False,
        help_text="Free-form fields, kept with the lead",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        campaign = attrs.get("campaign")
        if campaign is not None and campaign.source_id != attrs["source"].pk:
            raise serializers.ValidationError(
                {"campaign": [f"Campaign {campaign.slug!r} belongs to another source, not {attrs['source'].slug!r}."]}
            )
        return attrs

    def to_payload(self) -> dict[str, str]:
        """The submission as intake stores it: one flat object of strings."""
        data = dict(self.validated_data)
        data.pop("source")
        campaign = data.pop("campaign", None)
        payload = {**data.pop("extra", {}), **data}
        if campaign is not None:
            payload["campaign"] = campaign.slug
        return payload


class LeadSubmissionSerializer(serializers.Serializer):
    """The answer to a new lead: the stored submission, and the lead as far as it is processed."""

    submission_id = serializers.UUIDField(read_only=True, help_text="The tracking id of the stored submission")
    lead = LeadSerializer(read_only=True)


class StageChangeRequestSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices)
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=5000,
        help_text="Free text: why. Required for nurture unless a recycled reason_code is given.",
    )
    reason_code = serializers.PrimaryKeyRelatedField(
        queryset=Reason.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="A reason from GET /api/reasons/: required for lost (a lost reason) and junk (a disqualified "
        "reason); a recycled reason with revisit_on recycles the lead to nurture, back to marketing.",
    )
    revisit_on = serializers.DateField(
        required=False, allow_null=True, default=None, help_text="Recycling: the date to look at the lead again"
    )


class RejectRequestSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(
        choices=Rejection.Reason.choices,
        help_text="Not ready: to nurture. Junk: to junk. Duplicate: unassigned for marketing to review. "
        "Wrong territory, not a fit: routed again, to another rep or overflow.",
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class ReassignRequestSerializer(serializers.Serializer):
    rep = serializers.IntegerField(help_text="The user id of the rep to give the lead to")
    reason = serializers.CharField(required=False, allow_blank=True, default="", help_text="Why, for the timeline")


class ActivitySerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Activity
        fields = ["id", "kind", "occurred_at", "subject", "url", "body", "actor", "meta", "created_at"]
        read_only_fields = fields


# The stage choices are one enum, StageEnum (named after ``Lead.stage``), wherever they appear;
# without this, "from_stage" and "to_stage" would give the same choice set two more names.
@extend_schema_field({"$ref": "#/components/schemas/StageEnum"})
class StageField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Stage.choices, **kwargs)


class ReasonSerializer(serializers.ModelSerializer):
    """An entry of the admin-kept reason lists."""

    class Meta:
        model = Reason
        fields = ["id", "kind", "label", "is_active", "position"]


class StageChangeSerializer(serializers.ModelSerializer):
    from_stage = StageField(read_only=True)
    to_stage = StageField(read_only=True)
    actor = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Empty when the pipeline moved it"
    )
    reason_code = ReasonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = StageChange
        fields = ["id", "from_stage", "to_stage", "actor", "reason", "reason_code", "created_at"]
        read_only_fields = fields


# --- Reference data ------------------------------------------------------------------------


class AccountSerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )

    class Meta:
        model = Account
        fields = [
            "id",
            "name",
            "domain",
            "industry",
            "employees",
            "country",
            "state",
            "postal_code",
            "owner",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate_domain(self, value: str) -> str:
        value = value.strip().lower().removeprefix("www.")
        if value and ("." not in value or "/" in value or " " in value):
            raise serializers.ValidationError("Give a bare web domain, e.g. acme.com.")
        if value and Account.objects.filter(domain=value).exclude(pk=getattr(self.instance, "pk", None)).exists():
            raise serializers.ValidationError(f"Another account already has the domain {value}.")
        return value

    def validate_country(self, value: str) -> str:
        return country_code(value)


class ContactSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)

    class Meta:
        model = Contact
        fields = ["id", "account", "first_name", "last_name", "email", "phone", "title", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def validate_email(self, value: str) -> str:
        return value.strip().lower()


class SourceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Source
        fields = [
            "id",
            "name",
            "slug",
            "kind",
            "trust",
            "is_active",
            "rate_limit_per_minute",
            "api_key_prefix",
            "previous_api_key_expires_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["api_key_prefix", "previous_api_key_expires_at", "created_at", "updated_at"]
        extra_kwargs = {
            "trust": {"min_value": 0, "max_value": 100},
            "api_key_prefix": {"help_text": "The first characters of the current API key, to tell keys apart"},
            "previous_api_key_expires_at": {
                "help_text": "Until when the key before the last rotation still works (empty: it no longer does)"
            },
        }


class SourceRotateKeySerializer(serializers.Serializer):
    grace_hours = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=24 * 90,
        help_text="Hours the old key keeps working beside the new one (default SOURCE_KEY_GRACE_HOURS; "
        "0 revokes it at once, e.g. when it leaked)",
    )


class SourceKeySerializer(serializers.Serializer):
    """A source and its new API key. The key is shown this once; only its hash is stored."""

    source = SourceSerializer(read_only=True)
    api_key = serializers.CharField(read_only=True, help_text="The source's API key; shown only once")


class CampaignSerializer(serializers.ModelSerializer):
    source = serializers.SlugRelatedField(
        slug_field="slug", queryset=Source.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Campaign
        fields = ["id", "name", "slug", "source", "cost", "starts_on", "ends_on", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {"cost": {"min_value": 0}}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        check_date_order(attrs, self.instance, "starts_on", "ends_on", "A campaign cannot end before it starts.")
        return attrs


class LeadDefinitionSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    published_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    mql_threshold = serializers.IntegerField(read_only=True, help_text="The score at which a lead becomes an MQL")

    class Meta:
        model = LeadDefinition
        fields = [
            "version",
            "status",
            "note",
            "rules",
            "mql_threshold",
            "author",
            "published_at",
            "published_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    object_type = serializers.SerializerMethodField(help_text='The changed object\'s "app_label.model"')

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "actor",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "changes",
            "ip_address",
            "created_at",
        ]
        read_only_fields = fields

    def get_object_type(self, event: AuditEvent) -> str:
        return f"{event.content_type.app_label}.{event.content_type.model}"
