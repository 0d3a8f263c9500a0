"""The rep's pages: "My queue" with their load, and the leads free to claim."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from leads.models import OPEN_STAGES, Lead
from leads.permissions import get_visible_lead_or_404, page_permission_required
from leads.selectors import lead_list_claimable, lead_queue_for_rep
from leads.services import LeadOperationError, lead_claim
from routing.models import Rep


@page_permission_required("leads.work_lead")
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    rep: Rep | None = getattr(request.user, "rep", None)
    leads = list(lead_queue_for_rep(user=request.user))
    # Capacity counts every open lead (OPEN_STAGES, as the admin's rep list does), opportunities included.
    open_count = Lead.objects.filter(owner=request.user, status=Lead.Status.ACTIVE, stage__in=OPEN_STAGES).count()
    # A Claim button posts with htmx, is redirected here, and swaps in just the queue's body.
    partial = bool(request.htmx) and not request.htmx.history_restore_request
    context = {
        "partial": partial,
        "rep": rep,
        "queue": leads,
        "open_count": open_count,
        "at_capacity": rep is not None and open_count >= rep.max_open_leads,
        "claimable": list(lead_list_claimable()),
        "now": timezone.now(),
    }
    response = render(request, "routing/_queue_body.html" if partial else "routing/queue.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@page_permission_required("leads.work_lead")
@require_POST
def claim(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_visible_lead_or_404(user=request.user, pk=pk)
    try:
        lead_claim(lead=lead, user=request.user, ip_address=request.META.get("REMOTE_ADDR"))
    except LeadOperationError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{lead} is yours now.")
    return redirect("routing:queue")
