"""flask backup / restore: a copy taken while the app writes restores with nothing confirmed missing."""

import os
import threading
import time
import uuid

import psycopg
import pytest
from sqlalchemy import create_engine, func, select, text

from agencyapp import create_app
from agencyapp.extensions import db
from agencyapp.models import AuditEvent, FileBlob
from agencyapp.models.base import Base
from tests.conftest import need

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def make(url, **config):
    app = create_app(
        {
            "ENV_NAME": "test",
            "TESTING": True,
            "SECRET_KEY": "backup-test",
            "SQLALCHEMY_DATABASE_URI": url,
            "RATELIMIT_ENABLED": False,
            **config,
        }
    )
    with app.app_context():
        Base.metadata.create_all(db.engine)
        db.session.add(FileBlob(stored_name="a" * 32 + ".pdf", data=b"%PDF-1.4 attached"))
        db.session.commit()
        db.session.remove()
    return app


class Writer(threading.Thread):
    """Commits one history row after another on its own connection, noting each confirmed id."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.engine = create_engine(url, connect_args={"timeout": 30} if url.startswith("sqlite") else {})
        self.confirmed = []
        self.running = True

    def run(self):
        while self.running:
            with self.engine.begin() as conn:
                new_id = conn.execute(
                    AuditEvent.__table__.insert()
                    .values(action="load.write", summary="書き込み", actor_login="load", at=func.now())
                    .returning(AuditEvent.__table__.c.id)
                ).scalar_one()
            self.confirmed.append(new_id)  # the commit returned: the write is confirmed

    def stop(self):
        self.running = False
        self.join()
        self.engine.dispose()


def ids(url):
    engine = create_engine(url)
    with engine.connect() as conn:
        found = set(conn.execute(text("SELECT id FROM audit_event WHERE action = 'load.write'")).scalars())
        blob = conn.execute(text("SELECT data FROM file_blob")).scalar_one()
    engine.dispose()
    return found, blob


def backup_under_load(app, url, dest):
    writer = Writer(url)
    writer.start()
    time.sleep(0.5)
    before = list(writer.confirmed)  # confirmed before the backup starts: must all be in it
    result = app.test_cli_runner().invoke(args=["backup", str(dest)])
    time.sleep(0.3)
    writer.stop()
    assert result.exit_code == 0, result.output
    assert "バックアップを作成しました" in result.output
    assert len(before) > 20 and len(writer.confirmed) > len(before)
    return set(before), set(writer.confirmed)


def test_sqlite_backup_under_write_load_restores_with_nothing_missing(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    app = make(url)
    dest = tmp_path / "backups" / "agencyapp.sqlite3"
    before, after = backup_under_load(app, url, dest)

    saved, blob = ids(f"sqlite:///{dest}")
    assert before <= saved <= after  # every confirmed write up to the backup, nothing half-written
    assert blob == b"%PDF-1.4 attached"

    result = app.test_cli_runner().invoke(args=["restore", str(dest), "--yes"])
    assert result.exit_code == 0, result.output
    restored, blob = ids(url)
    assert restored == saved and blob == b"%PDF-1.4 attached"
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "backup.restored")) == 1
        db.session.remove()
        db.engine.dispose()


def test_restore_refuses_a_file_that_is_not_a_backup_and_changes_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    app = make(url)
    bogus = tmp_path / "notes.sqlite3"
    bogus.write_bytes(b"not a database at all" * 100)
    result = app.test_cli_runner().invoke(args=["restore", str(bogus), "--yes"])
    assert result.exit_code == 1 and "SQLite" in result.output
    assert ids(url)[1] == b"%PDF-1.4 attached"
    with app.app_context():
        db.engine.dispose()


def test_restore_asks_before_it_replaces_anything(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    app = make(url)
    dest = tmp_path / "b.sqlite3"
    assert app.test_cli_runner().invoke(args=["backup", str(dest)]).exit_code == 0
    result = app.test_cli_runner().invoke(args=["restore", str(dest)], input="n\n")
    assert result.exit_code == 1 and "置き換えます" in result.output
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def pg_database():
    name = f"backup_test_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True)
    except psycopg.OperationalError:
        need(False, "PostgreSQL is not running")
    with admin:
        admin.execute(f"CREATE DATABASE {name}")
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.postgres
def test_postgresql_backup_under_write_load_restores_with_nothing_missing(pg_database, tmp_path):
    app = make(pg_database)
    dest = tmp_path / "agencyapp.dump"
    before, after = backup_under_load(app, pg_database, dest)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    with psycopg.connect(pg_database.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("DELETE FROM audit_event")  # lose everything, then restore
        conn.execute("DELETE FROM file_blob")
    result = app.test_cli_runner().invoke(args=["restore", str(dest), "--yes"])
    assert result.exit_code == 0, result.output
    restored, blob = ids(pg_database)
    assert before <= restored <= after and blob == b"%PDF-1.4 attached"
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
