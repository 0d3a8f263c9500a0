"""Serializers for duplicates, the review queue and merges. They translate JSON; the services decide."""

from __future__ import annotations

from rest_framework import serializers

from dedupe.models import DuplicateCandidate, Merge
from dedupe.services import MERGE_FIELDS
from leads.models import Lead


class LeadBriefSerializer(serializers.ModelSerializer):
    """What a reviewer compares side by side."""

    source = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    status = serializers.CharField(read_only=True, help_text="active or merged")

    class Meta:
        model = Lead
        fields = ["id", "status", "stage", "owner", "source", "created_at", *MERGE_FIELDS]
        read_only_fields = fields


class PossibleDuplicateSerializer(serializers.Serializer):
    lead = LeadBriefSerializer()
    score = serializers.FloatField(help_text="0..1: how likely the two are one person")
    reasons = serializers.ListField(child=serializers.CharField())
    automatic = serializers.BooleanField(help_text="At or above the auto-merge threshold")


class DuplicateCandidateSerializer(serializers.ModelSerializer):
    lead_a = LeadBriefSerializer(read_only=True)
    lead_b = LeadBriefSerializer(read_only=True)
    reasons = serializers.ListField(child=serializers.CharField(), read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    # Plain text in the schema: another "status" enum would collide with the leads' in component names.
    status = serializers.CharField(read_only=True, help_text="open, merged or dismissed (not a duplicate)")

    class Meta:
        model = DuplicateCandidate
        fields = ["id", "lead_a", "lead_b", "score", "reasons", "status", "decided_by", "decided_at", "created_at"]
        read_only_fields = fields


_CHOICES = serializers.DictField(
    child=serializers.ChoiceField(choices=["survivor", "merged"]),
    required=False,
    default=dict,
    help_text=f'Per field, whose value to keep: {{"title": "merged"}}. Fields: {", ".join(MERGE_FIELDS)}; '
    "the others follow the survivorship policy (the most recent non-empty value, or the most trusted source).",
)


class LeadMergeRequestSerializer(serializers.Serializer):
    other = serializers.IntegerField(help_text="The lead merged into this one (this one survives)")
    fields = _CHOICES


class CandidateMergeRequestSerializer(serializers.Serializer):
    survivor = serializers.IntegerField(help_text="Which lead of the pair survives")
    fields = _CHOICES


class MergeSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    undone_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    reasons = serializers.ListField(child=serializers.CharField(), read_only=True)
    field_sources = serializers.DictField(child=serializers.IntegerField(), read_only=True)
    moved = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), read_only=True)

    class Meta:
        model = Merge
        fields = [
            "id", "survivor", "merged", "score", "reasons", "automatic", "field_sources", "moved", "actor",
            "created_at", "undone_at", "undone_by",
        ]  # fmt: skip
        read_only_fields = fields
