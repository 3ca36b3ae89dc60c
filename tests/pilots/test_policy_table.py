"""The access policy's table walked row by row, through every read path.

The world is generated from the table: for every phase a pilot can be in, a pilot of each
shape (who applied, who leads, where it runs, who takes part). Which personas may see each
pilot is then read off `policy.RULES` with the relations worked out here from the shape —
independently of the policy's own relation code — and every read path must agree with it:
the pilot page, the application PDF, the API's detail and list (with a status filter and a
search), the pilot list searched, notices that link to the pilot, and overlap flags against
the pilot on the persona's own application. The auditor and experts see none of it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from accounts.constants import Role
from accounts.models import Notification
from pilots import calendar, policy, screening
from pilots.constants import Decision, Origin, OverlapVerdict, Stage, Status
from pilots.models import Call, Opinion, OverlapFlag, Pilot
from pilots.policy import Phase, Rel
from tests.factories import PilotFactory, UserFactory

pytestmark = pytest.mark.walk

PERSONAS = ("office", "dept", "hangzhou", "ningbo", "county", "expert", "auditor")
ROLE = {
    "office": Role.OFFICE,
    "dept": Role.LEAD_DEPARTMENT,
    "hangzhou": Role.PREFECTURE,
    "ningbo": Role.PREFECTURE,
    "county": Role.COUNTY,
    "expert": Role.EXPERT,
    "auditor": Role.AUDITOR,
}


@dataclass(frozen=True)
class Shape:
    """Who a pilot belongs to: the organisations (by fixture key) in each relation."""

    key: str
    applicant: str
    lead: str
    region: str
    participant: str | None = None
    origin: str = Origin.CALL


SHAPES = (
    Shape("county_app", applicant="county", lead="dept", region="county"),
    Shape("hangzhou_app", applicant="hangzhou", lead="division", region="hangzhou"),
    Shape("ningbo_app", applicant="ningbo", lead="other_dept", region="ningbo"),
    Shape(
        "ningbo_county_app",
        applicant="nb_county",
        lead="other_dept",
        region="nb_county",
        participant="dept",
    ),
    Shape("dept_entered", applicant="dept", lead="dept", region="ningbo", origin=Origin.MINISTRY),
)
# Phases a pilot of each origin can reach: a pilot entered directly starts at approval (R2.2).
PHASES_OF_CALL = sorted(policy.ALL_PHASES)
PHASES_OF_ENTRY = sorted(policy.PROVINCIAL)

STATUS_OF = {
    Phase.WITHDRAWN_SUBMITTED: Status.WITHDRAWN,
    Phase.WITHDRAWN_UNSUBMITTED: Status.WITHDRAWN,
    Phase.REJECTED_BY_OFFICE: Status.REJECTED,
    Phase.REJECTED_BY_PREFECTURE: Status.REJECTED,
}
# The prefecture each organisation belongs to, and the department over each division.
PREFECTURE_OF = {"county": "hangzhou", "hangzhou": "hangzhou", "ningbo": "ningbo"}
PREFECTURE_OF["nb_county"] = "ningbo"
DEPARTMENT_OF = {"division": "dept", "dept": "dept", "other_dept": "other_dept"}


def relations(persona: str, shape: Shape) -> set[str]:
    """The relations of `persona`'s organisation to a pilot of `shape`, from the shape alone."""
    found = {Rel.ANY}
    if shape.applicant == persona:
        found.add(Rel.APPLICANT)
    if PREFECTURE_OF.get(shape.applicant) == persona:
        found.add(Rel.SCREENER)
    if DEPARTMENT_OF.get(shape.lead) == persona or shape.lead == persona:
        found.add(Rel.LEAD)
    if shape.participant == persona:
        found.add(Rel.PARTICIPANT)
    if shape.region == persona or PREFECTURE_OF.get(shape.region) == persona:
        # a prefecture's area includes its counties; a county's is itself
        if ROLE[persona] == Role.PREFECTURE or shape.region == persona:
            found.add(Rel.REGION)
    return found


def expected_viewers(shape: Shape, phase: str) -> set[str]:
    return {
        persona
        for persona in PERSONAS
        for rule in policy.RULES
        if ROLE[persona] in rule.roles
        and rule.relation in relations(persona, shape)
        and phase in rule.phases
        and policy.Act.VIEW in rule.actions
    }


@pytest.fixture
def world(orgs, personas):
    personas["auditor"] = UserFactory(
        username="auditor", organisation=orgs["office"], role=Role.AUDITOR
    )
    call = Call.objects.create(
        title="政策表批次",
        deadline=dt.datetime(2027, 3, 31, 9, tzinfo=dt.UTC),
        opened_by=personas["office"],
    )
    pilots: dict[str, tuple[Pilot, set[str]]] = {}
    for shape in SHAPES:
        phases = PHASES_OF_CALL if shape.origin == Origin.CALL else PHASES_OF_ENTRY
        for phase in phases:
            pilot = PilotFactory(
                name=f"政策表试点{shape.key}{phase}",
                status=STATUS_OF.get(phase, phase),
                origin=shape.origin,
                call=call if shape.origin == Origin.CALL else None,
                applicant=orgs[shape.applicant],
                lead_department=orgs[shape.lead],
                regions=[orgs[shape.region]],
                start_date=dt.date(2026, 1, 1),
                end_date=dt.date(2026, 12, 31),
            )
            if shape.participant:
                pilot.participating_units.set([orgs[shape.participant]])
            if phase in (Phase.REJECTED_BY_OFFICE, Phase.ENDORSED) or phase in policy.PROVINCIAL:
                if shape.origin == Origin.CALL:
                    prefecture = PREFECTURE_OF[shape.applicant]
                    Pilot.objects.filter(pk=pilot.pk).update(endorsing_prefecture=orgs[prefecture])
            if phase != Phase.DRAFT and phase != Phase.WITHDRAWN_UNSUBMITTED:
                Opinion.objects.create(
                    pilot=pilot,
                    stage=Stage.PREFECTURE,
                    decision=Decision.SUBMIT,
                    organisation=orgs[shape.applicant],
                    author=personas["office"],
                )
            pilot.refresh_from_db()
            assert policy.phase_of(pilot) == phase
            pilots[pilot.code] = (pilot, expected_viewers(shape, phase))
    return pilots


def test_the_table_names_a_clause_on_every_row_and_covers_every_phase():
    assert all(rule.clause for rule in policy.RULES)
    covered = set().union(*(r.phases for r in policy.RULES if policy.Act.VIEW in r.actions))
    assert covered == policy.ALL_PHASES


def test_unendorsed_work_is_private_to_applicant_prefecture_and_office_N3(world):
    """N3: draft, submitted, returned, withdrawn and rejected-by-prefecture applications are
    seen by their applicant, their prefecture once submitted, and the office — nobody else."""
    for pilot, viewers in world.values():
        phase = policy.phase_of(pilot)
        if phase not in policy.UNENDORSED:
            continue
        allowed = {"office", pilot.applicant.code}
        allowed |= {"hangzhou"} if pilot.applicant.code == "hz-xihu" else set()
        allowed |= {"ningbo"} if pilot.applicant.code == "nb-yinzhou" else set()
        assert viewers <= allowed | {"county"}, (pilot.code, phase, viewers)
        assert "dept" not in viewers, (pilot.code, phase)
        if phase in (Phase.DRAFT, Phase.WITHDRAWN_UNSUBMITTED):
            assert "hangzhou" not in viewers or pilot.applicant.code == "hangzhou"


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_read_path_shows_a_pilot_exactly_when_the_table_says(
    client, personas, world, persona
):
    user = personas[persona]
    client.force_login(user)
    expected = {code for code, (_, viewers) in world.items() if persona in viewers}

    # the database gate and the per-pilot check agree with the table
    restricted = set(
        Pilot.objects.restrict(user).filter(code__in=world).values_list("code", flat=True)
    )
    assert restricted == expected
    for code, (pilot, _) in world.items():
        assert policy.can(user, pilot, policy.Act.VIEW) == (code in expected), code

    # the pilot page and its printed application form: 200 or 404
    for code in world:
        status = client.get(reverse("pilots:detail", args=[code])).status_code
        refused = (403, 404) if persona == "auditor" else (404,)
        assert status == 200 if code in expected else status in refused, (persona, code, status)
    # Every refusal is checked; of the forms the persona may print, a few are rendered (each
    # is a whole PDF: the gate is the same for all of them).
    calls = [c for c, (p, _) in world.items() if p.origin == Origin.CALL]
    printed = [c for c in calls if c in expected][::5]
    for code in [c for c in calls if c not in expected] + printed:
        status = client.get(reverse("pilots:application_pdf", args=[code])).status_code
        assert (status == 200) == (code in expected), (persona, code, status)

    # the API: detail, list, list filtered by state, search
    for code in world:
        status = client.get(f"/api/v1/pilots/{code}/").status_code
        if persona == "auditor":
            assert status in (403, 404)
        else:
            assert status == (200 if code in expected else 404), (persona, code, status)
    if persona != "auditor":
        listed = _api_codes(client, "/api/v1/pilots/?page_size=500&search=政策表试点")
        assert listed == expected
        for state in (Status.WITHDRAWN, Status.REJECTED, Status.SUBMITTED, Status.RETURNED):
            listed = _api_codes(client, f"/api/v1/pilots/?page_size=500&status={state}")
            assert listed == {c for c in expected if world[c][0].status == state}

    # the call's Excel export lists the applications the persona may see (not drafts)
    if persona != "auditor":
        call = Call.objects.get(title="政策表批次")
        answer = client.get(reverse("pilots:call_export", args=[call.pk]))
        assert answer.status_code == 200
        exported = _xlsx_codes(answer.content, world)
        assert exported == {
            c
            for c in expected
            if world[c][0].call_id and world[c][0].status not in (Status.DRAFT, Status.WITHDRAWN)
        }

    # the calendar feed links only to pilots the persona may see
    token = calendar.issue_token(user).token
    feed = client.get(reverse("calendar_feed", args=[token])).content.decode()
    assert {c for c in world if f"/pilots/{c}/" in feed} <= expected

    # the pilot list searched: a code outside the table's answer never appears
    page = client.get(reverse("pilots:list"), {"q": "政策表试点", "per_page": 200})
    if page.status_code == 200:
        html = page.content.decode()
        assert not {c for c in world if c in html} - expected


def _xlsx_codes(content: bytes, world) -> set[str]:
    import io

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content), read_only=True)
    cells = {str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row}
    return {code for code in world if code in cells}


def _api_codes(client, url: str) -> set[str]:
    codes: set[str] = set()
    while url:
        answer = client.get(url)
        assert answer.status_code == 200, answer.content[:300]
        data = answer.json()
        codes |= {row["code"] for row in data["results"]}
        url = data.get("next")
    return codes


@pytest.mark.parametrize("persona", ["dept", "hangzhou", "ningbo", "county"])
def test_notices_link_only_to_pilots_the_reader_may_see(client, personas, orgs, world, persona):
    user = personas[persona]
    for code in world:
        Notification.objects.create(
            organisation=user.organisation,
            subject=f"事项{code}",
            url=reverse("pilots:detail", args=[code]),
        )
    client.force_login(user)
    seen = set()
    for page in range(1, 10):
        answer = client.get(reverse("notifications"), {"page": page})
        html = answer.content.decode()
        seen |= {code for code in world if f'href="/pilots/{code}/"' in html}
        if f"page={page + 1}" not in html:
            break
    expected = {code for code, (_, viewers) in world.items() if persona in viewers}
    assert seen == expected


def test_the_auditor_receives_no_business_notices(client, personas, orgs, world):
    Notification.objects.create(organisation=orgs["office"], subject="待确认备案：某试点")
    client.force_login(personas["auditor"])
    answer = client.get(reverse("notifications"))
    assert "待确认备案" not in answer.content.decode()


@pytest.mark.parametrize("persona", ["hangzhou", "county", "ningbo", "dept"])
def test_overlap_flags_name_only_pilots_the_screener_may_see_R1_3(
    client, personas, orgs, world, persona
):
    """R1.3: on the persona's own record, a flag against a pilot it may not see says only that a
    similar proposal exists elsewhere, and the persona cannot record a verdict on it."""
    user = personas[persona]
    own = PilotFactory(
        name="本单位的申报",
        origin=Origin.CALL if persona != "dept" else Origin.MINISTRY,
        status=Status.SUBMITTED if persona != "dept" else Status.APPROVED,
        applicant=orgs[persona],
        lead_department=orgs["dept"],
        regions=[orgs[persona if persona != "dept" else "county"]],
    )
    flags = {
        code: OverlapFlag.objects.create(pilot=own, other=pilot, score=0.8, reasons=[pilot.name])
        for code, (pilot, _) in world.items()
    }
    expected = {code for code, (_, viewers) in world.items() if persona in viewers}
    shown = {f.other.code for f in policy.overlap_flags_for(user, own) if not f.hidden}
    assert shown == expected
    client.force_login(user)
    html = client.get(reverse("pilots:detail", args=[own.code])).content.decode()
    for code, (pilot, _) in world.items():
        assert (code in html) == (code in expected), code
        assert (pilot.name in html) == (code in expected), pilot.name
    hidden = next(code for code in world if code not in expected)
    with pytest.raises(PermissionDenied):
        screening.decide_overlap(
            actor=user, flag=flags[hidden], verdict=OverlapVerdict.DISTINCT, note=""
        )


def test_security_md_prints_the_policy_table_as_it_is():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "SECURITY.md").read_text(encoding="utf-8")
    start = text.index("<!-- policy-table")
    block = text[text.index("\n", start) + 1 : text.index("<!-- /policy-table -->")].strip()
    assert block == policy.table_markdown()


def test_call_list_counts_only_the_applications_the_viewer_may_see_N3(client, personas, orgs):
    """N3: another unit's drafts are not even counted on the call list."""
    call = Call.objects.create(
        title="计数批次",
        deadline=dt.datetime(2027, 3, 31, 9, tzinfo=dt.UTC),
        opened_by=personas["office"],
    )
    for _ in range(3):
        PilotFactory(status=Status.DRAFT, origin=Origin.CALL, call=call, applicant=orgs["county"])
    PilotFactory(status=Status.SUBMITTED, origin=Origin.CALL, call=call, applicant=orgs["ningbo"])

    def count_for(name: str) -> str:
        client.force_login(personas[name])
        html = client.get(reverse("pilots:call_list")).content.decode()
        row = html[html.index("计数批次") :]
        return re.search(r"<td[^>]*>\s*(\d+)\s*</td>", row).group(1)

    assert count_for("office") == "4"
    assert count_for("county") == "3"
    assert count_for("ningbo") == "1"
    assert count_for("dept") == "0"


def test_the_admin_takes_no_file_around_the_upload_checks(client, personas, orgs):
    """Files reach a pilot only through the pages and the API, whose checks refuse hostile
    content; the admin's pilot form shows the plan but does not take one."""
    office = personas["office"]
    office.is_superuser = True
    office.is_staff = True
    office.save()
    pilot = PilotFactory(
        status=Status.APPROVED, applicant=orgs["dept"], lead_department=orgs["dept"]
    )
    client.force_login(office)
    form = client.get(reverse("admin:pilots_pilot_change", args=[pilot.pk])).content.decode()
    assert 'name="plan_attachment"' not in form
