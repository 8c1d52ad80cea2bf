"""Migrations: one head; upgrade on empty SQLite and PostgreSQL; no drift from the models."""

import os

import psycopg
import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from flask_migrate import check, downgrade, upgrade
from sqlalchemy import inspect, text

from agencyapp import ROOT, create_app
from agencyapp.extensions import db
from tests.conftest import need

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MIGRATION_DB = "agencyapp_migration_test"


def make_app(url):
    return create_app(
        {
            "ENV_NAME": "test",
            "TESTING": True,
            "SECRET_KEY": "x" * 32,
            "SQLALCHEMY_DATABASE_URI": url,
            "RATELIMIT_ENABLED": False,
        }
    )


def upgrade_and_check(url):
    app = make_app(url)
    with app.app_context():
        upgrade()
        check()  # exits non-zero when the models and the migrations disagree
        tables = set(inspect(db.engine).get_table_names())
        assert {"submission", "answer", "audit_event", "user_account", "alembic_version"} <= tables
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()


def test_single_head():
    config = Config(os.path.join(ROOT, "migrations", "alembic.ini"))
    config.set_main_option("script_location", os.path.join(ROOT, "migrations"))
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_upgrade_on_an_empty_sqlite_file_matches_the_models(tmp_path):
    upgrade_and_check("sqlite:///" + str(tmp_path / "empty.sqlite3"))


def test_app_connections_enforce_sqlite_foreign_keys(tmp_path):
    app = make_app("sqlite:///" + str(tmp_path / "fk.sqlite3"))
    with app.app_context():
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        db.session.remove()
        db.engine.dispose()


def _postgres_admin():
    try:
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error:
        return None


@pytest.mark.postgres
def test_upgrade_on_an_empty_postgres_database_matches_the_models():
    admin = _postgres_admin()
    need(admin is not None, f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
    with admin:
        admin.execute(f"DROP DATABASE IF EXISTS {MIGRATION_DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {MIGRATION_DB}")
        try:
            upgrade_and_check(
                PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + MIGRATION_DB
            )
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {MIGRATION_DB} WITH (FORCE)")
