"""A PDF ledger whose worker was killed never stays "生成中" or "排队中": once it has been in
that state longer than LEDGER_RENDER_STALE_MINUTES (above the Celery hard time limit), the
next run of the render job, or a worker that starts, queues it again with a history row."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings as django_settings

from core.models import PendingTask
from ledger import pdf
from ledger.constants import LedgerScope, RenderStatus
from ledger.jobs import render_ledgers
from ledger.models import LedgerRender

D = dt.date
T0 = dt.datetime(2027, 1, 11, 2, 0, tzinfo=dt.UTC)
ENQUEUE = pdf._enqueue


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing after it runs, no `except Exception` catches it."""


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    """The render ids handed to the background renderer (not rendered here)."""
    ids: list[int] = []
    monkeypatch.setattr(pdf, "_enqueue", ids.append)
    return ids


@pytest.fixture
def killed_render(personas, queued, monkeypatch, time_machine, django_capture_on_commit_callbacks):
    """A render requested at T0 whose worker was killed while printing: left "生成中"."""
    time_machine.move_to(T0, tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        render = pdf.request_render(
            actor=personas["office"], scope=LedgerScope.PROVINCE, year=2026, quarter=4
        )

    def killed(*args, **kwargs):
        raise WorkerKilled

    monkeypatch.setattr(pdf, "print_ledger", killed)
    with pytest.raises(WorkerKilled):
        pdf.render_ledger(render.pk)
    queued.clear()
    render.refresh_from_db()
    assert render.status == RenderStatus.RUNNING
    return render


def _minutes_later(time_machine, minutes: int) -> None:
    time_machine.move_to(T0 + dt.timedelta(minutes=minutes), tick=False)


def test_the_stale_limit_is_above_the_celery_hard_time_limit():
    assert django_settings.LEDGER_RENDER_STALE_MINUTES * 60 > django_settings.CELERY_TASK_TIME_LIMIT


def test_a_render_killed_mid_run_is_queued_again_by_the_next_render_job(
    killed_render, queued, time_machine, django_capture_on_commit_callbacks
):
    # Within the time limit it may still be rendering: left as it is.
    _minutes_later(time_machine, 30)
    with django_capture_on_commit_callbacks(execute=True):
        early = render_ledgers(D(2027, 1, 11))
    assert "requeued" not in early.counts and killed_render.pk not in queued
    assert LedgerRender.objects.get(pk=killed_render.pk).status == RenderStatus.RUNNING
    queued.clear()

    _minutes_later(time_machine, django_settings.LEDGER_RENDER_STALE_MINUTES + 1)

    with django_capture_on_commit_callbacks(execute=True):
        run = render_ledgers(D(2027, 1, 11))

    assert run.counts["requeued"] == 1
    render = LedgerRender.objects.get(pk=killed_render.pk)
    assert render.status == RenderStatus.QUEUED and render.progress == 0
    assert killed_render.pk in queued
    reason = render.history.latest().history_change_reason
    assert "生成中断" in reason and "生成中" in reason
    # A second run finds it freshly queued: nothing more.
    queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        again = render_ledgers(D(2027, 1, 11))
    assert "requeued" not in again.counts and killed_render.pk not in queued


def test_a_starting_worker_queues_again_a_render_left_running_or_queued(
    killed_render, personas, queued, time_machine, django_capture_on_commit_callbacks
):
    from config.celery import _recover_interrupted_work

    # A second request whose task never reached a worker: left "排队中".
    with django_capture_on_commit_callbacks(execute=True):
        lost = pdf.request_render(
            actor=personas["office"], scope=LedgerScope.PROVINCE, year=2026, quarter=3
        )
    queued.clear()
    _minutes_later(time_machine, django_settings.LEDGER_RENDER_STALE_MINUTES + 1)

    with django_capture_on_commit_callbacks(execute=True):
        _recover_interrupted_work()

    assert sorted(queued) == sorted([killed_render.pk, lost.pk])
    for pk, state in ((killed_render.pk, "生成中"), (lost.pk, "排队中")):
        render = LedgerRender.objects.get(pk=pk)
        assert render.status == RenderStatus.QUEUED
        assert state in render.history.latest().history_change_reason


def test_a_render_whose_task_waits_for_the_broker_is_not_queued_twice(
    personas, queued, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(T0, tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        render = pdf.request_render(
            actor=personas["office"], scope=LedgerScope.PROVINCE, year=2026, quarter=4
        )
    # The broker was down: enqueue kept the task in the database, to be sent when it is back.
    PendingTask.objects.create(task=pdf.RENDER_TASK_NAME, args=[render.pk], kwargs={})
    queued.clear()
    _minutes_later(time_machine, django_settings.LEDGER_RENDER_STALE_MINUTES + 1)

    with django_capture_on_commit_callbacks(execute=True):
        assert pdf.requeue_stale_renders() == 0
    assert queued == []


def test_a_requeued_render_goes_through_the_queue_that_survives_a_broker_outage(
    killed_render, monkeypatch, time_machine, django_capture_on_commit_callbacks
):
    from core import queue

    sent: list[tuple] = []
    monkeypatch.setattr(pdf, "_enqueue", ENQUEUE)
    monkeypatch.setattr(
        queue, "enqueue", lambda task, *args, **kw: sent.append((getattr(task, "name", task), args))
    )
    _minutes_later(time_machine, django_settings.LEDGER_RENDER_STALE_MINUTES + 1)

    with django_capture_on_commit_callbacks(execute=True):
        assert pdf.requeue_stale_renders() == 1

    assert sent == [(pdf.RENDER_TASK_NAME, (killed_render.pk,))]
