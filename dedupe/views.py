"""The review queue in the browser: open pairs likeliest first, and a pair side by side to merge or dismiss.

Views fetch, validate with a form, call one service, and answer; an htmx request gets the next
pair's panel (and its URL pushed), a plain form post a redirect to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from dedupe.forms import PairMergeForm
from dedupe.models import DedupeJob, DuplicateCandidate, Merge
from dedupe.selectors import candidate_list_for_review, candidate_neighbours, candidate_queue
from dedupe.services import MERGE_FIELDS, MergeError, candidate_dismiss, lead_merge, merge_defaults, merge_undo
from leads.models import Lead, Source
from leads.permissions import page_permission_required

TRIAGE = ("leads.view_all_leads", "leads.triage_lead")
#: Pairs listed on the queue page (the rest are reached by working through it).
LIST_SIZE = 100


@dataclass(frozen=True, slots=True)
class FieldRow:
    name: str
    label: str
    a: Any
    b: Any
    #: "same", "differs" (both have a value, not the same), "one" (only one has a value), "none"
    kind: str
    #: "a" or "b": whose value the merge keeps unless the reviewer picks the other
    pick: str


def _compare(a: Any, b: Any) -> str:
    text_a, text_b = ("" if v is None else str(v).strip().lower() for v in (a, b))
    if not text_a and not text_b:
        return "none"
    if not text_a or not text_b:
        return "one"
    return "same" if text_a == text_b else "differs"


def _filters(request: HttpRequest) -> tuple[str, str]:
    """The queue's filter (a source slug) and the query string that keeps it across pages."""
    source = request.GET.get("source", "").strip()
    query = QueryDict(mutable=True)
    if source:
        query["source"] = source
    return source, query.urlencode()


def _pair_url(pair: DuplicateCandidate | None, query: str) -> str:
    if pair is None:
        return reverse("dedupe:queue") + (f"?{query}" if query else "")
    return reverse("dedupe:pair", args=[pair.pk]) + (f"?{query}" if query else "")


def _older_first(pair: DuplicateCandidate) -> tuple[Lead, Lead]:
    return tuple(sorted([pair.lead_a, pair.lead_b], key=lambda lead: (lead.created_at, lead.pk)))  # type: ignore[return-value]


def _pair_context(
    request: HttpRequest,
    pair: DuplicateCandidate,
    *,
    form: PairMergeForm | None = None,
    done: str = "",
    error: str = "",
    undo: Merge | None = None,
) -> dict[str, Any]:
    source, query = _filters(request)
    pairs = candidate_queue(user=request.user, source=source)
    previous, following = candidate_neighbours(pairs=pairs, pair=pair)
    # Left is the older lead: it survives unless the reviewer says otherwise (as automatic merges do).
    left, right = _older_first(pair)
    defaults = merge_defaults(survivor=left, merged=right)
    rows = [
        FieldRow(
            name=name,
            label=str(Lead._meta.get_field(name).verbose_name).capitalize(),
            a=getattr(left, name),
            b=getattr(right, name),
            kind=_compare(getattr(left, name), getattr(right, name)),
            pick="b" if defaults[name] == "merged" else "a",
        )
        for name in MERGE_FIELDS
    ]
    if form is not None and form.is_bound:  # a refused merge comes back with the reviewer's picks
        data = form.data
        rows = [
            FieldRow(**{**_row_dict(row), "pick": data.get(f"f_{row.name}", row.pick)})
            if data.get(f"f_{row.name}") in ("a", "b")
            else row
            for row in rows
        ]
    return {
        "pair": pair,
        "left": left,
        "right": right,
        "rows": rows,
        "differing": sum(1 for row in rows if row.kind in ("differs", "one")),
        "survivor": form.data.get("survivor", "a") if form is not None and form.is_bound else "a",
        "form": form,
        "is_open": pair.status == DuplicateCandidate.Status.OPEN
        and left.status == Lead.Status.ACTIVE
        and right.status == Lead.Status.ACTIVE,
        "left_count": pairs.count(),
        "previous_url": _pair_url(previous, query) if previous else "",
        "next_url": _pair_url(following, query) if following else "",
        "queue_url": _pair_url(None, query),
        "query": query,
        "source": source,
        "done": done,
        "error": error,
        # Right after a merge: the button (and key u) that takes it back, the pair returning to review.
        "undo_url": _undo_url(undo, query) if undo is not None else "",
    }


def _undo_url(merge: Merge, query: str) -> str:
    return reverse("dedupe:merge_undo", args=[merge.pk]) + (f"?{query}" if query else "")


def _row_dict(row: FieldRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in FieldRow.__slots__}


def _render_pair(request: HttpRequest, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    partial = bool(request.htmx) and not request.htmx.history_restore_request
    response = render(request, "dedupe/_pair.html" if partial else "dedupe/pair.html", context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _visible_pairs(request: HttpRequest) -> QuerySet[DuplicateCandidate]:
    return candidate_list_for_review(user=request.user)


@page_permission_required(*TRIAGE)
@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    source, query = _filters(request)
    pairs = candidate_queue(user=request.user, source=source)
    listed = list(pairs[:LIST_SIZE])
    context = {
        "pairs": listed,
        "left_count": pairs.count() if len(listed) == LIST_SIZE else len(listed),
        "first_url": _pair_url(listed[0], query) if listed else "",
        "query": query,
        "source": source,
        "sources": Source.objects.order_by("name").only("slug", "name"),
        "job": DedupeJob.objects.first(),
        # The reviewer's own last merge, still standing: undone from here too (e.g. after the queue ran out).
        "last_merge": Merge.objects.filter(actor=request.user, undone_at__isnull=True)
        .select_related("survivor", "merged")
        .first(),
    }
    return render(request, "dedupe/queue.html", context)


@page_permission_required(*TRIAGE)
@require_GET
def dedupe_job_progress(request: HttpRequest) -> HttpResponse:
    """The latest ``dedupe_all`` job's progress panel (polled by htmx while it runs)."""
    return render(request, "dedupe/_job.html", {"job": DedupeJob.objects.first()})


@page_permission_required(*TRIAGE)
@require_GET
def pair_detail(request: HttpRequest, pk: int) -> HttpResponse:
    pair = get_object_or_404(_visible_pairs(request), pk=pk)
    return _render_pair(request, _pair_context(request, pair))


def _after_decision(
    request: HttpRequest, pair: DuplicateCandidate, done: str, *, undo: Merge | None = None
) -> HttpResponse:
    """The next pair of the queue (or the queue page when none is left), with what was just done."""
    source, query = _filters(request)
    _, following = candidate_neighbours(pairs=candidate_queue(user=request.user, source=source), pair=pair)
    url = _pair_url(following, query)
    if not request.htmx:
        messages.success(request, done)
        return redirect(url)
    if following is None:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url  # the empty queue page says it is all done
        messages.success(request, done)
        return response
    response = _render_pair(request, _pair_context(request, following, done=done, undo=undo))
    response["HX-Push-Url"] = url
    return response


@page_permission_required(*TRIAGE)
@require_POST
def pair_merge(request: HttpRequest, pk: int) -> HttpResponse:
    pair = get_object_or_404(_visible_pairs(request), pk=pk)
    form = PairMergeForm(request.POST)
    if form.is_valid():
        left, right = _older_first(pair)
        side = form.cleaned_data["survivor"]
        survivor, merged = (left, right) if side == "a" else (right, left)
        try:
            if pair.status != DuplicateCandidate.Status.OPEN:
                raise MergeError(f"This pair was decided already ({pair.get_status_display().lower()}).")
            merge = lead_merge(
                survivor=survivor,
                merged=merged,
                actor=request.user,
                choices=form.choices(survivor_side=side),
                score=pair.score,
                reasons=pair.reasons,
            )
        except MergeError as error:
            form.add_error(None, str(error))
        else:
            done = f"Merged lead #{merged.pk} into #{survivor.pk} ({survivor})."
            return _after_decision(request, pair, done, undo=merge)
    # htmx swaps only 2xx answers, so its panel comes back 200 with the reason; a plain post gets a 400.
    return _render_pair(request, _pair_context(request, pair, form=form), status=200 if request.htmx else 400)


@page_permission_required(*TRIAGE)
@require_POST
def pair_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    pair = get_object_or_404(_visible_pairs(request), pk=pk)
    try:
        candidate_dismiss(candidate=pair, actor=request.user)
    except MergeError as error:
        context = _pair_context(request, pair, error=str(error))
        return _render_pair(request, context, status=200 if request.htmx else 400)
    return _after_decision(
        request, pair, f"Lead #{pair.lead_a_id} and #{pair.lead_b_id}: not a duplicate (never proposed again)."
    )


@page_permission_required(*TRIAGE)
@require_POST
def merge_undo_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Take a merge back (``merge_undo``). From the review queue (``back=review``) the pair returns to the
    queue undecided and its panel is shown; from the lead page the pair is remembered as not a duplicate
    (as the API's undo does) and the survivor's page is shown again."""
    merge = get_object_or_404(Merge.objects.select_related("survivor", "merged"), pk=pk)
    from_review = request.POST.get("back") == "review"
    try:
        merge_undo(merge=merge, actor=request.user, reopen=from_review)
    except MergeError as error:
        messages.error(request, str(error))
        if not from_review:
            return redirect("leads:detail", pk=merge.survivor_id)
        if request.htmx:  # the message shows on the queue page, not inside the panel
            response = HttpResponse(status=204)
            response["HX-Redirect"] = reverse("dedupe:queue")
            return response
        return redirect("dedupe:queue")
    done = f"Undid the merge of lead #{merge.merged_id} into #{merge.survivor_id}"
    if not from_review:
        messages.success(request, f"{done}: both leads are back, remembered as not a duplicate.")
        return redirect("leads:detail", pk=merge.survivor_id)
    low, high = sorted([merge.survivor_id, merge.merged_id])
    pair = DuplicateCandidate.objects.select_related("lead_a__source", "lead_b__source").get(
        lead_a_id=low, lead_b_id=high
    )
    _, query = _filters(request)
    url = _pair_url(pair, query)
    done = f"{done}: the pair is back for review."
    if not request.htmx:
        messages.success(request, done)
        return redirect(url)
    response = _render_pair(request, _pair_context(request, pair, done=done))
    response["HX-Push-Url"] = url
    return response
