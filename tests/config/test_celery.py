"""Celery is set for heavy, long tasks and runs exactly one beat."""

from __future__ import annotations

import pytest
from django.conf import settings

from config.beat import BeatAlreadyRunning, acquire_beat_lock, release_beat_lock
from config.celery import app


def test_tasks_survive_a_killed_worker_and_workers_take_one_task_at_a_time():
    assert app.conf.task_acks_late is True
    # Without this a worker killed by the OOM killer loses its task even with acks_late.
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_redis_keeps_a_task_invisible_longer_than_the_longest_task_may_run():
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    assert app.conf.task_soft_time_limit < app.conf.task_time_limit < visibility


def test_workers_are_recycled_by_memory_for_pdf_renders():
    assert app.conf.worker_max_memory_per_child == settings.CELERY_WORKER_MAX_MEMORY_PER_CHILD
    assert 50_000 <= app.conf.worker_max_memory_per_child <= 2_000_000


@pytest.mark.django_db(transaction=True)
def test_a_second_beat_refuses_to_start(tmp_path, settings):
    settings.BEAT_LOCK_FILE = tmp_path / "beat.lock"
    assert settings.CELERY_BEAT_SCHEDULER == "config.beat:SingleBeatScheduler"
    first = acquire_beat_lock()
    try:
        with pytest.raises(BeatAlreadyRunning, match="只能运行一个 beat"):
            acquire_beat_lock()
    finally:
        release_beat_lock(first)
    # Once the first beat is gone, the next one starts.
    release_beat_lock(acquire_beat_lock())
