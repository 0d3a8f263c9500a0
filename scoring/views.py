"""The lead-definition pages: read any version, draft and edit, preview, approve, publish, compare.

The views only translate HTTP: the work is ``scoring.definitions``' (and ``scoring.preview``'s),
who may do what is ``scoring.permissions``', and the rules read in words through ``scoring.wording``.
Every POST redirects; the preview and the rescore progress are htmx partials that poll every second
until they are finished.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leads.models import DefinitionApproval, DefinitionPreview, LeadDefinition, Source
from leads.roles import ADMIN, user_roles
from leads.selectors import lead_definition_current
from scoring.definitions import (
    DefinitionError,
    DefinitionRulesInvalid,
    definition_approve,
    definition_draft_create,
    definition_draft_update,
    definition_history,
    definition_latest_preview,
    definition_latest_rescore,
    definition_publish,
    definition_restore,
)
from scoring.forms import DefinitionEditor
from scoring.permissions import (
    definition_approval_sides,
    definition_edit_allowed,
    definition_page_approve,
    definition_page_edit,
    definition_page_read,
    definition_preview_allowed,
    definition_publish_allowed,
)
from scoring.rules import DIFF_SECTIONS, SECTION_NAMES, Change, rules_diff
from scoring.wording import definition_sections, rule_text, value_text

Side = DefinitionApproval.Side


def _version_or_404(version: int) -> LeadDefinition:
    return get_object_or_404(definition_history(), version=version)


def _version_url(definition: LeadDefinition) -> str:
    return reverse("scoring:version", args=[definition.version])


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


# --- Reading -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApprovalSlot:
    """One side's place on the approvals panel: who approved, or whether this user may."""

    side: str
    label: str
    approval: DefinitionApproval | None
    can_approve: bool


def _approval_slots(request: HttpRequest, definition: LeadDefinition) -> list[ApprovalSlot]:
    approvals = {approval.side: approval for approval in definition.approvals.all()}
    mine = any(approval.user_id == request.user.pk for approval in approvals.values())
    sides = definition_approval_sides(user=request.user)
    return [
        ApprovalSlot(
            side=side,
            label=label,
            approval=approvals.get(side),
            can_approve=definition.status == LeadDefinition.Status.DRAFT
            and side in sides
            and side not in approvals
            and not mine,
        )
        for side, label in Side.choices
    ]


def _render_definition(request: HttpRequest, version: int | None) -> HttpResponse:
    """The page of one version (``None``: the published one) with the whole history beside it."""
    history = list(definition_history().order_by("-version"))
    published = next((item for item in history if item.status == LeadDefinition.Status.PUBLISHED), None)
    if version is None:
        definition = published
    else:
        definition = next((item for item in history if item.version == version), None)
        if definition is None:
            raise Http404(f"No version {version}")
    context: dict[str, Any] = {
        "definition": definition,
        "sections": definition_sections(definition.rules or {}) if definition else None,
        "history": history,
        "published": published,
        "drafts": [item for item in history if item.status == LeadDefinition.Status.DRAFT],
        "is_admin": ADMIN in user_roles(request.user),
        "can_edit": definition_edit_allowed(user=request.user),
        "compare_default": _compare_defaults(history, definition),
        "can_preview": definition_preview_allowed(user=request.user),
    }
    if definition is not None:
        is_draft = definition.status == LeadDefinition.Status.DRAFT
        slots = _approval_slots(request, definition)
        context.update(
            is_draft=is_draft,
            approval_slots=slots,
            approved=all(slot.approval for slot in slots),
            can_publish=definition_publish_allowed(user=request.user),
            preview=_preview_context(definition) if is_draft else None,
            rescore=definition_latest_rescore(definition=definition) if not is_draft else None,
            published_other=published
            if is_draft and published and definition.based_on_id != published.pk and published.pk != definition.pk
            else None,
        )
    return render(request, "scoring/definition.html", context)


def _compare_defaults(history: list[LeadDefinition], definition: LeadDefinition | None) -> tuple[int, int] | None:
    """The pair the compare picker starts on: this version against the one it came from (or the one before)."""
    if len(history) < 2:
        return None
    if definition is not None and definition.based_on_id:
        return definition.based_on.version, definition.version
    if definition is not None:
        older = [item.version for item in history if item.version < definition.version]
        if older:
            return older[0], definition.version
    return history[1].version, history[0].version


@definition_page_read
@require_GET
def definition_current(request: HttpRequest) -> HttpResponse:
    return _render_definition(request, None)


@definition_page_read
@require_GET
def definition_version(request: HttpRequest, version: int) -> HttpResponse:
    return _render_definition(request, version)


# --- Drafting ----------------------------------------------------------------------------------


@definition_page_edit
@require_POST
def definition_new(request: HttpRequest) -> HttpResponse:
    """A new draft from the published version."""
    draft = definition_draft_create(author=request.user)
    messages.success(request, f"Draft v{draft.version} started. Change what you need, then save it.")
    return redirect("scoring:edit", version=draft.version)


@definition_page_edit
@require_POST
def definition_restore_view(request: HttpRequest, version: int) -> HttpResponse:
    definition = _version_or_404(version)
    try:
        draft = definition_restore(version=definition, actor=request.user)
    except DefinitionError as exc:
        messages.error(request, str(exc))
        return redirect(_version_url(definition))
    messages.success(request, f"Draft v{draft.version} has the rules of v{definition.version} again.")
    return redirect("scoring:edit", version=draft.version)


@definition_page_edit
@require_http_methods(["GET", "POST"])
def definition_edit(request: HttpRequest, version: int) -> HttpResponse:
    definition = _version_or_404(version)
    if definition.status != LeadDefinition.Status.DRAFT:
        messages.info(
            request,
            f"v{definition.version} is {definition.get_status_display().lower()} and stays as it is: "
            "start a new draft to change it.",
        )
        return redirect(_version_url(definition))
    if request.method == "GET":
        editor = DefinitionEditor(rules=definition.rules or {}, note=definition.note)
        return _render_editor(request, definition, editor)
    editor = DefinitionEditor(rules=definition.rules or {}, note=definition.note, data=request.POST)
    if not editor.is_valid():
        return _render_editor(request, definition, editor, status=400)
    try:
        saved = definition_draft_update(
            definition=definition, rules=editor.rules(), note=editor.note, actor=request.user
        )
    except DefinitionRulesInvalid as exc:
        editor.show_problems(exc.problems)
        return _render_editor(request, definition, editor, status=400)
    except DefinitionError as exc:
        messages.error(request, str(exc))
        return redirect(_version_url(definition))
    text = f"Draft v{definition.version} saved."
    if saved.approvals_withdrawn:
        sides = " and ".join(Side(side).label.lower() for side in saved.approvals_withdrawn)
        many = len(saved.approvals_withdrawn) > 1
        text += f" The rules changed, so the {sides} approval{'s no longer stand' if many else ' no longer stands'}"
        text += f" and must be given again{' by both sides' if many else ''}."
    messages.success(request, text)
    return redirect(_version_url(definition))


def _render_editor(
    request: HttpRequest, definition: LeadDefinition, editor: DefinitionEditor, *, status: int = 200
) -> HttpResponse:
    context = {"definition": definition, "editor": editor, "approvals": list(definition.approvals.all())}
    return render(request, "scoring/edit.html", context, status=status)


# --- Preview -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PreviewView:
    preview: DefinitionPreview
    current: bool
    finished: bool
    by_source: list[tuple[str, dict[str, int]]]
    by_territory: list[tuple[str, dict[str, int]]]


def _preview_context(definition: LeadDefinition) -> PreviewView | None:
    from scoring.preview import preview_is_current  # written beside this module; imported when used

    preview = definition_latest_preview(definition=definition)
    if preview is None:
        return None
    result = preview.result or {}
    by_source = result.get("by_source") or {}
    names = dict(Source.objects.filter(slug__in=list(by_source)).values_list("slug", "name"))
    return PreviewView(
        preview=preview,
        current=preview_is_current(preview),
        finished=preview.status in (DefinitionPreview.Status.DONE, DefinitionPreview.Status.FAILED),
        by_source=[(names.get(slug, slug), counts) for slug, counts in by_source.items()],
        by_territory=list((result.get("by_territory") or {}).items()),
    )


def _render_preview(request: HttpRequest, definition: LeadDefinition) -> HttpResponse:
    context = {
        "definition": definition,
        "preview": _preview_context(definition),
        "is_draft": definition.status == LeadDefinition.Status.DRAFT,
        "can_preview": definition_preview_allowed(user=request.user),
    }
    return render(request, "scoring/_preview.html", context)


@definition_page_read
@require_http_methods(["GET", "POST"])
def definition_preview(request: HttpRequest, version: int) -> HttpResponse:
    """GET: the latest preview (the partial polls itself until it is done). POST: start a new one."""
    from scoring.preview import definition_preview_start  # written beside this module; imported when used

    definition = _version_or_404(version)
    if request.method == "POST":
        if not definition_preview_allowed(user=request.user):
            raise PermissionDenied("Only those who edit or approve lead definitions start previews.")
        if definition.status != LeadDefinition.Status.DRAFT:
            messages.error(request, f"v{definition.version} is not a draft: there is nothing to preview.")
            return redirect(_version_url(definition))
        definition_preview_start(definition=definition, user=request.user)
        if not _is_htmx(request):
            return redirect(f"{_version_url(definition)}#preview")
    elif not _is_htmx(request):
        return redirect(f"{_version_url(definition)}#preview")
    return _render_preview(request, definition)


# --- Approving and publishing ------------------------------------------------------------------


@definition_page_approve
@require_POST
def definition_approve_view(request: HttpRequest, version: int) -> HttpResponse:
    definition = _version_or_404(version)
    side = request.POST.get("side", "")
    try:
        definition_approve(definition=definition, user=request.user, side=side, note=request.POST.get("note", ""))
    except DefinitionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"You approved v{definition.version} for {Side(side).label.lower()}.")
    return redirect(f"{_version_url(definition)}#approvals")


@definition_page_approve
@require_POST
def definition_publish_view(request: HttpRequest, version: int) -> HttpResponse:
    definition = _version_or_404(version)
    try:
        definition_publish(definition=definition, actor=request.user)
    except DefinitionError as exc:
        messages.error(request, str(exc))
        return redirect(f"{_version_url(definition)}#approvals")
    messages.success(request, f"v{definition.version} is published. Open leads are being rescored under it.")
    return redirect(f"{_version_url(definition)}#rescore")


@definition_page_read
@require_GET
def definition_rescore(request: HttpRequest, version: int) -> HttpResponse:
    """The rescore progress partial (it polls itself while the job runs)."""
    definition = _version_or_404(version)
    if not _is_htmx(request):
        return redirect(f"{_version_url(definition)}#rescore")
    context = {"definition": definition, "rescore": definition_latest_rescore(definition=definition)}
    return render(request, "scoring/_rescore.html", context)


# --- Comparing ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DiffRow:
    change: Change
    old_text: str
    new_text: str
    fields: list[tuple[str, str, str]]  # (name, old, new) for a changed rule


@dataclass(frozen=True, slots=True)
class DiffSection:
    key: str
    title: str
    rows: list[DiffRow]


SECTION_TITLES = {
    "screening": "Screening",
    "fit": "Fit rules",
    "engagement": "Engagement rules",
    "thresholds": "Thresholds",
    "must_have": "Must-have conditions",
    "dedupe": "Duplicates",
    "sla": "Service level",
    "other": "Other settings",
}


def _diff_row(change: Change) -> DiffRow:
    if change.section in ("fit", "engagement", "must_have"):
        old_text, new_text = rule_text(change.section, change.old), rule_text(change.section, change.new)
    else:
        old_text = value_text(change.section, change.key, change.old) if change.status != "added" else ""
        new_text = value_text(change.section, change.key, change.new) if change.status != "removed" else ""
    fields = [
        (item.name, value_text(change.section, item.key, item.old), value_text(change.section, item.key, item.new))
        for item in change.fields
    ]
    return DiffRow(change=change, old_text=old_text, new_text=new_text, fields=fields)


def _diff_sections(changes: list[Change]) -> list[DiffSection]:
    sections = []
    for key in (*DIFF_SECTIONS, "other"):
        rows = [_diff_row(change) for change in changes if change.section == key]
        if rows:
            sections.append(DiffSection(key, SECTION_TITLES.get(key, SECTION_NAMES.get(key, key)), rows))
    return sections


def _version_param(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "").strip().removeprefix("v")
    if not value:
        return None
    if not value.isdigit():
        raise Http404(f"No version {value!r}")
    return int(value)


@definition_page_read
@require_GET
def definition_compare(request: HttpRequest) -> HttpResponse:
    history = list(definition_history().order_by("-version"))
    a_number, b_number = _version_param(request, "a"), _version_param(request, "b")
    if a_number is None or b_number is None:
        defaults = _compare_defaults(history, lead_definition_current())
        if defaults is None:
            messages.info(request, "There is only one version: nothing to compare it with yet.")
            return redirect("scoring:definition")
        a_number, b_number = a_number or defaults[0], b_number or defaults[1]
        return redirect(f"{reverse('scoring:compare')}?a={a_number}&b={b_number}")
    by_version = {item.version: item for item in history}
    if a_number not in by_version or b_number not in by_version:
        raise Http404("No such version")
    a, b = by_version[a_number], by_version[b_number]
    show_same = request.GET.get("all") == "1"
    changes = rules_diff(a.rules or {}, b.rules or {}, include_same=show_same)
    context = {
        "a": a,
        "b": b,
        "history": history,
        "sections": _diff_sections(changes),
        "show_same": show_same,
        "counts": {
            status: sum(1 for change in changes if change.status == status)
            for status in ("added", "removed", "changed")
        },
        "is_admin": ADMIN in user_roles(request.user),
    }
    return render(request, "scoring/compare.html", context)
