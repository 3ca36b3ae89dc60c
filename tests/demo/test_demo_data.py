"""The organisation directory, `load_demo` and `generate_pilots`."""

from __future__ import annotations

from collections import Counter

import pytest
from django.apps import apps
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db import transaction
from django.test import RequestFactory
from django.utils import timezone

from accounts.constants import OrgKind, Role
from accounts.models import Organisation, User
from accounts.orgdata import ensure_organisations
from demo.constants import DEMO_REASON
from demo.people import DEMO_ACCOUNTS, DEMO_PASSWORD
from pilots import rules
from pilots.codes import next_code
from pilots.constants import APPLICATION_STATES, Origin, PilotKind, ReformField, Status
from pilots.models import Call, CodeSequence, Milestone, Opinion, Pilot, ScreeningChecklist

PREFECTURES = {
    "hangzhou": 13, "ningbo": 10, "wenzhou": 12, "jiaxing": 7, "huzhou": 5, "shaoxing": 6,
    "jinhua": 9, "quzhou": 6, "zhoushan": 4, "taizhou": 9, "lishui": 9,
}  # fmt: skip


@pytest.fixture(autouse=True)
def private_files_in_tmp(settings, tmp_path):
    # The demo saves plan PDFs; keep them out of the project's private/ folder.
    settings.MEDIA_ROOT = tmp_path


def _snapshot() -> dict[str, int]:
    historical_m2m = apps.get_model("pilots", "HistoricalPilot_regions")
    return {
        "organisations": Organisation.objects.count(),
        "organisation history": Organisation.history.count(),
        "users": User.objects.count(),
        "pilots": Pilot.objects.count(),
        "pilot history": Pilot.history.count(),
        "pilot regions history": historical_m2m.objects.count(),
        "milestones": Milestone.objects.count(),
        "milestone history": Milestone.history.count(),
        "code sequences": sum(CodeSequence.objects.values_list("last", flat=True)),
        "calls": Call.objects.count(),
        "opinions": Opinion.objects.count(),
        "checklists": ScreeningChecklist.objects.count(),
    }


def test_load_demo_twice_changes_nothing(demo):
    first = _snapshot()
    password_hashes = dict(User.objects.values_list("username", "password"))

    call_command("load_demo")

    assert _snapshot() == first
    assert dict(User.objects.values_list("username", "password")) == password_hashes


def test_ensure_organisations_is_idempotent_and_returns_every_code(db):
    orgs = ensure_organisations()
    history = Organisation.history.count()

    again = ensure_organisations()

    assert again.keys() == orgs.keys()
    assert Organisation.history.count() == history
    assert {o.code for o in Organisation.objects.all()} == set(orgs)


def test_all_eleven_prefectures_exist_with_their_counties(db):
    ensure_organisations()

    prefectures = Organisation.objects.filter(kind=OrgKind.PREFECTURE)
    assert set(prefectures.values_list("code", flat=True)) == set(PREFECTURES)
    for prefecture in prefectures:
        counties = prefecture.children.filter(kind=OrgKind.COUNTY)
        assert counties.count() == PREFECTURES[prefecture.code], prefecture.name
    assert Organisation.objects.filter(kind=OrgKind.COUNTY, parent__isnull=True).count() == 0
    xihu = Organisation.objects.get(code="hz-xihu")
    assert (xihu.parent.code, xihu.short_name) == ("hangzhou", "西湖区")


def test_divisions_belong_to_the_environment_department(db):
    ensure_organisations()

    divisions = Organisation.objects.filter(kind=OrgKind.DIVISION)
    assert divisions.count() >= 10
    assert set(divisions.values_list("parent__code", flat=True)) == {"dept-env"}
    assert Organisation.objects.get(code="office").kind == OrgKind.OFFICE
    assert Organisation.objects.filter(kind=OrgKind.THIRD_PARTY).count() >= 2


def test_every_demo_account_signs_in_with_the_demo_password(demo):
    for account in DEMO_ACCOUNTS:
        request = RequestFactory().post("/accounts/login/")
        user = authenticate(request, username=account.username, password=DEMO_PASSWORD)
        assert user is not None, account.username
        assert user.organisation.code == account.org_code
        assert user.role == account.role


def test_demo_accounts_cover_every_role_and_the_office_can_use_the_admin(demo):
    roles = set(User.objects.values_list("role", flat=True))
    assert roles >= set(Role.values)
    office = User.objects.get(username="office")
    assert office.is_staff and not office.is_superuser and office.display_name
    assert office.has_perm("pilots.change_pilot") and office.has_perm("accounts.view_organisation")
    assert not office.has_perm("pilots.delete_pilot")
    assert User.objects.get(username="admin").is_superuser
    assert User.objects.get(username="county").organisation.code == "hz-xihu"
    assert User.objects.get(username="water").organisation.name == "浙江省水利厅"


def test_demo_pilots_cover_every_field_kind_origin_and_status(demo):
    pilots = Pilot.objects.all()

    assert pilots.count() >= 60
    assert set(pilots.values_list("field", flat=True)) == set(ReformField.values)
    assert set(pilots.values_list("kind", flat=True)) == set(PilotKind.values)
    assert set(pilots.values_list("origin", flat=True)) == set(Origin.values)
    assert set(pilots.values_list("status", flat=True)) == set(Status.values)


def test_every_demo_pilot_is_valid_R1_1_R1_2(demo):
    for pilot in Pilot.objects.prefetch_related("milestones", "regions"):
        pilot.full_clean(exclude=["code"])
        rules.validate_term(
            kind=pilot.kind,
            start=pilot.start_date,
            end=pilot.end_date,
            milestone_dates=[m.due_date for m in pilot.milestones.all() if not m.is_removed],
        )
        assert pilot.regions.exists(), pilot.name
        assert all(r.kind in ("prefecture", "county") for r in pilot.regions.all()), pilot.name


def test_demo_pilots_have_codes_by_year_and_history_with_actor_and_reason(demo):
    for pilot in Pilot.objects.all():
        year = (pilot.approval_date or timezone.localdate()).year
        assert pilot.code.startswith(f"ST-{year}-"), pilot.code
        created = pilot.history.earliest()
        assert created.history_type == "+"
        assert created.history_change_reason == DEMO_REASON
        assert created.history_user is not None


def test_applications_have_no_approval_and_county_drafts_belong_to_the_county(demo):
    applications = Pilot.objects.filter(status__in=APPLICATION_STATES)
    assert not applications.exclude(approval_date=None).exists()
    assert not Pilot.objects.filter(status__in=[Status.APPROVED, Status.ACTIVE], approval_date=None)

    county_applicants = Counter(
        applications.filter(
            applicant__kind=OrgKind.COUNTY, status__in=[Status.DRAFT, Status.SUBMITTED]
        ).values_list("applicant__parent__code", flat=True)
    )
    assert county_applicants["hangzhou"] >= 3
    assert county_applicants["ningbo"] >= 2
    xihu_draft = Pilot.objects.filter(status=Status.DRAFT, applicant__code="hz-xihu")
    assert xihu_draft.exists()
    assert xihu_draft.first().regions.filter(code="hz-xihu").exists()


def test_demo_applications_belong_to_an_open_call_within_the_quota_N3(demo):
    now = timezone.now()
    from_calls = Pilot.objects.filter(origin=Origin.CALL)

    assert not from_calls.filter(call=None).exists()
    open_call = Call.objects.get(deadline__gt=now)
    applications = from_calls.filter(status__in=[*APPLICATION_STATES, Status.WITHDRAWN])
    assert set(applications.values_list("call", flat=True)) == {open_call.pk}
    assert not from_calls.filter(status=Status.ENDORSED, endorsing_prefecture=None).exists()
    used = Counter(
        from_calls.exclude(endorsing_prefecture=None).values_list("call", "endorsing_prefecture")
    )
    assert max(used.values()) <= open_call.prefecture_quota
    assert not Pilot.objects.exclude(origin=Origin.CALL).exclude(call=None).exists()


def test_returned_endorsed_and_rejected_applications_carry_the_screening_opinion(demo):
    for status in (Status.RETURNED, Status.ENDORSED, Status.REJECTED):
        for pilot in Pilot.objects.filter(status=status):
            opinion = pilot.opinions.get()
            assert opinion.text and opinion.author.organisation == opinion.organisation
    for pilot in Pilot.objects.filter(status__in=[Status.ENDORSED, Status.REJECTED]):
        checklist = pilot.checklists.get()
        assert checklist.all_met == (pilot.status == Status.ENDORSED)


def test_some_approved_pilots_are_overdue_for_filing_and_some_are_not_R2_2(demo):
    today = timezone.localdate()
    approved = list(Pilot.objects.filter(status=Status.APPROVED))

    assert any(p.filing_due < today for p in approved)
    assert any(p.filing_due >= today for p in approved)


def test_ledger_has_expired_and_purgeable_pilots_R2_4(demo):
    today = timezone.localdate()
    active = list(Pilot.objects.filter(status=Status.ACTIVE))

    assert any(p.is_expired(today) and p.purge_date > today for p in active)
    assert any(p.purge_date <= today for p in active)
    assert all(p.purge_date <= today for p in Pilot.objects.filter(status=Status.PURGED))
    assert all(p.end_date < today for p in Pilot.objects.filter(status=Status.CLOSED))


def test_comprehensive_demo_pilots_have_milestones_within_their_term_R1_2(demo):
    comprehensive = Pilot.objects.filter(kind=PilotKind.COMPREHENSIVE)
    assert comprehensive.count() >= 5
    for pilot in comprehensive:
        dates = [m.due_date for m in pilot.milestones.all()]
        assert len(dates) >= 3, pilot.name
        assert all(pilot.start_date <= d <= pilot.end_date for d in dates)
        assert pilot.end_date <= rules.max_end_date(pilot.kind, pilot.start_date)


def test_generate_pilots_creates_pilots_with_history(db):
    ensure_organisations()
    User.objects.create_user("office", password="x", role=Role.OFFICE)

    call_command("generate_pilots", count=200, seed=3)

    pilots = Pilot.objects.all()
    assert pilots.count() == 200
    assert Pilot.history.filter(history_type="+").count() == 200
    assert Pilot.history.filter(history_change_reason="批量生成测试数据").count() == 200
    assert Milestone.history.count() == Milestone.objects.count() > 0
    assert not pilots.filter(regions=None).exists()
    historical_regions = apps.get_model("pilots", "HistoricalPilot_regions")
    assert historical_regions.objects.count() == Pilot.regions.through.objects.count()
    assert not pilots.filter(origin=Origin.CALL, call=None).exists()
    assert not pilots.filter(status=Status.ENDORSED, endorsing_prefecture=None).exists()
    for pilot in pilots.prefetch_related("milestones"):
        assert len(pilot.code) <= 20
        pilot.full_clean(exclude=["code"])
        rules.validate_term(
            kind=pilot.kind,
            start=pilot.start_date,
            end=pilot.end_date,
            milestone_dates=[m.due_date for m in pilot.milestones.all()],
        )


def test_generated_codes_continue_the_sequence_so_next_code_never_collides(db):
    call_command("generate_pilots", count=50, seed=1)
    call_command("generate_pilots", count=50, seed=1)

    codes = list(Pilot.objects.values_list("code", flat=True))
    assert len(codes) == len(set(codes)) == 100
    for seq in CodeSequence.objects.all():
        with transaction.atomic():
            code = next_code(seq.year)
        assert not Pilot.objects.filter(code=code).exists()


def test_demo_has_an_application_overlapping_an_existing_pilot_R1_3(demo):
    from pilots.models import OverlapFlag

    strong = OverlapFlag.objects.filter(
        pilot__status__in=[Status.SUBMITTED, Status.ENDORSED], score__gte=0.6
    ).select_related("other")
    assert strong.exists()
    assert all(flag.other.status not in (Status.DRAFT, Status.REJECTED) for flag in strong)
