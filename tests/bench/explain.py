"""EXPLAIN ANALYZE of every statement a page runs, against a seeded database (PostgreSQL or SQLite).

    AGENCYAPP_ENV=development AGENCYAPP_DATABASE_URL=... python -m tests.bench.explain demo-center / /oversight/

Signs in as the given login (password demo-pass-2026) through the test client, records each statement
of each page with its parameters, then prints the slowest statements with their plans. Read-only:
the pages are GETs, and the EXPLAIN runs inside a transaction that is rolled back.
"""

import re
import sys
import time

from sqlalchemy import event, text

from agencyapp import create_app
from agencyapp.extensions import db

PASSWORD = "demo-pass-2026"


def main(login: str, paths: list[str], top: int = 3) -> None:
    app = create_app()
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/login", data={"csrf_token": token, "username": login, "password": PASSWORD})
    with app.app_context():
        engine = db.engine
    captured = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    for path in paths:
        captured.clear()
        started = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        print(f"\n=== {path}  HTTP {response.status_code}  {elapsed:.1f} ms  {len(captured)} SELECTs")
        statements = list(captured)
        timed = []
        with engine.connect() as conn:
            raw = conn.connection.driver_connection
            postgres = engine.dialect.name == "postgresql"
            for statement, parameters in statements:
                prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
                cursor = raw.cursor()
                started = time.perf_counter()
                cursor.execute(statement, parameters)
                cursor.fetchall()
                ms = (time.perf_counter() - started) * 1000
                cursor.execute(prefix + statement, parameters)
                plan = "\n".join(str(row[-1] if not postgres else row[0]) for row in cursor.fetchall())
                timed.append((ms, statement, plan))
            conn.execute(text("SELECT 1"))
        for ms, statement, plan in sorted(timed, reverse=True)[:top]:
            print(f"--- {ms:.1f} ms: {' '.join(statement.split())[:300]}")
            print(plan)
    event.remove(engine, "before_cursor_execute", record)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
