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
    industries: Sequence[str]
    min_employees: int | None
    max_employees: int | None


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
    if territory.countries and _fold(_value(fields, "country")) not in _folded(territory.countries):
        return False
    if territory.regions and _fold(fields.get("state")) not in _folded(territory.regions):
        return False
    if territory.postal_prefixes:
        postal = _postal(fields.get("postal_code"))
        if not postal or not any(postal.startswith(_postal(prefix)) for prefix in territory.postal_prefixes):
            return False
    if territory.industries and _fold(_value(fields, "industry")) not in _folded(territory.industries):
        return False
    if territory.min_employees is not None or territory.max_employees is not None:
        employees = _value(fields, "employees")
        if not isinstance(employees, int):
            return False
        if territory.min_employees is not None and employees < territory.min_employees:
            return False
        if territory.max_employees is not None and employees > territory.max_employees:
            return False
    return True


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
