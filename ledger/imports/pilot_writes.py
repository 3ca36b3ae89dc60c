"""Writing a ledger workbook's valid rows: new pilots in bulk with their history, regions and
latest report, existing pilots through the office's corrections, and the overlap index kept
in step after commit."""

from __future__ import annotations

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from accounts.models import Organisation
from ledger.imports.pilot_columns import FIELD_COLUMNS
from ledger.imports.pilot_rows import LOOKUP_CHUNK, PilotRow
from ledger.imports.results import RowsRefused, row_error
from ledger.models import QuarterlyReport
from pilots.codes import parse_code, reserve_codes, year_prefix
from pilots.models import Pilot


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


def write_pilots(actor, rows: list[PilotRow], *, reason: str) -> None:
    """Create and update the pilots of valid rows (inside apply_import's transaction).

    New pilots are written in bulk, each with its creation record (by the actor, with the
    batch's reason) and the snapshot of its regions on that record, as simple-history keeps
    it for a save through the ORM. An existing pilot is changed only through the domain
    function the office's corrections go through (`pilots.services.correct_ledger_pilot`),
    which checks the change again and writes it to history with the batch's reason; rows it
    refuses are raised together as RowsRefused."""
    from pilots.services import correct_ledger_pilot

    new = [row for row in rows if row.existing is None]
    if new:
        _assign_codes(new)
        pilots = bulk_create_with_history(
            [
                Pilot(code=row.code, applicant=row.values["lead_department"], **row.values)
                for row in new
            ],
            Pilot,
            batch_size=LOOKUP_CHUNK,
            default_user=actor,
            default_change_reason=reason,
        )
        _write_regions(pilots, [row.regions for row in new])
        reports = [
            QuarterlyReport(
                pilot=pilot,
                year=row.report.year,
                quarter=row.report.quarter,
                progress=row.report.progress,
                due_date=row.report.due_date,
                days_late=row.report.days_late,
                organisation=pilot.lead_department,
                submitted_by=actor,
            )
            for row, pilot in zip(new, pilots, strict=True)
            if row.report
        ]
        if reports:
            bulk_create_with_history(
                reports,
                QuarterlyReport,
                batch_size=LOOKUP_CHUNK,
                default_user=actor,
                default_change_reason=reason,
            )
        pilot_ids = [p.pk for p in pilots]
        transaction.on_commit(lambda: _reindex(pilot_ids))
        from pilots import overlap  # R1.3 on import: flag once the reindex above has run

        overlap.check_ids_on_commit(pilot_ids)
    refused: list[dict] = []
    for row in rows:
        if row.existing is None or not (row.changed or row.regions_changed):
            continue
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
    if refused:
        raise RowsRefused(refused)


def _domain_errors(row: int, exc: ValidationError) -> list[dict]:
    """A domain function's ValidationError as the row's errors, each under its column."""
    if not hasattr(exc, "error_dict"):
        return [row_error(row, "", message) for message in exc.messages]
    return [
        row_error(row, FIELD_COLUMNS.get(name, ""), message)
        for name, messages in exc.message_dict.items()
        for message in messages
    ]


def _write_regions(pilots: list[Pilot], regions: list[list[Organisation]]) -> None:
    """The new pilots' regions as bulk through rows, and their snapshot on each pilot's
    creation record (bulk rows send no m2m signal for simple-history to catch)."""
    through = Pilot.regions.through
    links = through.objects.bulk_create(
        [
            through(pilot_id=pilot.pk, organisation_id=org.pk)
            for pilot, orgs in zip(pilots, regions, strict=True)
            for org in orgs
        ],
        batch_size=LOOKUP_CHUNK * 2,
    )
    if not links:
        return
    historical = Pilot.history.model
    snapshot = apps.get_model("pilots", f"{historical.__name__}_regions")
    history_ids: dict[int, int] = {}
    ids = [p.pk for p in pilots]
    for start in range(0, len(ids), LOOKUP_CHUNK):
        history_ids.update(
            historical.objects.filter(
                id__in=ids[start : start + LOOKUP_CHUNK], history_type="+"
            ).values_list("id", "history_id")
        )
    snapshot.objects.bulk_create(
        [
            snapshot(
                history_id=history_ids[link.pilot_id],
                id=link.pk,
                pilot_id=link.pilot_id,
                organisation_id=link.organisation_id,
            )
            for link in links
        ],
        batch_size=LOOKUP_CHUNK * 2,
    )


# Indexing one pilot costs about as much as rebuilding the index for this many pilots
# (measured: index_pilot about 17 ms a pilot, overlap.reindex_all about 0.5 ms a pilot).
REINDEX_COST_RATIO = 35


def _reindex(pilot_ids: list[int]) -> None:
    """Keep the overlap index (R1.3) in step with the imported pilots' text, after commit:
    one by one in a single transaction for a few, else by the set-based rebuild when that is
    cheaper (a large import)."""
    from pilots import overlap

    if len(pilot_ids) * REINDEX_COST_RATIO > Pilot.objects.count():
        overlap.reindex_all()
        return
    with transaction.atomic():
        for pilot in Pilot.objects.filter(pk__in=pilot_ids).only(
            "pk", "name", "goal", "measures", "scope", "kind", "origin"
        ):
            overlap.index_pilot(pilot)
