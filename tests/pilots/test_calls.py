"""Calls for applications through their domain functions (pilots.calls, pilots.screening):
the office opens a call; its quota per prefecture and its deadline (N3), also when two
endorsements race for the last place; the term and milestones of an application (R1.2)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from pilots import calls, screening
from pilots.constants import Decision, OverlapVerdict, PilotKind, Status
from pilots.models import Call, Opinion, OverlapFlag, Pilot
from pilots.services import MilestoneData

D = dt.date
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 20, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def in_march_2026(time_machine):
    """Calls open and decisions are taken on 20 March 2026 (the filing due date is fixed)."""
    time_machine.move_to(NOW, tick=False)


def _messages(exc_info) -> str:
    return "；".join(exc_info.value.messages)


# --- N3: calls, quota and deadline ---------------------------------------------------------


def test_n3_office_opens_a_call_others_may_not(personas, open_call_for):
    call = open_call_for(quota=2)
    assert call.is_open()
    assert call.prefecture_quota == 2
    assert call.history.first().history_user == personas["office"]
    for name in ("dept", "hangzhou", "county"):
        with pytest.raises(PermissionDenied):
            calls.open_call(actor=personas[name], title="批次", deadline=NOW + dt.timedelta(days=5))


def test_n3_open_call_validates_in_chinese(personas):
    with pytest.raises(ValidationError) as exc:
        calls.open_call(
            actor=personas["office"],
            title="  ",
            deadline=NOW - dt.timedelta(hours=1),
            fields=["nonsense"],
            prefecture_quota=0,
        )
    errors = exc.value.message_dict
    assert errors["title"] == ["请填写批次名称。"]
    assert errors["deadline"] == ["报送截止时间须晚于当前时间。"]
    assert "未知的改革领域" in errors["fields"][0]
    assert errors["prefecture_quota"] == ["推荐名额至少为1。"]
    assert not Call.objects.exists()


def test_n3_quota_third_endorsement_refused_naming_the_quota(orgs, call, make_application, endorse):
    first, second, third = (make_application() for _ in range(3))
    assert endorse(first).endorsing_prefecture == orgs["hangzhou"]
    endorse(second)
    assert screening.endorsed_count(call, orgs["hangzhou"]) == 2
    with pytest.raises(ValidationError) as exc:
        endorse(third)
    message = _messages(exc)
    assert "每个设区市推荐不超过2项" in message
    assert "已推荐2项" in message
    third.refresh_from_db()
    assert third.status == Status.SUBMITTED
    assert third.endorsing_prefecture is None
    assert not third.checklists.exists()


def test_n3_office_return_frees_the_quota_place(personas, make_application, endorse):
    first, second, third = (make_application() for _ in range(3))
    endorse(first)
    endorse(second)
    screening.office_return(actor=personas["office"], pilot=second, reason="请补充工作基础。")
    second.refresh_from_db()
    assert second.status == Status.RETURNED
    assert second.endorsing_prefecture is None
    assert second.endorsed_at is None
    third = endorse(third)
    assert third.status == Status.ENDORSED


def test_n3_application_rejected_by_office_still_counts(
    personas, make_application, endorse, complete_checklist
):
    first, second, third = (make_application() for _ in range(3))
    endorse(first)
    endorse(second)
    screening.office_reject(
        actor=personas["office"],
        pilot=second,
        reason="属于部门常规工作。",
        checklist=complete_checklist(institutional=(False, "属于部门常规工作。")),
    )
    second.refresh_from_db()
    assert second.status == Status.REJECTED
    assert second.endorsing_prefecture is not None
    with pytest.raises(ValidationError, match="不超过2项"):
        endorse(third)


def test_n3_quota_is_per_prefecture(orgs, make_application, endorse, nb_county_user):
    for _ in range(2):
        endorse(make_application())
    ningbo_app = make_application(by=nb_county_user)
    ningbo_app = endorse(ningbo_app, by="ningbo")
    assert ningbo_app.status == Status.ENDORSED
    assert ningbo_app.endorsing_prefecture == orgs["ningbo"]


def test_n3_quota_is_per_call(call, open_call_for, make_application, endorse):
    for _ in range(2):
        endorse(make_application())
    other_call = open_call_for(quota=2, title="2026年度第二批改革试点申报")
    later = endorse(make_application(in_call=other_call))
    assert later.status == Status.ENDORSED
    with pytest.raises(ValidationError, match="不超过2项"):
        endorse(make_application(in_call=call))


def test_n3_endorsement_after_deadline_refused(call, make_application, endorse):
    pilot = make_application()
    with pytest.raises(ValidationError) as exc:
        endorse(pilot, now=call.deadline + dt.timedelta(minutes=1))
    assert "截止" in _messages(exc)
    assert "第三条" in _messages(exc)
    pilot.refresh_from_db()
    assert pilot.status == Status.SUBMITTED


def test_n3_endorsement_after_deadline_refused_by_the_clock(
    call, make_application, endorse, time_machine
):
    pilot = make_application()
    time_machine.move_to(call.deadline + dt.timedelta(seconds=1), tick=False)
    with pytest.raises(ValidationError, match="截止"):
        endorse(pilot)


def test_n3_endorsement_at_the_deadline_allowed(call, make_application, endorse):
    pilot = endorse(make_application(), now=call.deadline)
    assert pilot.status == Status.ENDORSED


def test_n3_creating_in_a_closed_call_refused(personas, call, application_data, time_machine, orgs):
    time_machine.move_to(call.deadline + dt.timedelta(seconds=1), tick=False)
    with pytest.raises(ValidationError, match="已截止"):
        calls.create_application(
            actor=personas["county"], call=call, data=application_data(), regions=[orgs["county"]]
        )
    assert not Pilot.objects.exists()


def test_n3_creating_in_a_cancelled_call_refused(personas, call, application_data):
    call.is_cancelled = True
    call.save()
    with pytest.raises(ValidationError, match="已撤销"):
        calls.create_application(actor=personas["county"], call=call, data=application_data())


def test_n3_submitting_in_a_closed_call_refused(personas, call, make_application, time_machine):
    draft = make_application(submit=False)
    time_machine.move_to(call.deadline + dt.timedelta(seconds=1), tick=False)
    with pytest.raises(ValidationError, match="已截止"):
        calls.submit_application(actor=personas["county"], pilot=draft)
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


def test_n3_field_outside_the_call_refused(personas, open_call_for, application_data):
    call = open_call_for(fields=["market"])
    with pytest.raises(ValidationError) as exc:
        calls.create_application(actor=personas["county"], call=call, data=application_data())
    assert exc.value.message_dict["field"] == ["该批次不受理此改革领域的申报。"]


# --- R1.2: term and milestones ------------------------------------------------------------------


def test_r1_2_over_long_single_term_refused(personas, call, application_data):
    with pytest.raises(ValidationError) as exc:
        calls.create_application(
            actor=personas["county"],
            call=call,
            data=application_data(start_date=D(2026, 6, 1), end_date=D(2028, 6, 2)),
        )
    message = exc.value.message_dict["end_date"][0]
    assert "单项试点期限最长不超过2年" in message
    assert "2028年6月1日" in message
    assert not Pilot.objects.exists()


def test_r1_2_over_long_comprehensive_term_refused(personas, call, application_data):
    with pytest.raises(ValidationError, match="最长不超过5年"):
        calls.create_application(
            actor=personas["county"],
            call=call,
            data=application_data(
                kind=PilotKind.COMPREHENSIVE, start_date=D(2026, 6, 1), end_date=D(2031, 6, 2)
            ),
            milestones=[MilestoneData(D(2027, 6, 1), "完成制度设计")],
        )


def test_r1_2_comprehensive_without_milestones_refused(personas, call, application_data):
    data = application_data(
        kind=PilotKind.COMPREHENSIVE, start_date=D(2026, 6, 1), end_date=D(2029, 5, 31)
    )
    # The draft saves without milestones; it cannot be submitted without them.
    draft = calls.create_application(actor=personas["county"], call=call, data=data)
    with pytest.raises(ValidationError) as exc:
        calls.submit_application(actor=personas["county"], pilot=draft)
    assert "综合性试点须明确阶段性目标任务和时间节点" in _messages(exc)
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT
    pilot = calls.create_application(
        actor=personas["county"],
        call=call,
        data=data,
        milestones=[
            MilestoneData(D(2027, 5, 31), "完成制度设计"),
            MilestoneData(D(2029, 5, 31), "总结验收"),
        ],
    )
    assert pilot.milestones.count() == 2


def test_r1_2_end_before_start_refused(personas, call, application_data):
    with pytest.raises(ValidationError, match="结束日期必须晚于开始日期"):
        calls.create_application(
            actor=personas["county"],
            call=call,
            data=application_data(start_date=D(2026, 6, 1), end_date=D(2026, 5, 1)),
        )


# --- concurrency (PostgreSQL) ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_n3_concurrent_endorsements_take_the_last_place_once(
    orgs, call, make_application, endorse, complete_checklist, personas, monkeypatch
):
    if connection.vendor == "sqlite":
        pytest.skip(
            "SQLite has no row locks (select_for_update is a no-op) and serialises writers on "
            "the whole file; run with DATABASE_URL=postgres://… to check the Call row lock."
        )
    endorse(make_application())  # one of two places taken
    # Different applicants and lead departments: locking each pilot row (with its joined
    # organisation rows) must not be what serialises the two; only the Call row lock may.
    contenders = [
        make_application(by="county"),
        make_application(by="hangzhou", lead_department=orgs["other_dept"]),
    ]
    # Submission flags possible overlaps on commit (R1.3); here they are judged distinct so
    # that only the quota decides the race.
    for flag in OverlapFlag.objects.filter(verdict=OverlapVerdict.PENDING):
        screening.decide_overlap(
            actor=personas["hangzhou"], flag=flag, verdict=OverlapVerdict.DISTINCT
        )
    # Instrumentation to make the race deterministic: both endorsements hold their own pilot
    # row before either goes on; the county's reaches the call first; and each, once it has
    # counted the places in use, waits (briefly) for the other to count too. Without the Call
    # row lock both would count one place in use and both succeed; with it the second waits
    # on the lock and counts two.
    both_locked = threading.Barrier(len(contenders))
    counted = threading.Condition()
    counters = []
    check_prefecture = screening._require_prefecture
    count_endorsed = screening.endorsed_count

    def gated_check(actor, pilot):
        check_prefecture(actor, pilot)
        both_locked.wait(timeout=10)
        if pilot.applicant_id == orgs["hangzhou"].pk:
            time.sleep(0.3)

    def gated_count(call, prefecture):
        used = count_endorsed(call, prefecture)
        with counted:
            counters.append(used)
            counted.notify_all()
            counted.wait_for(lambda: len(counters) >= len(contenders), timeout=1.5)
        return used

    monkeypatch.setattr(screening, "_require_prefecture", gated_check)
    monkeypatch.setattr(screening, "endorsed_count", gated_count)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(pilot):
        from django.db import connection as thread_connection

        try:
            screening.prefecture_endorse(
                actor=personas["hangzhou"],
                pilot=pilot,
                opinion="同意推荐。",
                checklist=complete_checklist(),
            )
            result = "ok"
        except ValidationError as exc:
            result = "; ".join(exc.messages)
        except Exception as exc:  # noqa: BLE001 - reported below
            result = f"error: {exc!r}"
        finally:
            thread_connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(p,)) for p in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == 2, outcomes
    assert outcomes.count("ok") == 1, outcomes
    refused = next(o for o in outcomes if o != "ok")
    assert "不超过2项" in refused and "已推荐2项" in refused
    assert Pilot.objects.filter(call=call, status=Status.ENDORSED).count() == 2
    assert Opinion.objects.filter(decision=Decision.ENDORSE).count() == 2
