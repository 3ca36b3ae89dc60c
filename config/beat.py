"""Exactly one Celery beat: a second beat would send every scheduled job twice. The beat
scheduler takes a lock held for its whole life — a PostgreSQL advisory lock (any host), or a
file lock on SQLite (one machine) — and refuses to start when another beat holds it."""

from __future__ import annotations

import fcntl
import logging
from pathlib import Path

from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler

log = logging.getLogger(__name__)
# An arbitrary, fixed 64-bit key for pg_advisory_lock: "reform-pilot beat".
ADVISORY_KEY = 7_326_111_901
_held: list = []


class BeatAlreadyRunning(SystemExit):
    pass


def acquire_beat_lock():
    """Take the beat lock or raise BeatAlreadyRunning; returns the handle holding it."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.postgresql":
        import psycopg

        conn = psycopg.connect(
            dbname=db["NAME"],
            user=db.get("USER") or None,
            password=db.get("PASSWORD") or None,
            host=db.get("HOST") or None,
            port=db.get("PORT") or None,
            autocommit=True,
        )
        taken = conn.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_KEY]).fetchone()[0]
        if not taken:
            conn.close()
            raise BeatAlreadyRunning("另一个 Celery beat 正在运行：同一时间只能运行一个 beat。")
        return conn
    path = Path(getattr(settings, "BEAT_LOCK_FILE", settings.BASE_DIR / "var" / "beat.lock"))
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        handle.close()
        raise BeatAlreadyRunning(
            "另一个 Celery beat 正在运行：同一时间只能运行一个 beat。"
        ) from exc
    return handle


def release_beat_lock(handle) -> None:
    handle.close()


class SingleBeatScheduler(DatabaseScheduler):
    """django-celery-beat's database scheduler, refusing to run beside another beat."""

    def setup_schedule(self):
        if not _held:
            _held.append(acquire_beat_lock())
            log.info("beat lock taken: this is the only beat")
        super().setup_schedule()
