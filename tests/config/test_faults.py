"""Faults: the broker (Redis) stops while people work — pages, sign-in and submissions go on,
and the work they asked for is kept and delivered once Redis is back. A private Redis server
is started and stopped by the test on a free port, in CI as on any machine with Redis."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest
import redis

from core.models import PendingTask
from pilots.constants import JobName
from tests.factories import PASSWORD

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="redis-server is not installed"
)


class PrivateRedis:
    def __init__(self, directory):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.directory = directory
        self.process = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        for _ in range(100):
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def queued(self) -> int:
        return redis.Redis.from_url(self.url).llen("celery")


@pytest.fixture
def broker(tmp_path):
    """Celery publishing to a private Redis (not eager), restored afterwards."""
    from config.celery import app

    server = PrivateRedis(tmp_path)
    server.start()
    saved = (app.conf.task_always_eager, app.conf.broker_url)
    app.conf.task_always_eager = False
    app.conf.broker_url = server.url
    app._pool = None
    app.amqp._producer_pool = None
    yield server
    if server.process.poll() is None:
        server.stop()
    app.conf.task_always_eager, app.conf.broker_url = saved
    app._pool = None
    app.amqp._producer_pool = None


def test_with_redis_down_pages_sign_in_and_submissions_work_and_work_is_sent_later(
    client, client_for, personas, broker
):
    from accounts.tasks import send_notification_email
    from core.queue import enqueue, flush_pending

    broker.stop()
    # Sign-in and pages: sessions and caches never need Redis.
    response = client.post("/accounts/login/", {"username": "office", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert client.get("/dashboard/").status_code == 200
    # A submission that starts background work: accepted, the work kept in the database.
    started = client.post("/pilots/jobs/", {"job": JobName.FLAG_OVERDUE}, follow=True)
    assert started.status_code == 200
    assert "消息队列暂不可用" in started.content.decode()
    assert enqueue(send_notification_email, 1) is False
    assert PendingTask.objects.filter(sent_at__isnull=True).count() == 2
    # Still down: nothing is sent and nothing is lost.
    assert flush_pending() == 0
    assert PendingTask.objects.filter(sent_at__isnull=True).count() == 2

    broker.start()
    assert flush_pending() == 2
    assert PendingTask.objects.filter(sent_at__isnull=True).count() == 0
    assert broker.queued() == 2
    # With the broker up, new work goes straight to the queue.
    assert enqueue(send_notification_email, 2) is True
    assert broker.queued() == 3
