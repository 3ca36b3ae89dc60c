"""The ledger's contributions to pages below it: the pilot page's filings panel (R2.2) and
the home page's quarterly reports owed (R2.3); registered in LedgerConfig.ready()."""

from __future__ import annotations

from django.db.models import Exists, OuterRef

from accounts.constants import Role
from core.dates import format_cn_quarter
from ledger.filing import may_file
from ledger.models import Filing
from ledger.reports import owed_reports
from pilots import rules
from pilots.constants import Status
from pilots.panels import Panel, has_rows, register_panel
from pilots.selectors import ROW_LIMIT, WorkItem, WorkSection, register_work_sections


def filings(user, pilot, access) -> dict:
    people = ("submitted_by__organisation__parent", "decided_by__organisation__parent")
    found = pilot.filings.select_related(*people).order_by("-version")
    return {
        "filings": list(found) if has_rows(pilot, "has_filings") else [],
        "can_file": pilot.status == Status.APPROVED and may_file(user, pilot),
    }


def owed_report_sections(user, role, today) -> list[WorkSection]:
    """R2.3: on a lead department's home page, the quarterly reports it owes."""
    if role != Role.LEAD_DEPARTMENT or user.organisation is None:
        return []
    owed = owed_reports(user.organisation, today)
    return [
        WorkSection(
            title=f"应报未报的季度进展（{rules.numbers().quarterly}）",
            clause="R2.3",
            items=[
                WorkItem(
                    pilot=row["pilot"],
                    what=f"{format_cn_quarter(row['year'], row['quarter'])}进展",
                    clause="R2.3",
                    due=row["due"],
                    today=today,
                )
                for row in owed[:ROW_LIMIT]
            ],
        )
    ]


def register() -> None:
    register_panel(
        Panel(
            "filings",
            "ledger/_pilot_filings.html",
            filings,
            10,
            exists={"has_filings": lambda: Exists(Filing.objects.filter(pilot=OuterRef("pk")))},
        )
    )
    register_work_sections(owed_report_sections)
