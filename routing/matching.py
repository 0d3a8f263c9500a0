"""Which territory a lead falls in: a pure function of its fields and the territories' criteria.

No ORM here: the caller loads the territories once and matches any number of leads against them
(the preview of a draft definition does this for every open lead; routing will for each new MQL).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol


class TerritoryCriteria(Protocol):
    """What matching reads of a territory (``routing.models.Territory`` has all of it)."""

    name: str
    priority: int
    is_active: bool
    countries: Sequence[str]
    regions: Sequence[str]
    postal_prefixes: Sequence[str]
    postal_ranges: Sequence[Sequence[str]]
    industries: Sequence[str]
    min_employees: int | None
    max_employees: int | None
    named_accounts: Sequence[str]


def territory_for(fields: Mapping[str, Any], territories: Iterable[TerritoryCriteria]) -> TerritoryCriteria | None:
    """The first active territory, by priority (then name), whose every criterion ``fields`` meets.

    ``fields`` are a lead's plain values (``scoring.services.lead_fields``): ``country``, ``state``,
    ``postal_code``, ``industry``, ``employees``; the account's ``account_country``,
    ``account_industry`` and ``account_employees`` stand in for the lead's where it has none.
    An empty criterion matches anything; a criterion the lead has no value for does not match.
    """
    ordered = sorted((t for t in territories if t.is_active), key=lambda t: (t.priority, t.name))
    for territory in ordered:
        if territory_matches(territory, fields):
            return territory
    return None


def territory_matches(territory: TerritoryCriteria, fields: Mapping[str, Any]) -> bool:
    """Whether ``fields`` meet every criterion of ``territory`` (its priority and activity aside)."""
    return _failed_criterion(territory, fields) is None


def territory_mismatch(territory: TerritoryCriteria, fields: Mapping[str, Any]) -> str | None:
    """The first criterion of ``territory`` that ``fields`` miss, in words ("country BR is not US, CA"), or ``None``."""
    failed = _failed_criterion(territory, fields)
    if failed == "country":
        return f"country {_shown(_value(fields, 'country'))} is not {', '.join(territory.countries)}"
    if failed == "region":
        return f"region {_shown(fields.get('state'))} is not {', '.join(territory.regions)}"
    if failed == "postal":
        wanted = [f"{prefix}*" for prefix in territory.postal_prefixes]
        wanted += [f"{pair[0]} to {pair[1]}" for pair in territory.postal_ranges if len(pair) == 2]
        return f"postal code {_shown(fields.get('postal_code'))} is not in {', '.join(wanted)}"
    if failed == "industry":
        return f"industry {_shown(_value(fields, 'industry'))} is not {', '.join(territory.industries)}"
    if failed == "size":
        low = territory.min_employees if territory.min_employees is not None else 0
        high = "any" if territory.max_employees is None else territory.max_employees
        return f"company size {_shown(_value(fields, 'employees'))} is not {low} to {high}"
    if failed == "named":
        return f"{_shown(fields.get('company') or fields.get('company_domain'))} is not one of its named accounts"
    return None


def _failed_criterion(territory: TerritoryCriteria, fields: Mapping[str, Any]) -> str | None:
    """Which criterion fails first, by a short name (routing asks this for every lead and territory: keep it cheap)."""
    if territory.countries and _fold(_value(fields, "country")) not in _folded(territory.countries):
        return "country"
    if territory.regions and _fold(fields.get("state")) not in _folded(territory.regions):
        return "region"
    if territory.postal_prefixes or territory.postal_ranges:
        postal = _postal(fields.get("postal_code"))
        in_prefix = any(postal.startswith(_postal(prefix)) for prefix in territory.postal_prefixes)
        if not postal or not (in_prefix or any(_in_range(postal, pair) for pair in territory.postal_ranges)):
            return "postal"
    if territory.industries and _fold(_value(fields, "industry")) not in _folded(territory.industries):
        return "industry"
    if territory.min_employees is not None or territory.max_employees is not None:
        employees = _value(fields, "employees")
        if not isinstance(employees, int):
            return "size"
        if territory.min_employees is not None and employees < territory.min_employees:
            return "size"
        if territory.max_employees is not None and employees > territory.max_employees:
            return "size"
    if territory.named_accounts:
        mine = {_fold(fields.get(key)) for key in ("company_domain", "email_domain", "company")} - {""}
        if not _folded(territory.named_accounts) & mine:
            return "named"
    return None


def _in_range(postal: str, pair: Sequence[str]) -> bool:
    """``postal`` within an inclusive range of codes of one length, compared on that many characters."""
    if len(pair) != 2 or not postal:
        return False
    low, high = _postal(pair[0]), _postal(pair[1])
    head = postal[: len(low)]
    return len(head) == len(low) and low <= head <= high


def _shown(value: Any) -> str:
    return "(none)" if value is None or value == "" else str(value)


def _value(fields: Mapping[str, Any], name: str) -> Any:
    """The lead's own value, else its account's."""
    value = fields.get(name)
    if value is None or value == "":
        value = fields.get(f"account_{name}")
    return value


def _fold(value: Any) -> str:
    return "" if value is None else str(value).strip().casefold()


def _folded(values: Iterable[Any]) -> set[str]:
    return {_fold(value) for value in values} - {""}


def _postal(value: Any) -> str:
    """Postal codes compare without case or spaces: ``sw1a 1aa`` starts with ``SW1A``."""
    return "" if value is None else "".join(str(value).split()).upper()
