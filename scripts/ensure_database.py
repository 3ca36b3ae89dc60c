"""Create the PostgreSQL database named in DATABASE_URL when it does not exist yet, so that
`make run` works on a fresh server. Does nothing for SQLite (the file is created on first use)."""

from __future__ import annotations

import os
import sys

import dj_database_url


def main() -> int:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return 0
    import psycopg
    from psycopg import sql

    config = dj_database_url.parse(url)
    name = config["NAME"]
    params = {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
    }
    try:
        with psycopg.connect(dbname=name, connect_timeout=5, **params):
            return 0
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            print(f"无法连接数据库：{exc}", file=sys.stderr)
            return 1
    with psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=5, **params) as db:
        db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    print(f"已创建数据库 {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
