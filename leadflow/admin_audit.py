"""Every change made in the Django admin leaves an AuditEvent with before and after.

``audit_admin_site()`` (called once from ``leadflow.urls``) gives every registered ModelAdmin the
``AuditedAdminMixin``, so no app's admin can forget it and a model registered later is covered too.
Values are read from the database before and after the admin's own save (which may go through a
service, e.g. a lead's stage), so what is recorded is what was stored, many-to-many fields
(a user's groups, i.e. their roles) included.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.forms import ModelForm
from django.http import HttpRequest

from leads.services import audit_record, audit_value

#: Never copied into the audit trail, even as a hash.
SECRET_FIELDS = frozenset({"password", "api_key_hash", "previous_api_key_hash", "key"})


def model_snapshot(obj: models.Model) -> dict[str, Any]:
    """The stored values of ``obj`` (concrete fields and many-to-many ids), JSON-safe, secrets masked."""
    if obj.pk is None:
        return {}
    stored = type(obj)._default_manager.filter(pk=obj.pk).first()
    if stored is None:
        return {}
    values: dict[str, Any] = {}
    for field in stored._meta.concrete_fields:
        if field.primary_key:
            continue
        value = audit_value(getattr(stored, field.attname))
        values[field.name] = "(changed)" if field.name in SECRET_FIELDS else value
    for field in stored._meta.many_to_many:
        values[field.name] = sorted(getattr(stored, field.name).values_list("pk", flat=True))
    return values


def _ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _action(obj: models.Model, verb: str) -> str:
    return f"admin.{obj._meta.model_name}.{verb}"


class AuditedAdminMixin:
    """Records ``admin.<model>.create|change|delete`` with ``{field: [before, after]}``."""

    def save_model(self, request: HttpRequest, obj: models.Model, form: ModelForm, change: bool) -> None:
        # The admin wraps the save, the related saves and so this event in one transaction.
        request._audit_before = model_snapshot(obj) if change else {}  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        obj = form.instance
        before = getattr(request, "_audit_before", {})
        after = model_snapshot(obj)
        changes = {name: [before.get(name), value] for name, value in after.items() if before.get(name) != value}
        if changes or not change:
            verb = "change" if change else "create"
            audit_record(
                actor=request.user, action=_action(obj, verb), obj=obj, changes=changes, ip_address=_ip(request)
            )

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        self._audit_delete(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        for obj in queryset:
            self._audit_delete(request, obj)
        super().delete_queryset(request, queryset)

    def _audit_delete(self, request: HttpRequest, obj: models.Model) -> None:
        before = model_snapshot(obj)
        changes = {name: [value, None] for name, value in before.items()}
        audit_record(
            actor=request.user, action=_action(obj, "delete"), obj=obj, changes=changes, ip_address=_ip(request)
        )


def audit_admin_site(site: admin.AdminSite = admin.site) -> None:
    """Give every ModelAdmin registered on ``site`` the audit mixin (once)."""
    for model, model_admin in list(site._registry.items()):
        cls = type(model_admin)
        if issubclass(cls, AuditedAdminMixin):
            continue
        audited = type(f"Audited{cls.__name__}", (AuditedAdminMixin, cls), {"__module__": cls.__module__})
        site._registry[model] = audited(model, site)
