"""The access policy (pilots.policy): who sees and who may change which pilot.

One world of pilots in every state that matters, then a matrix: for each persona, what the
list, detail, create and edit pages answer. Outsiders get 404 (they do not learn that a pilot
exists), users who may see but not act get 403, anonymous users are sent to the login page.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from accounts.constants import Role
from pilots.constants import Decision, Origin, Stage, Status
from pilots.models import Opinion, Pilot
from tests.factories import PilotFactory, UserFactory

PERSONAS = ["office", "dept", "hangzhou", "ningbo", "county", "expert"]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The personas' passwords are hashed once each; the default hasher makes that slow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass(frozen=True)
class Case:
    """One pilot of the world and who may see and change it."""

    code: str
    status: str
    applicant: str
    lead: str
    regions: tuple[str, ...] = ()
    participants: tuple[str, ...] = ()
    origin: str = Origin.CALL
    endorsed_by: str | None = (
        None  # the prefecture that endorsed it (kept after the office rejects)
    )
    submitted: bool = False  # an application once submitted to its prefecture
    viewers: frozenset[str] = frozenset()
    changers: frozenset[str] = frozenset()


def case(code, status, applicant, lead, *, view=(), change=(), **kw) -> Case:
    # the office sees everything; everyone able to change a pilot can also see it
    return Case(
        code=code,
        status=status,
        applicant=applicant,
        lead=lead,
        viewers=frozenset({"office", *view, *change}),
        changers=frozenset(change),
        **kw,
    )


S = Status
WORLD: dict[str, Case] = {
    # a prefecture's own applications: its own business until endorsed
    "hz_draft": case(
        "ST-2025-0101", S.DRAFT, "hangzhou", "dept",
        regions=("hangzhou",), view={"hangzhou"}, change={"office", "hangzhou"},
    ),
    "hz_submitted": case(
        "ST-2025-0102", S.SUBMITTED, "hangzhou", "dept", regions=("hangzhou",), view={"hangzhou"}
    ),
    "hz_endorsed": case(
        "ST-2025-0103", S.ENDORSED, "hangzhou", "dept",
        regions=("hangzhou",), view={"hangzhou", "dept"},
    ),
    # a department sees endorsed applications its division leads, not other departments'
    "hz_endorsed_div": case(
        "ST-2025-0104", S.ENDORSED, "hangzhou", "division", view={"hangzhou", "dept"}
    ),
    "hz_endorsed_other": case(
        "ST-2025-0105", S.ENDORSED, "hangzhou", "other_dept", view={"hangzhou"}
    ),
    # N3: an application the prefecture rejected never reached the department; one the office
    # rejected after endorsement did
    "hz_rejected": case("ST-2025-0106", S.REJECTED, "hangzhou", "dept", view={"hangzhou"}),
    "hz_rejected_by_office": case(
        "ST-2025-0107", S.REJECTED, "hangzhou", "dept",
        endorsed_by="hangzhou", view={"hangzhou", "dept"},
    ),
    # a county's applications: its unsubmitted draft is private even from its prefecture
    "county_draft": case(
        "ST-2025-0111", S.DRAFT, "county", "dept",
        regions=("county",), change={"office", "county"},
    ),
    "county_submitted": case(
        "ST-2025-0112", S.SUBMITTED, "county", "dept",
        regions=("county",), view={"county", "hangzhou"},
    ),
    "county_returned": case(
        "ST-2025-0113", S.RETURNED, "county", "dept",
        regions=("county",), view={"hangzhou"}, change={"office", "county"},
    ),
    # N3: a county's draft it withdraws stays its own; once submitted, the prefecture saw it
    "county_withdrawn_draft": case(
        "ST-2025-0114", S.WITHDRAWN, "county", "dept", regions=("county",), view={"county"}
    ),
    "county_withdrawn_submitted": case(
        "ST-2025-0115", S.WITHDRAWN, "county", "dept",
        regions=("county",), submitted=True, view={"county", "hangzhou"},
    ),
    "county_rejected_by_prefecture": case(
        "ST-2025-0116", S.REJECTED, "county", "dept",
        regions=("county",), submitted=True, view={"county", "hangzhou"},
    ),
    # the other prefecture's applications, and its county's
    "nb_draft": case(
        "ST-2025-0121", S.DRAFT, "ningbo", "dept", regions=("ningbo",), change={"office", "ningbo"}
    ),
    "nb_submitted": case(
        "ST-2025-0122", S.SUBMITTED, "ningbo", "dept", regions=("ningbo",), view={"ningbo"}
    ),
    "nb_county_submitted": case(
        "ST-2025-0123", S.SUBMITTED, "nb_county", "dept", regions=("nb_county",), view={"ningbo"}
    ),
    # a department participates in an application: nothing to see before approval
    "nb_endorsed_participated": case(
        "ST-2025-0124", S.ENDORSED, "ningbo", "other_dept",
        participants=("dept",), view={"ningbo"},
    ),
    # approved pilots: visible to their regions, editable by their lead department
    "dept_approved": case(
        "ST-2025-0131", S.APPROVED, "dept", "dept", origin=Origin.MINISTRY,
        regions=("hangzhou",), view={"hangzhou"}, change={"office", "dept"},
    ),
    "div_approved": case(
        "ST-2025-0132", S.APPROVED, "division", "division", origin=Origin.DEPARTMENT,
        regions=("county",), view={"hangzhou", "county"}, change={"office", "dept"},
    ),
    "hz_approved_from_call": case(
        "ST-2025-0133", S.APPROVED, "hangzhou", "dept",
        regions=("hangzhou",), view={"hangzhou"}, change={"office", "dept"},
    ),
    "county_active": case(
        "ST-2025-0141", S.ACTIVE, "other_dept", "other_dept", origin=Origin.MINISTRY,
        regions=("county",), view={"hangzhou", "county"},
    ),
    "nb_county_active": case(
        "ST-2025-0142", S.ACTIVE, "dept", "dept", origin=Origin.CENTRAL,
        regions=("nb_county",), view={"ningbo", "dept"},
    ),
    "nb_active_participated": case(
        "ST-2025-0143", S.ACTIVE, "other_dept", "other_dept", origin=Origin.MINISTRY,
        regions=("ningbo",), participants=("dept",), view={"ningbo", "dept"},
    ),
    # purged pilots leave the library but stay readable to those who saw them
    "hz_purged": case(
        "ST-2025-0151", S.PURGED, "dept", "dept", origin=Origin.MINISTRY,
        regions=("hangzhou",), view={"hangzhou", "dept"},
    ),
}  # fmt: skip


@pytest.fixture
def world(orgs) -> dict[str, Pilot]:
    pilots = {}
    for key, c in WORLD.items():
        pilot = PilotFactory(
            code=c.code,
            status=c.status,
            origin=c.origin,
            applicant=orgs[c.applicant],
            lead_department=orgs[c.lead],
            regions=[orgs[r] for r in c.regions],
        )
        pilot.participating_units.set([orgs[p] for p in c.participants])
        if c.endorsed_by:
            Pilot.objects.filter(pk=pilot.pk).update(endorsing_prefecture=orgs[c.endorsed_by])
        if c.submitted:
            Opinion.objects.create(
                pilot=pilot,
                stage=Stage.PREFECTURE,
                decision=Decision.SUBMIT,
                organisation=orgs[c.applicant],
                author=UserFactory(organisation=orgs[c.applicant]),
            )
        pilots[key] = pilot
    return pilots


def visible_to(persona: str) -> set[str]:
    return {c.code for c in WORLD.values() if persona in c.viewers}


def changeable_by(persona: str) -> set[str]:
    return {c.code for c in WORLD.values() if persona in c.changers}


def login_redirect(path: str) -> str:
    return f"{reverse('login')}?next={path}"


# --- the gate itself: Pilot.objects.restrict ------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_restrict_view_returns_exactly_the_pilots_the_persona_may_see(personas, world, persona):
    codes = set(Pilot.objects.restrict(personas[persona], "view").values_list("code", flat=True))
    assert codes == visible_to(persona)


@pytest.mark.parametrize("persona", PERSONAS)
def test_restrict_change_returns_exactly_the_pilots_the_persona_may_edit(personas, world, persona):
    codes = set(Pilot.objects.restrict(personas[persona], "change").values_list("code", flat=True))
    assert codes == changeable_by(persona)


def test_restrict_defaults_to_view(personas, world):
    assert set(Pilot.objects.restrict(personas["hangzhou"])) == set(
        Pilot.objects.restrict(personas["hangzhou"], "view")
    )


def test_anonymous_user_sees_nothing(world):
    assert not Pilot.objects.restrict(AnonymousUser(), "view").exists()
    assert not Pilot.objects.restrict(AnonymousUser(), "change").exists()


def test_deactivated_office_user_sees_nothing(personas, world):
    office = personas["office"]
    office.is_active = False
    office.save()
    assert not Pilot.objects.restrict(office, "view").exists()


def test_superuser_sees_everything(world, orgs):
    admin = UserFactory(username="root", organisation=None, role="", is_superuser=True)
    assert Pilot.objects.restrict(admin).count() == len(WORLD)


def test_user_without_organisation_sees_nothing(world):
    stray = UserFactory(username="stray", organisation=None, role=Role.PREFECTURE)
    assert not Pilot.objects.restrict(stray).exists()


def test_division_sees_what_it_leads_and_not_its_parent_departments_pilots(world, orgs):
    # given a user of the department's division
    division_user = UserFactory(
        username="law", organisation=orgs["division"], role=Role.LEAD_DEPARTMENT
    )
    # then it sees the endorsed application it leads and the pilot it entered, nothing else
    view = set(Pilot.objects.restrict(division_user, "view").values_list("code", flat=True))
    assert view == {WORLD["hz_endorsed_div"].code, WORLD["div_approved"].code}
    change = set(Pilot.objects.restrict(division_user, "change").values_list("code", flat=True))
    assert change == {WORLD["div_approved"].code}


def test_restrict_refuses_an_unknown_action(personas):
    with pytest.raises(ValueError):
        Pilot.objects.restrict(personas["office"], "delete")


# --- the pages -----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_list_shows_exactly_the_visible_pilots(client_for, world, persona):
    response = client_for(persona).get(reverse("pilots:list"))
    assert response.status_code == 200
    content = response.content.decode()
    shown = {c.code for c in WORLD.values() if c.code in content}
    assert shown == visible_to(persona)


@pytest.mark.parametrize("persona", PERSONAS)
def test_detail_answers_200_to_viewers_and_404_to_outsiders(client_for, world, persona):
    client = client_for(persona)
    expected = {key: 200 if persona in c.viewers else 404 for key, c in WORLD.items()}
    actual = {
        key: client.get(reverse("pilots:detail", args=[c.code])).status_code
        for key, c in WORLD.items()
    }
    assert actual == expected


@pytest.mark.parametrize("persona", PERSONAS)
def test_edit_answers_200_to_changers_403_to_viewers_and_404_to_outsiders(
    client_for, world, persona
):
    client = client_for(persona)

    def expected_status(c: Case) -> int:
        if persona in c.changers:
            return 200
        return 403 if persona in c.viewers else 404

    expected = {key: expected_status(c) for key, c in WORLD.items()}
    actual = {
        key: client.get(reverse("pilots:edit", args=[c.code])).status_code
        for key, c in WORLD.items()
    }
    assert actual == expected


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("office", 200),
        ("dept", 200),
        ("hangzhou", 403),
        ("ningbo", 403),
        ("county", 403),
        ("expert", 403),
    ],
)
def test_only_office_and_lead_departments_open_the_entry_form_R2_2(client_for, persona, status):
    assert client_for(persona).get(reverse("pilots:create")).status_code == status


@pytest.mark.parametrize("persona", ["hangzhou", "ningbo", "county", "expert"])
def test_others_cannot_post_the_entry_form_R2_2(client_for, persona):
    response = client_for(persona).post(reverse("pilots:create"), {"name": "越权录入"})
    assert response.status_code == 403
    assert not Pilot.objects.exists()


def test_anonymous_user_is_sent_to_login_everywhere(client_for, world):
    client = client_for(None)
    code = WORLD["dept_approved"].code
    for path in [
        reverse("pilots:list"),
        reverse("pilots:create"),
        reverse("pilots:detail", args=[code]),
        reverse("pilots:edit", args=[code]),
        reverse("pilots:plan", args=[code]),
    ]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == login_redirect(path)
    response = client.post(reverse("pilots:create"), {"name": "匿名录入"})
    assert response.status_code == 302
    assert Pilot.objects.count() == len(WORLD)


def test_unknown_code_is_404_even_for_the_office(client_for, world):
    client = client_for("office")
    assert client.get(reverse("pilots:detail", args=["ST-1999-9999"])).status_code == 404
    assert client.get(reverse("pilots:edit", args=["ST-1999-9999"])).status_code == 404


def test_outsider_and_visible_but_not_allowed_pages_say_so_in_chinese(client_for, world):
    client = client_for("ningbo")
    not_found = client.get(reverse("pilots:detail", args=[WORLD["hz_draft"].code]))
    assert not_found.status_code == 404
    assert "未找到" in not_found.content.decode()
    # ningbo sees the approved pilot in its county but may not edit it
    forbidden = client.get(reverse("pilots:edit", args=[WORLD["nb_county_active"].code]))
    assert forbidden.status_code == 403
    assert "无权" in forbidden.content.decode()


@pytest.mark.parametrize(
    ("persona", "key", "status"),
    [
        ("hangzhou", "dept_approved", 403),  # visible in its region, not its to edit
        ("ningbo", "hz_draft", 404),  # another prefecture's draft
        ("hangzhou", "county_draft", 404),  # its county's unsubmitted draft
        ("dept", "hz_submitted", 404),  # not yet endorsed
        ("expert", "dept_approved", 404),
    ],
)
def test_post_to_edit_is_refused_and_changes_nothing(client_for, world, persona, key, status):
    pilot = world[key]
    response = client_for(persona).post(
        reverse("pilots:edit", args=[pilot.code]), {"name": "越权修改"}
    )
    assert response.status_code == status
    pilot.refresh_from_db()
    assert pilot.name != "越权修改"


# --- the rules in words ---------------------------------------------------------------------


def test_prefecture_never_sees_another_prefectures_applications(client_for, world):
    client = client_for("hangzhou")
    for key in ["nb_draft", "nb_submitted", "nb_county_submitted", "nb_endorsed_participated"]:
        assert client.get(reverse("pilots:detail", args=[WORLD[key].code])).status_code == 404


def test_prefecture_does_not_see_its_countys_unsubmitted_draft(client_for, world):
    client = client_for("hangzhou")
    assert (
        client.get(reverse("pilots:detail", args=[WORLD["county_draft"].code])).status_code == 404
    )
    # but sees it once submitted, and when returned for revision
    assert (
        client.get(reverse("pilots:detail", args=[WORLD["county_submitted"].code])).status_code
        == 200
    )
    assert (
        client.get(reverse("pilots:detail", args=[WORLD["county_returned"].code])).status_code
        == 200
    )


def test_county_sees_and_edits_its_own_draft(client_for, world):
    client = client_for("county")
    code = WORLD["county_draft"].code
    assert client.get(reverse("pilots:detail", args=[code])).status_code == 200
    assert client.get(reverse("pilots:edit", args=[code])).status_code == 200


def test_submitting_makes_a_county_application_visible_to_its_prefecture(
    client_for, world, personas
):
    pilot = world["county_draft"]
    assert not Pilot.objects.restrict(personas["hangzhou"]).filter(pk=pilot.pk).exists()
    Pilot.objects.filter(pk=pilot.pk).update(status=Status.SUBMITTED)
    assert Pilot.objects.restrict(personas["hangzhou"]).filter(pk=pilot.pk).exists()
    assert not Pilot.objects.restrict(personas["ningbo"]).filter(pk=pilot.pk).exists()


@pytest.mark.parametrize(
    ("status", "dept_sees"),
    [
        (Status.DRAFT, False),
        (Status.SUBMITTED, False),
        (Status.RETURNED, False),
        (Status.ENDORSED, True),
        # N3: a rejection without an endorsement is the prefecture's: the department never saw it
        (Status.REJECTED, False),
        (Status.WITHDRAWN, False),
        (Status.APPROVED, True),
        (Status.ACTIVE, True),
    ],
)
@pytest.mark.parametrize("lead", ["dept", "division"])
def test_lead_department_sees_applications_from_endorsement_on(
    personas, orgs, status, dept_sees, lead
):
    # given a Hangzhou application led by the department (or by its division)
    pilot = PilotFactory(
        status=status, applicant=orgs["hangzhou"], lead_department=orgs[lead], origin=Origin.CALL
    )
    # then the department sees it only once the prefecture has endorsed it
    assert Pilot.objects.restrict(personas["dept"]).filter(pk=pilot.pk).exists() is dept_sees
