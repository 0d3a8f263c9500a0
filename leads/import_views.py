"""List-import pages: upload a file, check the preview and the column mapping, start, watch it run.

The work is ``leads.imports``'s: these views only translate HTTP. An upload waits (PENDING, never
read) until its person starts it from the preview; after that the same address shows the progress,
which an htmx partial refreshes every second until the import is finished, so a reload loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leadflow.csv import csv_response
from leads.import_forms import ImportMappingForm, ImportUploadForm
from leads.imports import (
    ImportFileError,
    ImportJobStartedError,
    Table,
    cell_is_formula,
    import_job_discard,
    import_job_errors,
    import_job_list_recent,
    import_job_preview,
    import_job_start,
    import_job_upload,
    import_source_get_or_create,
)
from leads.models import ImportJob
from leads.permissions import page_permission_required

PREVIEW_ROWS = 10
EXAMPLES_PER_COLUMN = 3
#: Row problems shown on the progress page; the downloadable report has them all.
ERRORS_SHOWN = 20

_import_page = page_permission_required("leads.import_leads")


def _job_or_404(pk: int) -> ImportJob:
    return get_object_or_404(ImportJob.objects.select_related("source", "campaign", "created_by"), pk=pk)


def _is_started(job: ImportJob) -> bool:
    return job.started_at is not None or job.status != ImportJob.Status.PENDING


@_import_page
@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    jobs = [(job, ImportProgress.of(job)) for job in import_job_list_recent(user=request.user)]
    return render(request, "leads/imports/list.html", {"jobs": jobs})


@_import_page
@require_http_methods(["GET", "POST"])
def import_new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        form = ImportUploadForm(user=request.user, initial={"source": request.GET.get("source")})
        return render(request, "leads/imports/upload.html", {"form": form})
    form = ImportUploadForm(request.POST, request.FILES, user=request.user)
    if form.is_valid():
        try:
            # A source named here is kept only together with a file that could be read.
            with transaction.atomic():
                source = form.cleaned_data["source"]
                if source is None:
                    source, _ = import_source_get_or_create(
                        slug=form.new_source_slug, name=form.cleaned_data["new_source"]
                    )
                job = import_job_upload(
                    source=source,
                    upload=form.cleaned_data["file"],
                    user=request.user,
                    campaign=form.cleaned_data["campaign"],
                )
        except ImportFileError as error:
            form.add_error("file", str(error))
        else:
            return redirect("leads:import_detail", pk=job.pk)
    return render(request, "leads/imports/upload.html", {"form": form}, status=400)


@_import_page
@require_http_methods(["GET", "POST"])
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Before the start: the preview and the mapping form (POST starts). After: the progress page."""
    job = _job_or_404(pk)
    if _is_started(job):
        if request.method == "POST":  # "Start" sent twice: the first one won
            return redirect("leads:import_detail", pk=job.pk)
        return render(request, "leads/imports/detail.html", _progress_context(job))
    form = ImportMappingForm(request.POST or None, job=job)
    if request.method == "POST" and form.is_valid():
        try:
            import_job_start(job=job, mapping=form.mapping, campaign=form.cleaned_data["campaign"])
        except ImportJobStartedError:
            pass
        except ImportFileError as error:
            form.add_error(None, str(error))
            return _render_preview(request, job, form, status=400)
        return redirect("leads:import_detail", pk=job.pk)
    return _render_preview(request, job, form, status=400 if request.method == "POST" else 200)


@_import_page
@require_GET
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress card alone, polled by htmx while the import runs."""
    return render(request, "leads/imports/_progress.html", _progress_context(_job_or_404(pk)))


@_import_page
@require_POST
def import_discard(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job_or_404(pk)
    try:
        import_job_discard(job=job)
    except ImportJobStartedError:
        messages.error(request, "This import has started; it cannot be discarded.")
        return redirect("leads:import_detail", pk=job.pk)
    messages.success(request, f"Discarded the upload of {job.file_name}.")
    return redirect("leads:imports")


@_import_page
@require_GET
def import_errors_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """Every row problem as CSV, streamed: row, field, problem, value, outcome; safe to open in a spreadsheet."""
    job = _job_or_404(pk)
    rows = (
        [
            error.row_number,
            error.field,
            error.problem,
            error.value,
            "rejected" if error.rejected else "imported, value kept as entered",
        ]
        for error in import_job_errors(job=job)
    )
    return csv_response(
        filename=f"import-{job.pk}-errors.csv", header=["row", "field", "problem", "value", "outcome"], rows=rows
    )


# --- What the pages show ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PreviewCell:
    value: str
    is_formula: bool


@dataclass(frozen=True, slots=True)
class PreviewRow:
    number: int
    cells: list[PreviewCell]
    problem: str = ""  # the row as a whole cannot be read

    @property
    def has_formula(self) -> bool:
        return any(cell.is_formula for cell in self.cells)


@dataclass(frozen=True, slots=True)
class ImportProgress:
    """The counts of a job as the progress bar and the list show them."""

    state: str  # "waiting", "queued", "reading", "processing", "done", "failed"
    label: str
    total: int
    done: int  # rows through: into leads and through the pipeline, merged, or rejected
    percent: int
    read_percent: int
    duration: str = ""  # how long a finished import took, e.g. "1 min 5 s"

    @property
    def running(self) -> bool:
        return self.state in ("queued", "reading", "processing")

    @classmethod
    def of(cls, job: ImportJob) -> ImportProgress:
        total = job.rows_total or 0
        done = job.rows_processed + job.rows_merged + job.rows_rejected
        if job.status == ImportJob.Status.PENDING:
            state, label = ("queued", "Queued") if job.started_at else ("waiting", "Not started")
        else:
            state, label = job.status, job.get_status_display()
        # Never a full bar before the job says it is done.
        percent = min(99, done * 100 // total) if total else 0
        if job.status == ImportJob.Status.DONE:
            percent = 100
        read_percent = min(100, job.rows_read * 100 // total) if total else 0
        duration = ""
        if job.started_at and job.finished_at:
            minutes, seconds = divmod(max(1, round((job.finished_at - job.started_at).total_seconds())), 60)
            duration = f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
        return cls(state, label, total, done, percent, read_percent, duration)


def _progress_context(job: ImportJob) -> dict[str, object]:
    errors = list(job.row_errors.order_by("row_number", "id")[:ERRORS_SHOWN]) if _is_started(job) else []
    return {
        "job": job,
        "progress": ImportProgress.of(job),
        "errors": errors,
        "error_count": job.row_errors.count() if errors else 0,
        "mapped": [(header, job.mapping.get(header, "")) for header in job.headers],
    }


def _render_preview(request: HttpRequest, job: ImportJob, form: ImportMappingForm, *, status: int) -> HttpResponse:
    try:
        table: Table | None = import_job_preview(job=job, rows=PREVIEW_ROWS)
    except ImportFileError as error:
        table, file_error = None, str(error)
    else:
        file_error = ""
    rows = [
        PreviewRow(number, [], cells)
        if isinstance(cells, str)
        else PreviewRow(number, [PreviewCell(value, cell_is_formula(value)) for value in cells])
        for number, cells in (table.rows if table else [])
    ]
    examples = [
        [row.cells[i].value for row in rows if not row.problem and row.cells[i].value.strip()][:EXAMPLES_PER_COLUMN]
        for i in range(len(job.headers))
    ]
    context = {
        "job": job,
        "form": form,
        "columns": list(zip(form.columns(), examples, strict=True)),
        "rows": rows,
        "file_error": file_error,
        "preview_rows": PREVIEW_ROWS,
    }
    return render(request, "leads/imports/preview.html", context, status=status)
