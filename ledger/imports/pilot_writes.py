"""Writing a ledger workbook's valid rows: new pilots set-based with their history, regions
and latest report, existing pilots through the office's corrections; the overlap check (R1.3)
of the new pilots follows once the rows are committed."""

from __future__ import annotations

from collections.abc import Callable

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from core.bulk import insert_rows, insert_with_history
from ledger.imports.pilot_columns import FIELD_COLUMNS
from ledger.imports.pilot_rows import LOOKUP_CHUNK, PilotRow
from ledger.imports.results import RowsRefused, row_error
from ledger.models import QuarterlyReport
from pilots.codes import parse_code, reserve_codes, year_prefix
from pilots.models import Pilot

# How often (in rows) the corrections of existing pilots report their progress.
PROGRESS_EVERY = 100


def _assign_codes(rows: list[PilotRow]) -> None:
    """Codes for the new pilots: their own, and for rows without one the next free codes of
    their approval year. Each year's counter is moved past every code used, so that no code
    is handed out again; codes some pilot already holds (pilots made outside the counter)
    are skipped."""
    highest: dict[int, int] = {}
    wanted: dict[int, list[PilotRow]] = {}
    for row in rows:
        if row.code:
            year, serial = parse_code(row.code)
            highest[year] = max(highest.get(year, 0), serial)
        else:
            year = (row.values["approval_date"] or timezone.localdate()).year
            wanted.setdefault(year, []).append(row)
    in_file = {row.code for row in rows if row.code}
    for year in sorted(highest.keys() | wanted.keys()):
        taken = in_file
        if year in wanted:
            taken = in_file | set(
                Pilot.objects.filter(code__startswith=year_prefix(year)).values_list(
                    "code", flat=True
                )
            )
        codes = reserve_codes(
            year, len(wanted.get(year, [])), at_least=highest.get(year, 0), taken=taken
        )
        for row, code in zip(wanted.get(year, []), codes, strict=True):
            row.code = code


def write_pilots(
    actor,
    rows: list[PilotRow],
    *,
    reason: str,
    on_rows: Callable[[int], None] = lambda done: None,
) -> list[int]:
    """Create and update the pilots of valid rows (inside the apply's transaction); returns
    the new pilots' ids. `on_rows(n)` is told how many rows are written so far.

    New pilots are written set-based (core.bulk: a fixed number of statements per 500 rows),
    each with its creation record (by the actor, with the batch's reason) and the snapshot of
    its regions on that record, as simple-history keeps it for a save through the ORM. An
    existing pilot is changed only through the domain function the office's corrections go
    through (`pilots.services.correct_ledger_pilot`), which checks the change again and
    writes it to history with the batch's reason; rows it refuses are raised together as
    RowsRefused."""
    from pilots.services import correct_ledger_pilot

    new = [row for row in rows if row.existing is None]
    new_ids: list[int] = []
    done = 0
    if new:
        new_ids = _create_pilots(actor, new, reason=reason)
        done = len(new)
        on_rows(done)
    refused: list[dict] = []
    for row in rows:
        if row.existing is None:
            continue
        done += 1
        if row.changed or row.regions_changed:
            try:
                correct_ledger_pilot(
                    actor=actor,
                    pilot=row.existing,
                    data={name: row.values[name] for name in row.changed},
                    regions=row.regions if row.regions_changed else None,
                    reason=reason,
                )
            except ValidationError as exc:
                refused.extend(_domain_errors(row.row, exc))
        if done % PROGRESS_EVERY == 0:
            on_rows(done)
    if refused:
        raise RowsRefused(refused)
    on_rows(len(rows))
    return new_ids


def _create_pilots(actor, new: list[PilotRow], *, reason: str) -> list[int]:
    """The new pilots, their creation records, regions (with their snapshot on the creation
    record) and latest reports: set-based, whatever the number of rows."""
    _assign_codes(new)
    now = timezone.now()
    insert_with_history(
        Pilot,
        [
            Pilot(
                code=row.code,
                applicant=row.values["lead_department"],
                created_at=now,
                updated_at=now,
                **row.values,
            )
            for row in new
        ],
        key_field="code",
        reason=reason,
        user=actor,
    )
    codes = [row.code for row in new]
    ids: dict[str, int] = {}
    for start in range(0, len(codes), LOOKUP_CHUNK):
        ids.update(
            Pilot.objects.filter(code__in=codes[start : start + LOOKUP_CHUNK]).values_list(
                "code", "pk"
            )
        )
    pilot_ids = [ids[code] for code in codes]
    through = Pilot.regions.through
    insert_rows(
        through,
        [
            through(pilot_id=pk, organisation_id=org.pk)
            for pk, row in zip(pilot_ids, new, strict=True)
            for org in row.regions
        ],
    )
    _snapshot_regions(pilot_ids)
    insert_with_history(
        QuarterlyReport,
        [
            QuarterlyReport(
                pilot_id=pk,
                year=row.report.year,
                quarter=row.report.quarter,
                progress=row.report.progress,
                due_date=row.report.due_date,
                days_late=row.report.days_late,
                organisation=row.values["lead_department"],
                submitted_by=actor,
                submitted_at=now,
            )
            for pk, row in zip(pilot_ids, new, strict=True)
            if row.report
        ],
        key_field="pilot_id",  # a new pilot has no other report
        reason=reason,
        user=actor,
    )
    return pilot_ids


def _snapshot_regions(pilot_ids: list[int]) -> None:
    """The new pilots' regions as simple-history keeps them on each creation record (rows
    written in bulk send no m2m signal for it to catch): copied from the through rows, one
    statement per 500 pilots."""
    through = Pilot.regions.through
    historical = Pilot.history.model
    snapshot = apps.get_model("pilots", f"{historical.__name__}_regions")
    q = connection.ops.quote_name
    sql = (
        f"INSERT INTO {q(snapshot._meta.db_table)} (history_id, id, pilot_id, organisation_id) "
        f"SELECT h.{q('history_id')}, t.id, t.pilot_id, t.organisation_id "
        f"FROM {q(through._meta.db_table)} t JOIN {q(historical._meta.db_table)} h "
        "ON h.id = t.pilot_id AND h.history_type = '+' "
        "WHERE t.pilot_id IN ({})"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(pilot_ids), LOOKUP_CHUNK):
            chunk = pilot_ids[start : start + LOOKUP_CHUNK]
            cursor.execute(sql.format(", ".join(["%s"] * len(chunk))), chunk)


def _domain_errors(row: int, exc: ValidationError) -> list[dict]:
    """A domain function's ValidationError as the row's errors, each under its column."""
    if not hasattr(exc, "error_dict"):
        return [row_error(row, "", message) for message in exc.messages]
    return [
        row_error(row, FIELD_COLUMNS.get(name, ""), message)
        for name, messages in exc.message_dict.items()
        for message in messages
    ]


# Indexing one pilot costs about as much as rebuilding the index for this many pilots
# (measured: index_pilot about 17 ms a pilot, overlap.reindex_all about 0.5 ms a pilot).
REINDEX_COST_RATIO = 35


# The overlap check after an import takes this many pilots per task (well under a task's time
# limit even when every pilot has many candidates); the rest are queued as further tasks.
CHECK_CHUNK = 500


def check_imported_pilots(pilot_ids: list[int], *, index: bool = True) -> int:
    """R1.3 for the pilots an import created, once they are committed: the overlap index
    brought in step with their text — one by one for a few, by the set-based rebuild when
    that is cheaper (a large import) — then each checked against the library, CHECK_CHUNK
    pilots here and the rest queued as tasks of their own. Returns the number of flags
    recorded here. Run by the import's job after its commit, never inside the import's
    transaction."""
    from pilots import overlap

    if not pilot_ids:
        return 0
    if index and len(pilot_ids) * REINDEX_COST_RATIO > Pilot.objects.count():
        overlap.reindex_all()
    elif index:
        with transaction.atomic():
            for pilot in Pilot.objects.filter(pk__in=pilot_ids).only(
                "pk", "name", "goal", "measures", "scope", "kind", "origin"
            ):
                overlap.index_pilot(pilot)
    head, rest = list(pilot_ids[:CHECK_CHUNK]), list(pilot_ids[CHECK_CHUNK:])
    flagged = overlap.check_pilots(head, index=False)
    if rest:
        from ledger.imports.jobs import queue_overlap_check

        queue_overlap_check(rest, index=False)
    return flagged
