"""Rows the benches and the load test generate alike."""

from __future__ import annotations


def confirmed_filing(pilot, *, plan: str, submitted_by, **fields):
    """A confirmed filing (R2.2) of a generated ledger pilot, copied from the pilot's own
    approval and content; `fields` adds or overrides (due date, filing day, decision)."""
    from ledger.models import Filing

    approved = pilot.approval_date or pilot.start_date
    return Filing(
        pilot=pilot,
        status="confirmed",
        approval_authority=pilot.approval_authority or "省生态文明体制改革专项小组",
        approval_doc_number=pilot.approval_doc_number or "浙环函〔2025〕1号",
        approval_date=approved,
        implementing_body=pilot.implementing_body,
        start_date=pilot.start_date,
        end_date=pilot.end_date,
        goal=pilot.goal,
        measures=pilot.measures,
        expected_outcomes=pilot.expected_outcomes,
        contact_person=pilot.contact_person or "联系人",
        contact_phone=pilot.contact_phone or "0571-88888888",
        plan=plan,
        submitted_by=submitted_by,
        **{"due_date": approved, "filed_on": approved, **fields},
    )
