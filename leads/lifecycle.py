"""The end of the funnel: recycled leads coming due, conversion into an opportunity, won and lost.

Plain stage moves (and their rules: reasons from the lists, recycling, handing back to marketing)
live in ``leads.services``; this module adds the operations that make or close an opportunity, and
keeps the lead's stage following its opportunity:

    SAL / SQL --convert--> opportunity --close--> won | lost

Who may call them is ``leads.permissions.lead_stage_change_allowed`` (admins, and the rep who owns
the lead), checked by the pages and API before they call.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from leads.models import Account, Activity, Contact, Lead, Opportunity, Reason, Stage
from leads.selectors import lead_definition_current
from leads.services import (
    LeadOperationError,
    StageWhy,
    audit_record,
    audit_value,
    audited_create,
    audited_update,
    leads_record_stage_move,
)

#: Stages a lead is converted from: accepted by sales (SAL, qualified on the way) or sales-qualified.
CONVERTIBLE_STAGES = frozenset({Stage.SAL, Stage.SQL})
#: The largest amount an opportunity holds (``DecimalField(max_digits=14, decimal_places=2)``).
AMOUNT_MAX = Decimal("999999999999.99")


def _actor(actor: AbstractBaseUser | None) -> AbstractBaseUser | None:
    return actor if actor is not None and actor.is_authenticated else None


def _amount_clean(value: Any, *, field: str = "amount") -> Decimal:
    """A money amount, at least 0, in cents; refused naming ``field`` otherwise."""
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError, TypeError) as error:
        raise LeadOperationError("Give the amount as a number, e.g. 12500.00.", field=field) from error
    if not amount.is_finite() or amount < 0:
        raise LeadOperationError("The amount cannot be negative.", field=field)
    if amount > AMOUNT_MAX:
        raise LeadOperationError(f"The amount can be at most {AMOUNT_MAX:,}.", field=field)
    return amount


def _notice(*, lead: Lead, subject: str, body: str = "", actor: AbstractBaseUser | None, meta: dict[str, Any]) -> None:
    Activity.objects.create(
        lead=lead,
        kind=Activity.Kind.SYSTEM,
        occurred_at=timezone.now(),
        subject=subject[:300],
        body=body,
        actor=_actor(actor),
        meta=meta,
    )


# --- Recycled leads coming due ------------------------------------------------------------------


def leads_revisit_due(*, today: datetime.date | None = None, limit: int = 5000) -> list[int]:
    """Put recycled leads whose revisit date has come back in front of marketing; return their ids.

    Each gets one notice on its timeline (once per recycle: the notice is looked for since the lead
    last moved) and is rescored in the background under the published definition, so one that now
    reaches the MQL threshold becomes an MQL and is routed at once. The rest stay in nurture and show
    under the inbox's "Due for revisit" filter until marketing acts. Safe to run twice.
    """
    today = today or timezone.localdate()
    noticed = Activity.objects.filter(
        lead=OuterRef("pk"),
        kind=Activity.Kind.SYSTEM,
        meta__revisit=True,
        occurred_at__gte=OuterRef("stage_changed_at"),
    )
    with transaction.atomic():
        due = list(
            Lead.objects.select_for_update(skip_locked=True)
            .filter(stage=Stage.NURTURE, status=Lead.Status.ACTIVE, revisit_on__lte=today)
            .exclude(Exists(noticed))
            .order_by("revisit_on", "pk")
            .only("pk", "revisit_on", "stage_changed_at")[:limit]
        )
        now = timezone.now()
        Activity.objects.bulk_create(
            [
                Activity(
                    lead=lead,
                    kind=Activity.Kind.SYSTEM,
                    occurred_at=now,
                    subject=f"Due for revisit (recycled until {lead.revisit_on:%b %-d, %Y})",
                    body="Back on marketing's desk: it shows under “Due for revisit” in the inbox, "
                    "and is rescored now.",
                    meta={"revisit": True, "revisit_on": lead.revisit_on.isoformat()},
                )
                for lead in due
            ]
        )
        ids = [lead.pk for lead in due]
        if ids and lead_definition_current() is not None:
            from scoring.tasks import lead_score_task

            transaction.on_commit(lambda: [lead_score_task.delay(pk) for pk in ids])
    return ids


# --- Reason lists -------------------------------------------------------------------------------

#: The lists a new installation starts with (migration 0005 seeds the same; admins change them freely).
DEFAULT_REASONS: dict[str, list[str]] = {
    Reason.Kind.LOST: ["Price", "Competitor", "No budget", "No decision", "Timing", "Went dark"],
    Reason.Kind.DISQUALIFIED: ["Not a fit", "Competitor", "Student", "Spam", "Bad data", "Duplicate"],
    Reason.Kind.RECYCLED: ["Not ready", "No budget this year", "Timing"],
}


def reasons_ensure_defaults() -> int:
    """Seed the default lists when there are no reasons at all (a new or flushed database); return how
    many were made. Once any reason exists the lists are the admins' and are left alone."""
    if Reason.objects.exists():
        return 0
    made = Reason.objects.bulk_create(
        [
            Reason(kind=kind, label=label, position=position * 10)
            for kind, labels in DEFAULT_REASONS.items()
            for position, label in enumerate(labels, start=1)
        ],
        ignore_conflicts=True,
    )
    return len(made)


def reasons_ensure_on_migrate(sender: Any, app_config: Any = None, **kwargs: Any) -> None:
    """post_migrate hook (also sent after a test database is flushed)."""
    if app_config is not None and app_config.label == "leads":
        reasons_ensure_defaults()


def reason_create(
    *, kind: str, label: str, position: int | None = None, actor: AbstractBaseUser | None, ip_address: str | None = None
) -> Reason:
    """Add a reason to one of the lists (at the end unless ``position`` says where)."""
    label = " ".join(label.split())
    if not label:
        raise LeadOperationError("Give the reason a label.", field="label")
    if kind not in Reason.Kind.values:
        raise LeadOperationError(f"Unknown list {kind!r}: one of {', '.join(Reason.Kind.values)}.", field="kind")
    if Reason.objects.filter(kind=kind, label__iexact=label).exists():
        raise LeadOperationError(f"The {Reason.Kind(kind).label.lower()} list already has “{label}”.", field="label")
    if position is None:
        last = Reason.objects.filter(kind=kind).order_by("-position").values_list("position", flat=True).first()
        position = (last or 0) + 10
    with transaction.atomic():
        return audited_create(
            instance=Reason(kind=kind, label=label, position=position),
            actor=actor,
            action="reason.create",
            ip_address=ip_address,
        )


def reason_update(
    *, reason: Reason, data: dict[str, Any], actor: AbstractBaseUser | None, ip_address: str | None = None
) -> Reason:
    """Rename, reorder, deactivate or reactivate a reason. A reason is never deleted once used: deactivate it."""
    unknown = set(data) - {"label", "position", "is_active"}
    if unknown:
        field = sorted(unknown)[0]
        raise LeadOperationError(f"{field!r} cannot be changed.", field=field)
    if "label" in data:
        data = {**data, "label": " ".join(str(data["label"]).split())}
        if not data["label"]:
            raise LeadOperationError("Give the reason a label.", field="label")
        clash = Reason.objects.filter(kind=reason.kind, label__iexact=data["label"]).exclude(pk=reason.pk)
        if clash.exists():
            raise LeadOperationError(
                f"The {reason.get_kind_display().lower()} list already has “{data['label']}”.", field="label"
            )
    with transaction.atomic():
        return audited_update(instance=reason, data=data, actor=actor, action="reason.update", ip_address=ip_address)


# --- Conversion ---------------------------------------------------------------------------------


def account_match_for_lead(*, lead: Lead) -> Account | None:
    """The account a lead belongs to: the one it is linked to, else the one with its company domain,
    else the one with its company's name (case-insensitive, the oldest)."""
    if lead.account_id is not None:
        return lead.account
    domain = lead.company_domain.strip().lower()
    if domain:
        account = Account.objects.filter(domain=domain).first()
        if account is not None:
            return account
    company = lead.company.strip()
    if company:
        return Account.objects.filter(name__iexact=company).order_by("pk").first()
    return None


def _account_for_lead(lead: Lead, actor: AbstractBaseUser | None) -> tuple[Account, bool]:
    """The matching account, or a new one made from the lead's company facts: ``(account, created)``."""
    account = account_match_for_lead(lead=lead)
    if account is not None:
        return account, False
    domain = lead.company_domain.strip().lower()
    name = lead.company.strip() or domain or lead.full_name or lead.email or f"Lead {lead.pk}"
    values = {
        "name": name[:200],
        "industry": lead.industry[:100],
        "employees": lead.employees,
        "country": lead.country,
        "state": lead.state[:100],
        "postal_code": lead.postal_code[:20],
        "owner": lead.owner,
    }
    try:
        with transaction.atomic():  # two conversions at once for one new domain: the second links to the first's
            account = Account.objects.create(domain=domain, **values)
    except IntegrityError:
        return Account.objects.get(domain=domain), False
    audit_record(
        actor=actor,
        action="account.create",
        obj=account,
        changes={key: [None, audit_value(value)] for key, value in values.items() if value not in (None, "")},
    )
    return account, True


def _contact_for_lead(lead: Lead, account: Account) -> tuple[Contact, bool]:
    """The lead's contact (linked to ``account`` if it had none), one at the account with its e-mail, or a new one."""
    if lead.contact_id is not None:
        contact = lead.contact
        if contact.account_id is None:
            contact.account = account
            contact.save(update_fields=["account", "updated_at"])
        return contact, False
    if lead.email:
        contact = Contact.objects.filter(account=account, email=lead.email).order_by("pk").first()
        if contact is not None:
            return contact, False
    contact = Contact.objects.create(
        account=account,
        first_name=lead.first_name,
        last_name=lead.last_name,
        email=lead.email,
        phone=lead.phone,
        title=lead.title,
    )
    return contact, True


@dataclass(frozen=True, slots=True)
class Conversion:
    opportunity: Opportunity
    account_created: bool
    contact_created: bool


@transaction.atomic
def lead_convert(
    *,
    lead: Lead,
    actor: AbstractBaseUser | None,
    amount: Any,
    expected_close_on: datetime.date | None,
    name: str = "",
    account: Account | None = None,
    ip_address: str | None = None,
) -> Conversion:
    """Turn a qualified lead into a contact at an account, and an open opportunity, in one transaction.

    The account is ``account`` if given, else the matching one (``account_match_for_lead``), else a
    new one from the lead's company. The opportunity copies the lead's source and campaign (for
    revenue per source) and owner. A SAL is qualified on the way (SAL -> SQL -> opportunity, both
    recorded). The lead keeps its history (activities, stage changes, source records) and points at
    the contact and account. Refused (naming the field) unless the lead is an active SAL or SQL
    without an opportunity.
    """
    locked = Lead.objects.select_for_update(of=("self",)).select_related("account", "contact", "owner").get(pk=lead.pk)
    if locked.status != Lead.Status.ACTIVE:
        raise LeadOperationError(f"This lead was merged into lead {locked.merged_into_id}; convert that one.")
    if Opportunity.objects.filter(lead=locked).exists():
        raise LeadOperationError("This lead has already been converted.", field="stage")
    if locked.stage not in CONVERTIBLE_STAGES:
        raise LeadOperationError(
            f"Only an accepted (SAL) or sales-qualified (SQL) lead can be converted; this one is "
            f"{Stage(locked.stage).label}.",
            field="stage",
        )
    amount = _amount_clean(amount)
    if expected_close_on is None:
        raise LeadOperationError("Give the date the deal is expected to close.", field="expected_close_on")
    if expected_close_on < timezone.localdate():
        raise LeadOperationError("The expected close date cannot be in the past.", field="expected_close_on")
    name = " ".join(name.split())
    if len(name) > 200:
        raise LeadOperationError("The name can be at most 200 characters.", field="name")
    actor = _actor(actor)
    created_account = False
    if account is None:
        account, created_account = _account_for_lead(locked, actor)
    contact, created_contact = _contact_for_lead(locked, account)
    name = name or f"{account.name}: {locked.full_name or locked.email or f'lead {locked.pk}'}"[:200]
    opportunity = Opportunity.objects.create(
        lead=locked,
        account=account,
        contact=contact,
        owner=locked.owner or actor,
        source_id=locked.source_id,
        campaign_id=locked.campaign_id,
        name=name,
        amount=amount,
        expected_close_on=expected_close_on,
    )
    now = timezone.now()
    Lead.objects.filter(pk=locked.pk).update(account=account, contact=contact, converted_at=now, updated_at=now)
    if locked.stage == Stage.SAL:
        leads_record_stage_move(
            leads=[locked],
            to_stage=Stage.SQL,
            why=StageWhy(text="Qualified on conversion"),
            actor=actor,
            ip_address=ip_address,
        )
        locked.stage = Stage.SQL
    leads_record_stage_move(
        leads=[locked],
        to_stage=Stage.OPPORTUNITY,
        why=StageWhy(text=f"Converted: {name}"),
        actor=actor,
        ip_address=ip_address,
    )
    _notice(
        lead=locked,
        subject=f"Converted into the opportunity “{name}” ({amount:,.2f})",
        body=f"Account: {account.name}{' (new)' if created_account else ''}. "
        f"Contact: {contact}{' (new)' if created_contact else ''}. Expected to close {expected_close_on:%b %-d, %Y}.",
        actor=actor,
        meta={"opportunity": opportunity.pk, "account": account.pk, "contact": contact.pk},
    )
    audit_record(
        actor=actor,
        action="lead.convert",
        obj=locked,
        changes={
            "opportunity": [None, opportunity.pk],
            "account": [audit_value(lead.account_id), account.pk],
            "contact": [audit_value(lead.contact_id), contact.pk],
        },
        ip_address=ip_address,
    )
    audit_record(
        actor=actor,
        action="opportunity.create",
        obj=opportunity,
        changes={
            "lead": [None, locked.pk],
            "amount": [None, str(amount)],
            "expected_close_on": [None, expected_close_on.isoformat()],
        },
        ip_address=ip_address,
    )
    lead.refresh_from_db()
    return Conversion(opportunity=opportunity, account_created=created_account, contact_created=created_contact)


#: What ``opportunity_update`` changes; stage, close date, amount won and lost reason are ``opportunity_close``'s.
OPPORTUNITY_EDITABLE_FIELDS = ("name", "amount", "expected_close_on")


def opportunity_update_clean(*, opportunity: Opportunity, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` checked and cleaned for ``opportunity_update``; raises ``LeadOperationError`` naming the field.

    Also what the Django admin's form asks before it saves, so a refusal shows beside the field.
    """
    unknown = set(data) - set(OPPORTUNITY_EDITABLE_FIELDS)
    if unknown:
        field = sorted(unknown)[0]
        hint = "Close it with POST /api/opportunities/{id}/close/." if field in ("stage", "closed_on") else ""
        raise LeadOperationError(f"{field!r} cannot be changed here. {hint}".strip(), field=field)
    if opportunity.stage != Opportunity.Stage.OPEN:
        raise LeadOperationError(f"A {opportunity.get_stage_display().lower()} opportunity is not edited.")
    values = dict(data)
    if "name" in values:
        values["name"] = " ".join(str(values["name"]).split())
        if not values["name"]:
            raise LeadOperationError("Give the opportunity a name.", field="name")
        if len(values["name"]) > 200:
            raise LeadOperationError("The name can be at most 200 characters.", field="name")
    if "amount" in values:
        values["amount"] = _amount_clean(values["amount"])
    if "expected_close_on" in values:
        if values["expected_close_on"] is None:
            raise LeadOperationError("Give the date the deal is expected to close.", field="expected_close_on")
        if values["expected_close_on"] < timezone.localdate():
            raise LeadOperationError("The expected close date cannot be in the past.", field="expected_close_on")
    return values


@transaction.atomic
def opportunity_update(
    *, opportunity: Opportunity, data: dict[str, Any], actor: AbstractBaseUser | None, ip_address: str | None = None
) -> Opportunity:
    """Change an open opportunity's name, amount or expected close date (closing is ``opportunity_close``)."""
    locked = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    values = opportunity_update_clean(opportunity=locked, data=data)
    audited_update(
        instance=locked, data=values, actor=_actor(actor), action="opportunity.update", ip_address=ip_address
    )
    opportunity.refresh_from_db()
    return locked


# --- Won and lost -------------------------------------------------------------------------------


@transaction.atomic
def opportunity_close(
    *,
    opportunity: Opportunity,
    outcome: str,
    actor: AbstractBaseUser | None,
    closed_on: datetime.date | None = None,
    amount: Any = None,
    lost_reason: Reason | None = None,
    note: str = "",
    ip_address: str | None = None,
) -> Opportunity:
    """Mark an open opportunity won (with the final amount) or lost (with a reason from the lost list),
    on ``closed_on`` (today by default, never in the future); the lead follows (opportunity -> won / lost)."""
    locked = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    if locked.stage != Opportunity.Stage.OPEN:
        raise LeadOperationError(
            f"This opportunity was already closed as {locked.get_stage_display().lower()} on {locked.closed_on}.",
            field="outcome",
        )
    if outcome not in (Opportunity.Stage.WON, Opportunity.Stage.LOST):
        raise LeadOperationError("Say how it closed: won or lost.", field="outcome")
    today = timezone.localdate()
    closed_on = closed_on or today
    if closed_on > today:
        raise LeadOperationError("The close date cannot be in the future.", field="closed_on")
    opened_on = timezone.localtime(locked.created_at).date()
    if closed_on < opened_on:
        raise LeadOperationError(
            f"The close date cannot be before the opportunity was opened ({opened_on}).", field="closed_on"
        )
    final_amount = locked.amount if amount in (None, "") else _amount_clean(amount)
    if outcome == Opportunity.Stage.WON:
        if lost_reason is not None:
            raise LeadOperationError("A won deal has no lost reason.", field="lost_reason")
    else:
        if lost_reason is None:
            raise LeadOperationError("Pick why it was lost, from the lost reasons list.", field="lost_reason")
        if lost_reason.kind != Reason.Kind.LOST:
            raise LeadOperationError(
                f"“{lost_reason.label}” is a {lost_reason.get_kind_display().lower()} reason, not a lost one.",
                field="lost_reason",
            )
        if not lost_reason.is_active:
            raise LeadOperationError(f"“{lost_reason.label}” is no longer in use; pick another.", field="lost_reason")
    lead = Lead.objects.select_for_update(of=("self",)).get(pk=locked.lead_id)
    if lead.stage != Stage.OPPORTUNITY:
        raise LeadOperationError(
            f"Its lead is {Stage(lead.stage).label}, not an opportunity; the two no longer agree.", field="outcome"
        )
    before = {"stage": locked.stage, "amount": str(locked.amount)}
    locked.stage = outcome
    locked.closed_on = closed_on
    locked.amount = final_amount
    locked.lost_reason = lost_reason
    locked.save(update_fields=["stage", "closed_on", "amount", "lost_reason", "updated_at"])
    note = note.strip()
    leads_record_stage_move(
        leads=[lead],
        to_stage=Stage.WON if outcome == Opportunity.Stage.WON else Stage.LOST,
        why=StageWhy(text=note, code=lost_reason),
        actor=_actor(actor),
        ip_address=ip_address,
    )
    if outcome == Opportunity.Stage.WON:
        subject = f"Won “{locked.name}”: {final_amount:,.2f}"
    else:
        subject = f"Lost “{locked.name}”: {lost_reason.label}"
    _notice(lead=lead, subject=subject, body=note, actor=actor, meta={"opportunity": locked.pk, "outcome": outcome})
    audit_record(
        actor=_actor(actor),
        action="opportunity.close",
        obj=locked,
        changes={
            "stage": [before["stage"], outcome],
            "amount": [before["amount"], str(final_amount)],
            "closed_on": [None, closed_on.isoformat()],
            **({"lost_reason": [None, lost_reason.label]} if lost_reason else {}),
        },
        ip_address=ip_address,
    )
    opportunity.refresh_from_db()
    return locked
