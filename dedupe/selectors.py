"""Reads: a lead's possible duplicates, the review queue, merges."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from dedupe.matching import match_batch, record_of, thresholds
from dedupe.models import DuplicateCandidate, Merge
from leads.models import Lead
from leads.selectors import lead_definition_current, lead_list_visible, lead_visible_q


@dataclass(frozen=True, slots=True)
class PossibleDuplicate:
    lead: Lead
    score: float
    reasons: list[str]
    automatic: bool


def lead_duplicates(*, lead: Lead, user: AbstractBaseUser | AnonymousUser) -> list[PossibleDuplicate]:
    """The leads ``user`` may see that match ``lead`` now, at or above the review threshold, best first.

    A few indexed key look-ups and comparisons; pairs dismissed as "not a duplicate" are left out.
    """
    definition = lead_definition_current()
    auto, _ = thresholds(definition.rules if definition else None)
    outcomes, _ = match_batch(
        [record_of(lead)], rules=definition.rules if definition else None, ids=[lead.pk], lock=False
    )
    outcome = outcomes[0]
    found = list(outcome.review)
    if outcome.merge_into is not None:
        found.append((outcome.merge_into, outcome.score, outcome.reasons))
    scores = {ref[1]: (score, reasons) for ref, score, reasons in found if ref[1] != lead.pk}
    leads = lead_list_visible(user=user).filter(pk__in=scores, status=Lead.Status.ACTIVE).select_related("source")
    result = [PossibleDuplicate(other, *scores[other.pk], scores[other.pk][0] >= auto) for other in leads]
    return sorted(result, key=lambda d: (-d.score, d.lead.pk))


def candidate_list_for_review(
    *,
    user: AbstractBaseUser | AnonymousUser,
    status: str | None = None,
    source: str = "",
    lead_id: int | None = None,
) -> QuerySet[DuplicateCandidate]:
    """Pairs whose two leads ``user`` may see, the likeliest first: of one ``status`` if given, with a
    lead from ``source`` (a slug) if given, with lead ``lead_id`` if given.

    Open pairs are those of two active leads. A merge re-points the open pairs of the lead it merges away
    to the survivor (``dedupe.services._pairs_repoint``); this filter hides only pairs left on a merged
    lead by a merge made before that.
    """
    pairs = (
        DuplicateCandidate.objects.filter(
            lead_visible_q(user=user, via="lead_a__"), lead_visible_q(user=user, via="lead_b__")
        )
        .select_related("lead_a__source", "lead_b__source", "decided_by")
        .order_by("-score", "-id")
    )
    if status is not None:
        pairs = pairs.filter(status=status)
    if status == DuplicateCandidate.Status.OPEN:
        pairs = pairs.filter(lead_a__status=Lead.Status.ACTIVE, lead_b__status=Lead.Status.ACTIVE)
    if source:
        pairs = pairs.filter(Q(lead_a__source__slug=source) | Q(lead_b__source__slug=source))
    if lead_id is not None:
        pairs = pairs.filter(Q(lead_a_id=lead_id) | Q(lead_b_id=lead_id))
    return pairs


def candidate_queue(
    *, user: AbstractBaseUser | AnonymousUser, source: str = "", lead_id: int | None = None
) -> QuerySet[DuplicateCandidate]:
    """The review queue: open pairs ``user`` may see, the likeliest first (see ``candidate_list_for_review``)."""
    return candidate_list_for_review(user=user, status=DuplicateCandidate.Status.OPEN, source=source, lead_id=lead_id)


def candidate_neighbours(
    *, pairs: QuerySet[DuplicateCandidate], pair: DuplicateCandidate
) -> tuple[DuplicateCandidate | None, DuplicateCandidate | None]:
    """The pairs before and after ``pair`` in the queue's order (likeliest first), whatever its status.

    After the last pair the queue starts again at its top (pairs skipped earlier), so working through
    it ends only when nothing is left.
    """
    after = Q(score__lt=pair.score) | Q(score=pair.score, id__lt=pair.pk)
    before = Q(score__gt=pair.score) | Q(score=pair.score, id__gt=pair.pk)
    others = pairs.exclude(pk=pair.pk)
    following = others.filter(after).first() or others.first()
    previous = others.filter(before).order_by("score", "id").first()
    return previous, following


def merge_list_visible(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Merge]:
    visible = lead_list_visible(user=user)
    return (
        Merge.objects.filter(Q(survivor__in=visible) | Q(merged__in=visible))
        .select_related("actor", "undone_by")
        .order_by("-created_at", "-id")
    )
