"""Fixtures: one app per test session on SQLite (default) or PostgreSQL (TEST_DATABASE_URL).

The checklist editions are imported once per session; every other table is
emptied after each test so that tests never see each other's rows.
"""

import contextlib
import contextvars
import os
import re
import tempfile

import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete, event, func, select

from agencyapp import create_app
from agencyapp.demo import import_shipped_checklists
from agencyapp.extensions import db
from agencyapp.models import ChecklistVersion
from agencyapp.models.base import Base

IN_CI = os.environ.get("CI") == "true"
CHECKLIST_TABLES = {"checklist_version", "checklist_section", "checklist_goal", "checklist_item", "checklist_question"}


def database_url(tmpdir):
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return "sqlite:///" + os.path.join(tmpdir, "test.sqlite3")


def need(condition, reason):
    """Skip on a laptop that lacks a tool; fail in CI, where everything must be present."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI must provide this: {reason}")
    pytest.skip(reason)


class IsolatedClient(FlaskClient):
    """Each request runs in a fresh context, so it gets its own app context, ``g`` and
    database session even while a test holds an app context open (as in production)."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture(scope="session")
def app():
    tmpdir = tempfile.mkdtemp(prefix="agencyapp-test-")
    app = create_app(
        {
            "ENV_NAME": "test",
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-not-for-production",
            "SQLALCHEMY_DATABASE_URI": database_url(tmpdir),
            "SESSION_COOKIE_SECURE": False,
            "RATELIMIT_ENABLED": False,
            "SERVER_NAME": None,
        }
    )
    with app.app_context():
        Base.metadata.drop_all(db.engine)
        Base.metadata.create_all(db.engine)
        import_shipped_checklists()
        db.session.commit()
        base_versions = db.session.scalar(select(func.count()).select_from(ChecklistVersion))
    app.config["_BASE_VERSIONS"] = base_versions
    app.test_client_class = IsolatedClient
    yield app
    with app.app_context():
        db.session.remove()
        Base.metadata.drop_all(db.engine)
        db.engine.dispose()


def _empty_tables(app):
    with app.app_context():
        db.session.remove()
        reseed = db.session.scalar(select(func.count()).select_from(ChecklistVersion)) != app.config["_BASE_VERSIONS"]
        for table in reversed(Base.metadata.sorted_tables):
            if table.name in CHECKLIST_TABLES and not reseed:
                continue
            db.session.execute(delete(table))
        db.session.commit()
        if reseed:
            import_shipped_checklists()
            db.session.commit()
        db.session.remove()


@pytest.fixture(autouse=True)
def _clean_database(request):
    yield
    if "app" in request.fixturenames:
        _empty_tables(request.getfixturevalue("app"))


@pytest.fixture
def ctx(app):
    """An application context for service-level tests."""
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


def csrf_from(html):
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


class Browser:
    """A test client that signs in and carries the CSRF token like a page would."""

    def __init__(self, client):
        self.client = client
        self.token = None

    def get(self, url, **kwargs):
        response = self.client.get(url, **kwargs)
        if response.status_code == 200 and "text/html" in response.content_type:
            with contextlib.suppress(AssertionError):
                self.token = csrf_from(response.get_data(as_text=True))
        return response

    def post(self, url, data=None, htmx=False, csrf=True, **kwargs):
        data = dict(data or {})
        headers = dict(kwargs.pop("headers", {}))
        if csrf:
            if self.token is None:
                self.get("/login")
            if htmx:
                headers["X-CSRFToken"] = self.token
            else:
                data.setdefault("csrf_token", self.token)
        if htmx:
            headers["HX-Request"] = "true"
        return self.client.post(url, data=data, headers=headers, **kwargs)

    def login(self, login_id, password):
        self.get("/login")
        response = self.post("/login", {"username": login_id, "password": password})
        self.get("/")
        return response

    def logout(self):
        return self.post("/logout")


# Named `web`, not `browser`: pytest-playwright owns the `browser` fixture.
@pytest.fixture
def web(client):
    """A signed-out Browser over the test client; ``web.login(login_id, password)``."""
    return Browser(client)


@pytest.fixture
def make_web(app):
    """Make further independent Browsers (another user, another device)."""
    return lambda: Browser(app.test_client())


@pytest.fixture
def world(app):
    """Two ministries, three units, one user per role and the current cycle."""
    from tests import factories

    with app.app_context():
        yield factories.make_world()
        db.session.remove()


class StatementCounter:
    def __init__(self):
        self.statements = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)

    @property
    def count(self):
        return len(self.statements)

    def __repr__(self):
        """The statements in short (verb and first table), for assertion messages."""
        short = []
        for statement in self.statements:
            words = statement.split()
            table = words[words.index("FROM") + 1] if "FROM" in words else " ".join(words[1:3])
            short.append(f"{words[0]} {table}")
        return f"<{len(short)} statements: {', '.join(short)}>"


@pytest.fixture
def count_statements(app):
    """Use as ``with count_statements() as counter:``; counts SQL sent to the database."""
    from contextlib import contextmanager

    @contextmanager
    def counting():
        counter = StatementCounter()
        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(engine, "before_cursor_execute", counter)

    return counting


# The mail fixtures live with the mail tests; other areas (review notifications) use them too.
from tests.test_mail import smtp_config, smtp_server  # noqa: E402,F401
