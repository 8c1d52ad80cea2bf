"""X-SQL-Statements: the statement count of a request, only when asked for and never in production."""

import pytest

from agencyapp import create_app
from agencyapp.extensions import db
from agencyapp.statement_count import ENV_VAR, HEADER
from tests.conftest import REDIS_TEST_URL


@pytest.fixture
def make(tmp_path):
    """An app of its own (the listener is attached when the app is made) on an empty SQLite file."""
    apps = []

    def make(**config):
        app = create_app(
            {
                "ENV_NAME": "test",
                "TESTING": True,
                "SECRET_KEY": "x" * 32,
                "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / f"count{len(apps)}.sqlite3"),
                "RATELIMIT_ENABLED": False,
                "REDIS_URL": REDIS_TEST_URL,
                **config,
            }
        )
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def test_the_header_counts_the_statements_of_each_request_when_enabled(make):
    client = make(SQL_COUNT_HEADER=True).test_client()
    for _ in range(2):  # per request, not accumulated
        response = client.get("/healthz")
        assert response.status_code == 200
        assert response.headers[HEADER] == "1"  # SELECT 1


def test_no_header_unless_enabled(make, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert HEADER not in make().test_client().get("/healthz").headers
    assert HEADER not in make(SQL_COUNT_HEADER=False).test_client().get("/healthz").headers


def test_the_environment_enables_it(make, monkeypatch):
    monkeypatch.setenv(ENV_VAR, "1")
    assert make().test_client().get("/healthz").headers[HEADER] == "1"


def test_ignored_in_production(make, monkeypatch):
    monkeypatch.setenv(ENV_VAR, "1")
    app = make(ENV_NAME="production")
    assert app.config["SQL_COUNT_HEADER"] is False
    assert HEADER not in app.test_client().get("/healthz").headers
    assert HEADER not in make(ENV_NAME="production", SQL_COUNT_HEADER=True).test_client().get("/healthz").headers
