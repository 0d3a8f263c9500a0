"""Lead-definition versions: drafting, approving, publishing, restoring; and the reads the pages need.

A version is the contract between marketing and sales, so it changes only through here:

- a **draft** copies the rules of another version (by default the published one) and is edited
  freely; an edit that changes the rules withdraws the approvals given so far, because they
  approved something else;
- publishing needs **two approvals by two people**: a marketing admin and a sales admin;
- **publishing** retires the published version and publishes the draft in one transaction, then
  starts a background rescore of the open leads under it (``scoring.rescore``);
- a published or retired version is never edited: it is **restored** as a new draft.

Rule checks are ``scoring.rules``'s; who may do what is ``scoring.permissions``'s.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Prefetch, QuerySet
from django.utils import timezone

from leads.models import DefinitionApproval, LeadDefinition, RescoreJob
from leads.services import audit_record
from scoring.defaults import DEFAULT_RULES
from scoring.permissions import definition_approval_sides
from scoring.rules import Problem, rules_problems

if TYPE_CHECKING:
    from leads.models import DefinitionPreview

Status = LeadDefinition.Status
Side = DefinitionApproval.Side

#: Tries at taking the next version number when someone else takes it at the same moment.
_VERSION_TRIES = 3


class DefinitionError(Exception):
    """An operation on a definition that is not allowed; the message says why, for the user."""


class DefinitionRulesInvalid(ValidationError):
    """The rules have problems: ``message_dict`` is ``rules_validate``'s answer, ``problems`` the details."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors: dict[str, list[str]] = {}
        for problem in problems:
            errors.setdefault(problem.path, []).append(problem.message)
        super().__init__(errors)


@dataclass(frozen=True, slots=True)
class DraftSaved:
    definition: LeadDefinition
    rules_changed: bool
    approvals_withdrawn: tuple[str, ...]  # the sides whose approval no longer stands


def _version_label(definition: LeadDefinition) -> str:
    return f"v{definition.version}"


def _person(user: AbstractBaseUser | None) -> str:
    if user is None:
        return "someone"
    return user.get_full_name() or user.get_username()  # type: ignore[attr-defined]


def _locked(definition: LeadDefinition) -> LeadDefinition:
    """``definition`` read again under a row lock: whoever comes second sees the first one's work."""
    return LeadDefinition.objects.select_for_update().get(pk=definition.pk)


def _require_draft(definition: LeadDefinition, doing: str) -> None:
    if definition.status != Status.DRAFT:
        raise DefinitionError(
            f"{_version_label(definition)} is {definition.get_status_display().lower()}: only a draft can be {doing}. "
            "Start a new draft from it instead."
        )


# --- Drafts ----------------------------------------------------------------------------------------


def definition_draft_create(
    *, author: AbstractBaseUser, based_on: LeadDefinition | None = None, note: str = ""
) -> LeadDefinition:
    """A new draft with the next version number, copying the rules of ``based_on``
    (by default the published version; the built-in defaults when nothing is published)."""
    source = based_on or LeadDefinition.objects.filter(status=Status.PUBLISHED).first()
    rules = copy.deepcopy(source.rules if source is not None else DEFAULT_RULES)
    for attempt in range(_VERSION_TRIES):
        try:
            with transaction.atomic():
                latest = LeadDefinition.objects.aggregate(latest=Max("version"))["latest"] or 0
                draft = LeadDefinition.objects.create(
                    version=latest + 1,
                    status=Status.DRAFT,
                    rules=rules,
                    note=note.strip(),
                    author=author,
                    based_on=source,
                )
                audit_record(
                    actor=author,
                    action="definition.draft",
                    obj=draft,
                    changes={"based_on": [None, source.version if source else None]},
                )
                return draft
        except IntegrityError:
            # Someone took this version number a moment ago; the next one is free.
            if attempt == _VERSION_TRIES - 1:
                raise
    raise AssertionError("unreachable")


@transaction.atomic
def definition_draft_update(
    *, definition: LeadDefinition, rules: Mapping[str, Any], note: str, actor: AbstractBaseUser
) -> DraftSaved:
    """Save a draft's rules and note. Invalid rules raise ``DefinitionRulesInvalid`` and change nothing;
    changed rules withdraw the approvals given so far."""
    definition = _locked(definition)
    _require_draft(definition, "edited")
    problems = rules_problems(rules)
    if problems:
        raise DefinitionRulesInvalid(problems)
    rules = copy.deepcopy(dict(rules))
    note = note.strip()
    changes: dict[str, Any] = {}
    rules_changed = rules != definition.rules
    if rules_changed:
        changes["rules"] = [definition.rules, rules]
    if note != definition.note:
        changes["note"] = [definition.note, note]
    withdrawn: tuple[str, ...] = ()
    if rules_changed:
        approvals = list(definition.approvals.all())
        withdrawn = tuple(approval.side for approval in approvals)
        if approvals:
            definition.approvals.all().delete()
            changes["approvals"] = [
                [{"side": a.side, "user": a.user_id} for a in approvals],
                [],
            ]
    if changes:
        definition.rules = rules
        definition.note = note
        definition.save(update_fields=["rules", "note", "updated_at"])
        audit_record(actor=actor, action="definition.update", obj=definition, changes=changes)
    return DraftSaved(definition=definition, rules_changed=rules_changed, approvals_withdrawn=withdrawn)


# --- Approvals and publishing ----------------------------------------------------------------------


@transaction.atomic
def definition_approve(
    *, definition: LeadDefinition, user: AbstractBaseUser, side: str, note: str = ""
) -> DefinitionApproval:
    """``user`` agrees, for marketing or for sales, that this draft may be published.

    The user must be an admin of that side; each side approves once, and one person cannot
    approve for both sides (the author may approve one of them).
    """
    definition = _locked(definition)
    _require_draft(definition, "approved")
    if side not in Side.values:
        raise DefinitionError(f"Unknown side “{side}”; approvals are for {' or '.join(Side.values)}.")
    side_label = Side(side).label.lower()
    if side not in definition_approval_sides(user=user):
        raise DefinitionError(
            f"Only a {side_label} admin (in the admin and {side} roles) can approve for {side_label}."
        )
    existing = {approval.side: approval for approval in definition.approvals.select_related("user")}
    if side in existing:
        raise DefinitionError(
            f"{Side(side).label} has already approved {_version_label(definition)} ({_person(existing[side].user)})."
        )
    for other in existing.values():
        if other.user_id == user.pk:
            raise DefinitionError(
                f"You approved {_version_label(definition)} for {other.get_side_display().lower()} already; "
                f"the {side_label} approval must come from someone else."
            )
    if rules_problems(definition.rules):
        raise DefinitionError(f"{_version_label(definition)} has problems to fix in the editor before it is approved.")
    approval = DefinitionApproval.objects.create(definition=definition, user=user, side=side, note=note.strip())
    audit_record(actor=user, action="definition.approve", obj=definition, changes={"approved": [None, side]})
    return approval


def definition_missing_approvals(*, definition: LeadDefinition) -> list[str]:
    """The sides that have not approved ``definition`` yet."""
    approved = {approval.side for approval in definition.approvals.all()}
    return [side for side in Side.values if side not in approved]


@transaction.atomic
def definition_publish(*, definition: LeadDefinition, actor: AbstractBaseUser) -> RescoreJob:
    """Publish an approved draft: the published version retires, this one takes its place, and a
    background rescore of the open leads under it starts once the transaction commits."""
    from scoring.rescore import rescore_job_start  # written beside this module; imported when used

    definition = _locked(definition)
    _require_draft(definition, "published")
    missing = definition_missing_approvals(definition=definition)
    if missing:
        sides = " and ".join(Side(side).label.lower() for side in missing)
        raise DefinitionError(f"{_version_label(definition)} needs the approval of {sides} before it is published.")
    if rules_problems(definition.rules):
        raise DefinitionError(f"{_version_label(definition)} has problems to fix before it is published.")
    now = timezone.now()
    previous = LeadDefinition.objects.select_for_update().filter(status=Status.PUBLISHED).first()
    try:
        with transaction.atomic():
            if previous is not None:
                previous.status = Status.RETIRED
                previous.retired_at = now
                previous.save(update_fields=["status", "retired_at", "updated_at"])
                audit_record(
                    actor=actor, action="definition.retire", obj=previous, changes={"status": ["published", "retired"]}
                )
            definition.status = Status.PUBLISHED
            definition.published_at = now
            definition.published_by = actor
            definition.save(update_fields=["status", "published_at", "published_by", "updated_at"])
    except IntegrityError as exc:
        raise DefinitionError(
            "Another version was published at the same moment; reload the page and look again."
        ) from exc
    audit_record(
        actor=actor,
        action="definition.publish",
        obj=definition,
        changes={
            "status": ["draft", "published"],
            "replaces": [previous.version if previous else None, None],
            "approved_by": [None, {a.side: a.user_id for a in definition.approvals.all()}],
        },
    )
    return rescore_job_start(definition=definition, reason=RescoreJob.Reason.PUBLISH, actor=actor)


def definition_restore(*, version: LeadDefinition, actor: AbstractBaseUser) -> LeadDefinition:
    """A new draft with the rules of a published or retired ``version``, to edit and publish again."""
    if version.status == Status.DRAFT:
        raise DefinitionError(f"{_version_label(version)} is a draft: edit it instead of restoring it.")
    return definition_draft_create(author=actor, based_on=version, note=f"Restored from {_version_label(version)}.")


# --- Reads ------------------------------------------------------------------------------------------


def definition_history() -> QuerySet[LeadDefinition]:
    """Every version, newest first, with its author, publisher and approvals (and their people)."""
    approvals = DefinitionApproval.objects.select_related("user").order_by("created_at")
    return LeadDefinition.objects.select_related("author", "published_by", "based_on").prefetch_related(
        Prefetch("approvals", queryset=approvals)
    )


def definition_latest_preview(*, definition: LeadDefinition) -> DefinitionPreview | None:
    return definition.previews.select_related("created_by").order_by("-created_at", "-id").first()


def definition_latest_rescore(*, definition: LeadDefinition) -> RescoreJob | None:
    """The rescore that publishing ``definition`` started (the daily decay's jobs are not its business)."""
    jobs = definition.rescore_jobs.filter(reason=RescoreJob.Reason.PUBLISH)
    return jobs.order_by("-created_at", "-id").first()
