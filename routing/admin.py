"""The Django admin for territories, reps and their seats in territories."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from leads.admin import ReadOnlyAdminMixin, SlugFixedAfterCreateMixin
from routing.forms import RepHoursMixin, TerritoryCriteriaMixin
from routing.models import (
    Assignment,
    Notification,
    OverflowEntry,
    Rejection,
    Rep,
    SlaBreach,
    Territory,
    TerritoryMembership,
)
from routing.selectors import reps_with_open_leads


class TerritoryAdminForm(TerritoryCriteriaMixin, forms.ModelForm):
    """Criteria typed as comma-separated lists. (No ``Meta``: the admin makes it from its fieldsets.)"""


class MembershipInline(admin.TabularInline):
    model = TerritoryMembership
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[TerritoryMembership]:
        return super().get_queryset(request).select_related("territory", "rep__user")


class TerritoryMembershipInline(MembershipInline):
    """On a territory's page: its reps."""

    fields = ["rep", "weight", "routed_count", "last_routed_at"]
    readonly_fields = ["routed_count", "last_routed_at"]
    autocomplete_fields = ["rep"]


class RepMembershipInline(MembershipInline):
    """On a rep's page: their territories."""

    fields = ["territory", "weight"]
    autocomplete_fields = ["territory"]


@admin.register(Territory)
class TerritoryAdmin(SlugFixedAfterCreateMixin, admin.ModelAdmin):
    form = TerritoryAdminForm
    list_display = ["name", "priority", "country_list", "region_list", "manager", "rep_count", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    list_select_related = ["manager"]
    autocomplete_fields = ["manager"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [TerritoryMembershipInline]
    fieldsets = [
        (None, {"fields": ["name", "slug", "priority", "manager", "is_active"]}),
        (
            "Criteria (empty matches anything)",
            {
                "fields": [
                    "countries",
                    "regions",
                    ("postal_prefixes", "postal_ranges"),
                    "industries",
                    ("min_employees", "max_employees"),
                    "named_accounts",
                ]
            },
        ),
        ("Timestamps", {"classes": ["collapse"], "fields": ["created_at", "updated_at"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Territory]:
        return super().get_queryset(request).annotate(rep_count=Count("memberships", distinct=True))

    @admin.display(description="Countries")
    def country_list(self, obj: Territory) -> str:
        return ", ".join(obj.countries) or "any"

    @admin.display(description="Regions")
    def region_list(self, obj: Territory) -> str:
        return ", ".join(obj.regions) or "any"

    @admin.display(description="Reps", ordering="rep_count")
    def rep_count(self, obj: Territory) -> int:
        return obj.rep_count


class RepAdminForm(RepHoursMixin, forms.ModelForm):
    """Time zones from a list and working days as tick boxes. (No ``Meta``: the admin makes it.)"""


@admin.register(Rep)
class RepAdmin(admin.ModelAdmin):
    form = RepAdminForm
    list_display = [
        "__str__",
        "username",
        "open_leads",
        "max_open_leads",
        "max_new_per_day",
        "min_score",
        "is_available",
        "out_of_office_until",
        "territory_list",
        "backup",
    ]
    list_filter = ["is_available", "territories"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "user__email"]
    list_select_related = ["user", "backup__user"]
    autocomplete_fields = ["user", "backup"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [RepMembershipInline]
    fieldsets = [
        (None, {"fields": ["user", "is_available", ("out_of_office_from", "out_of_office_until"), "backup"]}),
        ("Capacity", {"fields": ["max_open_leads", "max_new_per_day", "min_score"]}),
        ("Working hours", {"fields": ["timezone", ("work_start", "work_end"), "work_days"]}),
        ("Timestamps", {"classes": ["collapse"], "fields": ["created_at", "updated_at"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Rep]:
        return reps_with_open_leads(super().get_queryset(request)).prefetch_related("territories")

    @admin.display(description="Login", ordering="user__username")
    def username(self, obj: Rep) -> str:
        return obj.user.get_username()

    @admin.display(description="Open (unworked) leads", ordering="open_leads")
    def open_leads(self, obj: Rep) -> int:
        return obj.open_leads

    @admin.display(description="Territories")
    def territory_list(self, obj: Rep) -> str:
        return ", ".join(territory.name for territory in obj.territories.all()) or "—"


@admin.register(TerritoryMembership)
class TerritoryMembershipAdmin(admin.ModelAdmin):
    list_display = ["territory", "rep", "weight", "routed_count", "last_routed_at"]
    readonly_fields = ["routed_count", "last_routed_at"]
    list_filter = ["territory"]
    search_fields = ["territory__name", "rep__user__username", "rep__user__first_name", "rep__user__last_name"]
    list_select_related = ["territory", "rep__user"]
    autocomplete_fields = ["territory", "rep"]


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Who got which lead and why: written by routing, claims and reassignments only."""

    list_display = ["created_at", "lead", "rep", "rule", "territory", "assigned_by"]
    list_filter = ["rule", "territory"]
    search_fields = ["lead__email", "lead__company", "rep__user__username", "reason"]
    list_select_related = ["lead", "rep__user", "territory", "assigned_by"]
    date_hierarchy = "created_at"
    fields = ["lead", "rep", "territory", "rule", "reason", "assigned_by", "created_at"]
    readonly_fields = fields


@admin.register(OverflowEntry)
class OverflowEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Leads nobody had room for, hottest first. Claimed in the API, drained by routing as reps free up."""

    list_display = ["lead", "score", "territory", "created_at"]
    list_filter = ["territory"]
    search_fields = ["lead__email", "lead__company", "reason"]
    list_select_related = ["lead", "territory"]
    fields = ["lead", "territory", "score", "reason", "created_at"]
    readonly_fields = fields


@admin.register(Rejection)
class RejectionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Leads reps turned down, and why: written by the rep's Reject button only."""

    list_display = ["created_at", "lead", "rep", "reason", "source"]
    list_filter = ["reason", "source"]
    search_fields = ["lead__email", "lead__company", "rep__user__username", "note"]
    list_select_related = ["lead", "rep__user", "source"]
    date_hierarchy = "created_at"
    fields = ["lead", "rep", "reason", "note", "source", "created_at"]
    readonly_fields = fields


@admin.register(SlaBreach)
class SlaBreachAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Leads whose SLA lapsed, and what the sweep did: written by the SLA sweep only."""

    list_display = ["breached_at", "lead", "rep", "kind", "action", "source", "territory"]
    list_filter = ["kind", "action", "territory", "source"]
    search_fields = ["lead__email", "lead__company", "rep__user__username", "note"]
    list_select_related = ["lead", "rep__user", "source", "territory"]
    date_hierarchy = "breached_at"
    fields = [
        "lead", "rep", "source", "territory", "stage", "kind", "score", "due_at", "breached_at", "action",
        "reassigned_to", "escalated_to", "note",
    ]  # fmt: skip
    readonly_fields = fields


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "user", "kind", "title", "read_at"]
    list_filter = ["kind"]
    search_fields = ["user__username", "title"]
    list_select_related = ["user"]
    fields = ["user", "kind", "lead", "title", "body", "read_at", "created_at"]
    readonly_fields = fields
