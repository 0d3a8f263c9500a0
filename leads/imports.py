"""List imports: read a CSV or XLSX file in chunks, one bad row never sinking the file.

The uploaded file is stored before anything else (it is the raw record); every row becomes a
raw ``Submission`` and a normalized lead in the same transaction as its chunk, and rows that
cannot be imported become ``ImportRowError``s. ``import_job_read`` resumes after the last
committed chunk, so a worker killed mid-file and started again reads every row exactly once.

An import has two steps, so a person can look before anything is imported: ``import_job_upload``
stores the file and suggests a column mapping (the job waits, never read), ``import_job_start``
fixes the mapping and sends the reader. ``import_job_create`` does both, for the command line.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.text import slugify
from more_itertools import chunked

from dedupe.services import leads_dedupe_inserted, leads_dedupe_unsaved
from leadflow.db import bulk_insert_rows, instances_like
from leads.models import Campaign, ImportChunk, ImportJob, ImportRowError, Lead, Source, SourceRecord, Submission
from leads.pipeline import (
    CAMPAIGN_NOT_OF_SOURCE,
    LEAD_INPUT_FIELDS,
    import_job_finish_if_done,
    lead_apply_raw,
    leads_process_unsaved,
)
from leads.selectors import lead_definition_current
from leads.tasks import import_chunk_task, import_read_task, pipeline_start

#: The fields a column can map to ("" = keep the column as an extra field on the lead).
IMPORT_FIELDS = (
    "external_id", "first_name", "last_name", "email", "phone", "company", "website", "title", "industry",
    "employees", "street", "city", "state", "postal_code", "country", "source", "campaign",
)  # fmt: skip
_ALIASES = {
    "id": "external_id", "record_id": "external_id", "email_address": "email", "e_mail": "email", "mail": "email",
    "first": "first_name", "firstname": "first_name", "given_name": "first_name", "forename": "first_name",
    "last": "last_name", "lastname": "last_name", "surname": "last_name", "family_name": "last_name",
    "phone_number": "phone", "telephone": "phone", "tel": "phone", "mobile": "phone", "mobile_phone": "phone",
    "company_name": "company", "organization": "company", "organisation": "company", "account": "company",
    "url": "website", "web": "website", "web_site": "website", "job_title": "title", "position": "title",
    "role": "title", "sector": "industry", "employee_count": "employees", "company_size": "employees",
    "headcount": "employees", "address": "street", "street_address": "street", "address_1": "street",
    "town": "city", "region": "state", "province": "state", "county": "state", "zip": "postal_code",
    "zip_code": "postal_code", "postcode": "postal_code", "post_code": "postal_code", "country_code": "country",
}  # fmt: skip
#: Longest value each field takes as entered (a country may be spelled out, so never under 100);
#: a longer cell rejects its row rather than being cut.
FIELD_LIMITS = {
    name: max(getattr(Lead._meta.get_field(name), "max_length", None) or 0, 100)
    for name in LEAD_INPUT_FIELDS
    if name != "name"
} | {"external_id": 200, "source": 100, "campaign": 100, "website": 300}
EXTRA_LIMIT = 2000
#: A cell a spreadsheet would run as a formula (CSV injection). "+44 20 ..." is a phone number, not a formula.
_FORMULA = re.compile(r"^\s*(=|[+\-@]\s*[A-Za-z(]|[+\-@].*[|!])")
_FORMULA_STARTS = frozenset("=+-@ \t")
_XLSX_MAGIC = b"PK\x03\x04"


class ImportFileError(Exception):
    """The file as a whole cannot be read; the message says why, for the person who uploaded it."""


class ImportJobStartedError(Exception):
    """The import was started already: its mapping is fixed and it cannot be discarded."""


@dataclass(slots=True)
class Table:
    headers: list[str]
    #: (row number as a spreadsheet shows it, the header being row 1; the cells, or what is wrong with the row)
    rows: list[tuple[int, list[str] | str]]
    format: str


@dataclass(slots=True)
class ChunkResult:
    lead_ids: list[int] = field(default_factory=list)
    imported: int = 0
    rejected: int = 0
    merged: int = 0


def cell_is_formula(value: str) -> bool:
    """Whether a spreadsheet would run ``value`` as a formula: its row is rejected (the preview marks it)."""
    return value[:1] in _FORMULA_STARTS and bool(_FORMULA.match(value))


def header_key(header: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")


def mapping_suggest(headers: Sequence[str], remembered: Mapping[str, str] | None = None) -> dict[str, str]:
    """{header: field} for every header: remembered for this source, else by name, else "" (kept as extra).

    A remembered choice wins, "keep as extra field" included, and a field it takes is not guessed for another column.
    """
    remembered = {h: f for h, f in (remembered or {}).items() if h in headers and (f == "" or f in IMPORT_FIELDS)}
    mapping: dict[str, str] = {}
    taken = {f for f in remembered.values() if f}
    for header in headers:
        if header in remembered:
            guess = remembered[header]
        else:
            key = header_key(header)
            guess = key if key in IMPORT_FIELDS else _ALIASES.get(key, "")
            if guess in taken:
                guess = ""
        mapping[header] = guess
        if guess:
            taken.add(guess)
    return mapping


def mapping_validate(mapping: Mapping[str, str], headers: Sequence[str]) -> dict[str, str]:
    """The mapping checked against the file's headers; raises ``ImportFileError`` naming the problem."""
    unknown_headers = [h for h in mapping if h not in headers]
    if unknown_headers:
        raise ImportFileError(f"The file has no column named {unknown_headers[0]!r}.")
    bad = [f for f in mapping.values() if f and f not in IMPORT_FIELDS]
    if bad:
        raise ImportFileError(f"{bad[0]!r} is not a lead field; use one of: {', '.join(IMPORT_FIELDS)}.")
    used = [f for f in mapping.values() if f]
    twice = sorted({f for f in used if used.count(f) > 1})
    if twice:
        raise ImportFileError(f"Two columns are mapped to {twice[0]!r}.")
    if not set(used) & {"email", "phone", "first_name", "last_name"}:
        raise ImportFileError("No column is mapped to email, phone, first_name or last_name.")
    return {h: mapping.get(h, "") for h in headers}


def table_read(stream: IO[bytes], file_name: str, *, limit: int | None = None) -> Table:
    """The header and rows (the first ``limit`` if given) of a CSV or XLSX file, or ``ImportFileError``
    when it is not one."""
    data = stream.read(settings.IMPORT_MAX_BYTES + 1)
    if len(data) > settings.IMPORT_MAX_BYTES:
        raise ImportFileError(f"The file is larger than {settings.IMPORT_MAX_BYTES // 1_000_000} MB.")
    if not data.strip():
        raise ImportFileError("The file is empty.")
    if data.startswith(_XLSX_MAGIC) or file_name.lower().endswith((".xlsx", ".xlsm")):
        return _xlsx_read(data, limit)
    if b"\x00" in data[:8192]:
        raise ImportFileError("This is not a CSV file (it holds binary data). Upload a .csv or .xlsx file.")
    return _csv_read(data, limit)


def _csv_read(data: bytes, limit: int | None = None) -> Table:
    text = _decode(data)
    sample = text[:65536]
    # Only the delimiter is taken from the header line: sniffed from a line without quotes, the
    # quoting rules come out wrong (a doubled "" inside a quoted cell would stay doubled).
    try:
        delimiter = csv.Sniffer().sniff(sample.split("\n", 1)[0], delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    reader = enumerate(csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=delimiter), start=1)
    headers: list[str] = []
    for _, cells in reader:
        if any(cell.strip() for cell in cells):
            headers = [cell.strip() for cell in cells]
            break
    _check_headers(headers)
    rows: list[tuple[int, list[str] | str]] = []
    number = 1
    # Bytes that were not UTF-8 decode to lone surrogates: look for them row by row only if the text has any.
    bad_bytes = _SURROGATE.search(text) is not None
    try:
        for number, cells in reader:
            if limit is not None and len(rows) >= limit:
                break
            if not any(cell.strip() for cell in cells):
                continue
            if bad_bytes and any(_SURROGATE.search(cell) for cell in cells):
                rows.append((number, "The row is not valid UTF-8 text (bad encoding)."))
            elif len(cells) != len(headers):
                rows.append((number, f"The row has {len(cells)} columns; the header has {len(headers)}."))
            else:
                rows.append((number, cells))
    except csv.Error as exc:  # e.g. a quote never closed: the rest of the file is one cell
        rows.append((number + 1, f"The file cannot be read past this row: {exc}."))
    return Table(headers, rows, "csv")


_SURROGATE = re.compile("[\udc80-\udcff]")


def _check_headers(headers: list[str]) -> None:
    if not headers:
        raise ImportFileError("The file has no header row.")
    if len(set(headers)) != len(headers) or any(not h for h in headers):
        raise ImportFileError("Every column needs a header, and no two the same.")


def _decode(data: bytes) -> str:
    """UTF-8 (a few undecodable rows are reported row by row); a file that is mostly another
    encoding (Excel's Windows-1252, say) is read in that encoding."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    lines = data.splitlines()
    bad = 0
    for line in lines:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            bad += 1
    if bad > max(3, len(lines) // 10):
        from charset_normalizer import from_bytes

        best = from_bytes(data[:200_000]).best()
        if best is not None and best.encoding:
            return data.decode(best.encoding, errors="replace")
    return data.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")


def _xlsx_read(data: bytes, limit: int | None = None) -> Table:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise ImportFileError(f"This is not a readable .xlsx workbook ({type(exc).__name__}).") from exc
    sheet = book.worksheets[0]
    values = enumerate(sheet.iter_rows(values_only=True), start=1)
    headers: list[str] = []
    for _, cells in values:
        if any(c not in (None, "") for c in cells):
            headers = [str(c).strip() if c is not None else "" for c in cells]
            break
    while headers and not headers[-1]:
        headers.pop()
    _check_headers(headers)
    rows: list[tuple[int, list[str] | str]] = []
    for number, cells in values:
        if limit is not None and len(rows) >= limit:
            break
        texts = [_cell_text(c) for c in cells]
        if not any(t.strip() for t in texts):
            continue
        if any(t.strip() for t in texts[len(headers) :]):
            rows.append((number, f"The row has values beyond the {len(headers)} headed columns."))
            continue
        rows.append((number, (texts + [""] * len(headers))[: len(headers)]))
    book.close()
    return Table(headers, rows, "xlsx")


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def import_source_get_or_create(*, slug: str, name: str = "") -> tuple[Source, bool]:
    """The source with ``slug``; an unknown slug creates a list-import source (named ``name``, or after the slug)."""
    slug = slugify(slug)[:60]
    if not slug:
        raise ImportFileError("A source needs a name with letters or digits.")
    return Source.objects.get_or_create(
        slug=slug,
        defaults={"name": (name.strip() or slug.replace("-", " ").title())[:120], "kind": Source.Kind.LIST_IMPORT},
    )


def import_job_upload(
    *,
    source: Source,
    upload: UploadedFile,
    user: AbstractBaseUser | None = None,
    campaign: Campaign | None = None,
) -> ImportJob:
    """Store the file and suggest a mapping (remembered for ``source``, else by header names); do not start.

    The job waits as PENDING until ``import_job_start``; nothing reads it before then. Raises
    ``ImportFileError`` (nothing stored) when the file cannot be read or has no rows.
    """
    upload.seek(0)
    table = table_read(upload, upload.name or "upload")
    if not table.rows:
        raise ImportFileError("The file has a header row but no rows below it.")
    upload.seek(0)
    return ImportJob.objects.create(
        source=source,
        campaign=campaign,
        file=upload,
        file_name=Path(upload.name or "upload").name[:255],
        headers=table.headers,
        mapping=mapping_suggest(table.headers, source.import_mapping),
        created_by=user if user is not None and user.is_authenticated else None,
        rows_total=len(table.rows),
    )


def import_job_start(*, job: ImportJob, mapping: Mapping[str, str], campaign: Campaign | None) -> ImportJob:
    """Fix the job's mapping and campaign, remember the mapping for its source, and send the reader.

    Raises ``ImportFileError`` when the mapping does not fit the file, ``ImportJobStartedError``
    when the job was started already (a second click on "Start" sends no second reader).
    """
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.started_at is not None or locked.status != ImportJob.Status.PENDING:
            raise ImportJobStartedError(f"Import {job.pk} has started already.")
        mapping = mapping_validate(mapping, locked.headers)
        now = timezone.now()
        ImportJob.objects.filter(pk=job.pk).update(mapping=mapping, campaign=campaign, started_at=now, updated_at=now)
        Source.objects.filter(pk=locked.source_id).update(import_mapping=mapping, updated_at=now)
        transaction.on_commit(lambda: import_read_task.delay(job.pk), robust=True)  # the sweeper re-sends it
    job.refresh_from_db()
    return job


def import_job_create(
    *,
    source: Source,
    upload: UploadedFile,
    mapping: Mapping[str, str] | None = None,
    campaign: Campaign | None = None,
    user: AbstractBaseUser | None = None,
) -> ImportJob:
    """Upload and start in one go: the suggested mapping unless ``mapping`` is given.

    Raises ``ImportFileError`` (nothing stored) when the file cannot be read or mapped.
    """
    with transaction.atomic():
        job = import_job_upload(source=source, upload=upload, user=user, campaign=campaign)
        try:
            return import_job_start(job=job, mapping=mapping or job.mapping, campaign=campaign)
        except ImportFileError:
            job.file.delete(save=False)  # the row goes with the transaction; the stored file must go too
            raise


def import_job_discard(*, job: ImportJob) -> None:
    """Delete an upload that was never started, and its file."""
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.started_at is not None or locked.status != ImportJob.Status.PENDING:
            raise ImportJobStartedError(f"Import {job.pk} has started; it is kept.")
        storage, file_name = locked.file.storage, locked.file.name
        locked.delete()
        transaction.on_commit(lambda: storage.delete(file_name))


def import_job_preview(*, job: ImportJob, rows: int = 10) -> Table:
    """The header and first ``rows`` rows of the job's stored file, as the reader will see them."""
    try:
        with job.file.open("rb") as stream:
            return table_read(stream, job.file_name, limit=rows)
    except OSError as exc:
        raise ImportFileError("The uploaded file is no longer there; upload it again.") from exc


def import_job_list_recent(*, user: AbstractBaseUser, limit: int = 50) -> QuerySet[ImportJob]:
    """The team's started imports and ``user``'s own uploads not started yet, newest first."""
    return (
        ImportJob.objects.filter(Q(started_at__isnull=False) | Q(created_by=user))
        .select_related("source", "campaign", "created_by")
        .order_by("-created_at", "-id")[:limit]
    )


def import_job_read(*, job: ImportJob) -> ImportJob:
    """Read the job's file and send each chunk of rows not yet stored to the workers.

    Chunks are stored in parallel, each once (``ImportChunk`` is their ledger), so reading again
    after a crash sends only what is missing.
    """
    if job.is_finished:
        return job
    if job.status == ImportJob.Status.PENDING:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.READING,
            started_at=Coalesce(F("started_at"), timezone.now()),
            updated_at=timezone.now(),
        )
    try:
        with job.file.open("rb") as stream:
            table = table_read(stream, job.file_name)
    except (ImportFileError, OSError) as exc:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED, error=str(exc), finished_at=timezone.now(), updated_at=timezone.now()
        )
        job.refresh_from_db()
        return job
    stored = set(job.chunks.values_list("number", flat=True))
    for number, rows in enumerate(chunked(table.rows, settings.IMPORT_CHUNK_ROWS)):
        if number not in stored:
            import_chunk_task.delay(job.pk, number, rows)
    _import_job_mark_read(job.pk)
    job.refresh_from_db()
    return job


def _import_job_mark_read(job_id: int) -> None:
    """Once every row is stored, the job is processing; done when the pipeline has them all."""
    ImportJob.objects.filter(pk=job_id, read_at__isnull=True, rows_read__gte=F("rows_total")).update(
        status=ImportJob.Status.PROCESSING, read_at=timezone.now(), updated_at=timezone.now()
    )
    import_job_finish_if_done(job_id=job_id)


def import_chunk_store(*, job_id: int, number: int, rows: Sequence[Sequence[Any]]) -> int:
    """Store one chunk of rows (raw submissions, normalized leads, row errors) unless it is stored already.

    ``rows`` are ``(row number, cells or problem)`` pairs. Returns the number of leads made.
    """
    job = ImportJob.objects.select_related("source", "campaign").get(pk=job_id)
    if job.is_finished:
        return 0
    lead_ids = _store_chunk(job, number, job.headers, job.mapping, [(int(n), c) for n, c in rows])
    if lead_ids is None:
        return 0
    _import_job_mark_read(job.pk)
    return len(lead_ids)


@transaction.atomic
def _store_chunk(
    job: ImportJob,
    number: int,
    headers: list[str],
    mapping: dict[str, str],
    chunk: Sequence[tuple[int, list[str] | str]],
) -> list[int] | None:
    _, created = ImportChunk.objects.get_or_create(job=job, number=number, defaults={"rows": len(chunk)})
    if not created:
        return None  # stored by an earlier run of this task
    now = timezone.now()
    errors: list[ImportRowError] = []
    rows: list[tuple[int, dict[str, str], dict[str, Any]]] = []  # (row number, raw by header, mapped)
    for number, cells in chunk:
        if isinstance(cells, str):
            errors.append(ImportRowError(job=job, row_number=number, problem=cells))
            continue
        raw = dict(zip(headers, cells, strict=True))
        problem = _row_problem(raw, mapping)
        if problem:
            header, text = problem
            value = raw.get(header, "")
            errors.append(
                ImportRowError(
                    job=job,
                    row_number=number,
                    field=mapping.get(header) or header[:60],
                    problem=text,
                    value=value[:200],
                )
            )
            continue
        # Only mapped columns fill fields: one kept as an extra field stays extra even when its
        # header is a field's name (the person chose so, or another column took that field).
        mapped: dict[str, Any] = {mapping[h]: v for h, v in raw.items() if mapping.get(h) and v.strip()}
        rows.append((number, raw, mapped))

    # A source record seen before (an earlier chunk, an earlier import) belongs to its lead already.
    external_ids = {m["external_id"].strip()[:200] for _, _, m in rows if m.get("external_id", "").strip()}
    known = dict(
        SourceRecord.objects.filter(source=job.source, external_id__in=external_ids).values_list(
            "external_id", "lead_id"
        )
    )
    slugs = {m["campaign"].strip() for _, _, m in rows if m.get("campaign", "").strip()}
    campaigns = (
        dict(Campaign.objects.filter(source=job.source, slug__in=slugs).values_list("slug", "pk")) if slugs else {}
    )
    new_leads: list[Lead] = []
    submissions: list[tuple[Submission, Lead | int]] = []
    records: list[tuple[str, Lead]] = []
    first_in_chunk: dict[str, Lead] = {}
    merged = 0
    # Made by copying one template each: Model.__init__ costs more than the rest of a row's import.
    blank_submissions = instances_like(Submission(source=job.source, import_job=job, received_at=now), len(rows))
    blank_leads = iter(
        instances_like(
            Lead(
                source=job.source,
                campaign=job.campaign,
                import_job=job,
                pipeline_state=Lead.PipelineState.NORMALIZED,
                created_at=now,
                updated_at=now,
            ),
            len(rows),
        )
    )
    for (number, raw, mapped), submission in zip(rows, blank_submissions, strict=True):
        external_id = mapped.get("external_id", "").strip()[:200]
        submission.row_number, submission.payload = number, raw
        owner: Lead | int | None = known.get(external_id) or first_in_chunk.get(external_id) if external_id else None
        if owner is not None:
            merged += 1
            submissions.append((submission, owner))
            continue
        lead = next(blank_leads)
        lead_apply_raw(lead, mapped)
        lead.extra = {h[:100]: v for h, v in raw.items() if not mapping.get(h) and v.strip()}
        row_campaign = mapped.get("campaign", "").strip()
        if row_campaign in campaigns:
            lead.campaign_id = campaigns[row_campaign]
        elif row_campaign:
            lead.invalid_fields["campaign"] = {"value": row_campaign[:300], "problem": CAMPAIGN_NOT_OF_SOURCE}
        for name, problem in lead.invalid_fields.items():
            errors.append(
                ImportRowError(
                    job=job,
                    row_number=number,
                    field=name,
                    problem=f"{problem['problem']} (kept as entered)",
                    value=problem["value"][:200],
                    rejected=False,
                )
            )
        new_leads.append(lead)
        submissions.append((submission, lead))
        if external_id:
            records.append((external_id, lead))
            first_in_chunk[external_id] = lead
    # Duplicates: rows of one person in this chunk become one lead before insert (the later rows'
    # submissions and source records join it); a row matching a stored lead is merged into it after.
    definition = lead_definition_current()
    plan = leads_dedupe_unsaved(leads=new_leads, definition=definition)
    by_index = [None if n in plan.joins else lead for n, lead in enumerate(new_leads)]
    joined = {id(new_leads[n]): new_leads[target] for n, target in plan.joins.items()}
    new_leads = [lead for lead in by_index if lead is not None]
    # A row merged into a stored lead before insert goes in merged: no screening or scoring of its own.
    changes = leads_process_unsaved([lead for lead in new_leads if lead.merged_into_id is None], definition=definition)
    bulk_insert_rows(new_leads)
    bulk_insert_rows(changes)
    for submission, owner in submissions:
        owner = joined.get(id(owner), owner)
        submission.lead_id = owner if isinstance(owner, int) else owner.pk
    bulk_insert_rows([s for s, _ in submissions])
    bulk_insert_rows(
        [SourceRecord(lead=joined.get(id(lead), lead), source=job.source, external_id=ext) for ext, lead in records]
    )
    merged_away = leads_dedupe_inserted(plan=plan, leads=by_index, definition=definition)
    bulk_insert_rows(errors)
    rejected = sum(1 for e in errors if e.rejected)
    merged += len(plan.joins) + len(merged_away)
    new_leads = [lead for lead in new_leads if lead.pk not in merged_away]
    # Only the MQLs have a step left (routing); the other leads went in through the pipeline already.
    to_route = [lead.pk for lead in new_leads if lead.pipeline_state == Lead.PipelineState.SCORED]
    ImportJob.objects.filter(pk=job.pk).update(
        rows_read=F("rows_read") + len(chunk),
        rows_imported=F("rows_imported") + len(new_leads),
        rows_rejected=F("rows_rejected") + rejected,
        rows_merged=F("rows_merged") + merged,
        rows_processed=F("rows_processed") + len(new_leads) - len(to_route),
        updated_at=now,
    )
    # Stored; the sweeper re-drives the MQLs if this message is lost.
    transaction.on_commit(lambda: pipeline_start(to_route, first=Lead.PipelineState.SCORED), robust=True)
    return [lead.pk for lead in new_leads]


def _row_problem(raw: Mapping[str, str], mapping: Mapping[str, str]) -> tuple[str, str] | None:
    """(header, problem) for a row that cannot be imported, else ``None``."""
    for header, value in raw.items():
        if len(value) > 100:
            limit = FIELD_LIMITS.get(mapping.get(header, ""), EXTRA_LIMIT)
            if len(value) > limit:
                return header, f"{len(value)} characters long; at most {limit} fit"
        if value[:1] in _FORMULA_STARTS and _FORMULA.match(value):
            return header, "Starts like a spreadsheet formula; not imported, to keep spreadsheets safe"
    present = {mapping.get(h) for h, v in raw.items() if v.strip()}
    if not present & {"email", "phone"} and not (present & {"first_name", "last_name"} and "company" in present):
        return "", "No e-mail, phone, or name with company: nothing identifies the person"
    return None


def import_jobs_redrive_stale() -> int:
    """Start again the reading of imports whose reader stopped (no progress for the stale period).

    Only started imports: an upload waiting for its person to check the mapping is left alone.
    """
    cutoff = timezone.now() - timedelta(seconds=settings.PIPELINE_STALE_SECONDS)
    stale = list(
        ImportJob.objects.filter(
            status__in=[ImportJob.Status.PENDING, ImportJob.Status.READING],
            started_at__isnull=False,
            updated_at__lt=cutoff,
        ).values_list("pk", flat=True)
    )
    for job_id in stale:
        ImportJob.objects.filter(pk=job_id).update(updated_at=timezone.now())
        import_read_task.delay(job_id)
    return len(stale)


def import_job_errors(*, job: ImportJob) -> Iterator[ImportRowError]:
    """The job's row problems in row order, for the downloadable report."""
    return job.row_errors.order_by("row_number", "id").iterator(chunk_size=2000)
