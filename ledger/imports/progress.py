"""How far an import's job has got, written where the import page can read it while the
job's own transaction is still open.

The job writes every row in one transaction, so what it writes there is seen by nobody
until it commits. On PostgreSQL the progress therefore goes through a second connection of
its own, in autocommit, and each reload of the page reads it. Where that cannot work — SQLite
(one writer at a time), or a batch the second connection cannot see (created inside the same
uncommitted transaction) — the progress is written on the job's own connection: the job's
own process, and whatever runs inside its transaction, see it."""

from __future__ import annotations

import copy
import logging

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from ledger.models import ImportBatch

logger = logging.getLogger(__name__)

# A progress write waits at most this long for a row lock before falling back.
LOCK_TIMEOUT = "2s"


class Progress:
    """Reports a batch's progress (percent, rows done), at most once per percent."""

    def __init__(self, batch_pk: int, *, total_rows: int):
        self.batch_pk = batch_pk
        self.total_rows = max(total_rows, 1)
        self._last: tuple[int, int] | None = None
        self._side = None
        self._side_tried = False

    def rows(self, done: int, *, start: int, end: int) -> None:
        """`done` of the batch's rows handled in the step that spans start…end percent."""
        done = max(0, min(done, self.total_rows))
        self.report(start + (end - start) * done // self.total_rows, done)

    def report(self, percent: int, rows_done: int) -> None:
        percent = max(0, min(100, percent))
        if self._last is not None and self._last[0] == percent:
            return
        self._last = (percent, rows_done)
        if self._write_aside(percent, rows_done):
            return
        ImportBatch.objects.filter(pk=self.batch_pk).update(progress=percent, rows_done=rows_done)

    def _write_aside(self, percent: int, rows_done: int) -> bool:
        side = self._side_connection()
        if side is None:
            return False
        table = side.ops.quote_name(ImportBatch._meta.db_table)
        try:
            with side.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET progress = %s, rows_done = %s WHERE id = %s",
                    [percent, rows_done, self.batch_pk],
                )
                if cursor.rowcount == 1:
                    return True
        except DatabaseError:
            logger.warning("导入批次 %s 的进度未能另行写入", self.batch_pk, exc_info=True)
        # Not visible (or locked) from outside: from now on write on the job's connection.
        self.close()
        return False

    def _side_connection(self):
        if self._side_tried:
            return self._side
        self._side_tried = True
        main = connections[DEFAULT_DB_ALIAS]
        if main.vendor != "postgresql":
            return None
        try:
            side = type(main)(copy.deepcopy(main.settings_dict), DEFAULT_DB_ALIAS)
            side.ensure_connection()
            with side.cursor() as cursor:
                cursor.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
        except DatabaseError:
            logger.warning("无法为导入进度打开数据库连接", exc_info=True)
            return None
        self._side = side
        return side

    def close(self) -> None:
        if self._side is not None:
            try:
                self._side.close()
            except DatabaseError:
                pass
        self._side = None
