"""Fixtures: one app per test session on SQLite (default) or PostgreSQL (TEST_DATABASE_URL).

The schema and the shipped checklist editions are created once per session.

Each test that uses the app runs inside one database transaction on one connection,
rolled back when the test ends. Every ``db.session`` of the test (the test's own app
context, ``world``, each request of the test client, CLI commands) is bound to that
connection and joins its transaction through a SAVEPOINT: ``db.session.commit()``
releases the session's savepoint, ``db.session.rollback()`` returns to it, and the
rows are gone once the test is over.

Tests whose commits other connections must see keep real commits: the browser tests
(a live server thread), tests that make a second app on the same database (fixture
``make_app``) and tests marked ``real_commits``. After each of them every table but
the checklists is emptied (the checklists are imported again if the test added one).
A transactional test that opens a second connection to the test database fails at
once and says so, instead of waiting on SQLite's lock or leaking rows on PostgreSQL.
"""

import contextlib
import contextvars
import os
import re
import tempfile
import threading
import warnings
import weakref

import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete, event, func, select
from sqlalchemy.engine import Engine

from agencyapp import create_app
from agencyapp.demo import import_shipped_checklists
from agencyapp.extensions import db
from agencyapp.models import ChecklistVersion
from agencyapp.models.base import Base
from agencyapp.tasks import huey

huey.immediate = True  # tasks run when queued, in the caller's app context (tests/test_tasks.py)

IN_CI = os.environ.get("CI") == "true"
# Redis at 127.0.0.1:6379 runs on this machine and in CI (.ci/run starts it); tests keep to one database.
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CHECKLIST_TABLES = {"checklist_version", "checklist_section", "checklist_goal", "checklist_item", "checklist_question"}

REAL_COMMITS = "real_commits"
# Fixtures that put a second app (its own engine) on the session database.
SECOND_APP_FIXTURES = {"make_app"}


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        f"{REAL_COMMITS}: commits for real instead of inside a rolled-back transaction "
        "(threads, a live server, a second engine); every table is emptied afterwards",
    )


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SECOND_APP_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(REAL_COMMITS)


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
    _empty_tables(app)  # the import's audit rows: tests start with the checklists alone
    app.test_client_class = IsolatedClient
    event.listen(Engine, "engine_connect", _SharedConnection.refuse_another)
    yield app
    event.remove(Engine, "engine_connect", _SharedConnection.refuse_another)
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


class SharedUncommittedRows(UserWarning):
    """A session used the database while another session of this test held flushed rows it had
    not committed. The test's sessions share one connection, so this one sees those rows; in
    production (and in a real_commits test) it would not: commit them first."""


class _SharedConnection:
    """The connection of the running transactional test, and the guard against a second one."""

    connection = None

    @classmethod
    def refuse_another(cls, conn):
        """``engine_connect`` on every engine: no other connection to the test database."""
        shared = cls.connection
        if shared is None or conn is shared or conn.engine.url != shared.engine.url:
            return
        conn.close()
        raise RuntimeError(
            "a transactional test opened a second connection to the test database; it would not "
            f"see the test's rows (or wait on SQLite's lock): mark the test @pytest.mark.{REAL_COMMITS}"
        )


@contextlib.contextmanager
def _rolled_back_transaction(app):
    """Bind every ``db.session`` to one connection whose transaction is rolled back at the end."""
    with app.app_context():
        engine = db.engine
    connection = engine.connect()
    raw = connection.connection.dbapi_connection if engine.dialect.name == "sqlite" else None
    if raw is not None:
        # pysqlite would not emit BEGIN before a SAVEPOINT (nor before a SELECT), so the
        # savepoints would commit on their own: take transaction control from it for this
        # connection only (SQLAlchemy's SQLite docs, "Enabling Non-Legacy SQLite
        # Transactional Modes") and put the driver's default back before the pool gets it.
        saved_isolation = raw.isolation_level
        raw.isolation_level = None
    transaction = connection.begin()
    if raw is not None:
        connection.exec_driver_sql("BEGIN")

    factory = db.session.session_factory
    session_class = factory.class_
    default_get_bind = session_class.get_bind
    test_thread = threading.get_ident()
    # Sessions with flushed rows not yet committed. On one connection every other session
    # sees them (in production none would): warn when another session uses the database.
    unsaved = weakref.WeakSet()

    def get_bind(self, *args, **kwargs):
        bind = default_get_bind(self, *args, **kwargs)
        if bind is not engine:
            return bind  # another app's engine: left alone
        if threading.get_ident() != test_thread:
            raise RuntimeError(
                "a transactional test used the database from another thread, which cannot share "
                f"the test's connection: mark the test @pytest.mark.{REAL_COMMITS}"
            )
        if unsaved and any(other is not self for other in unsaved):
            unsaved.clear()  # once per uncommitted batch
            warnings.warn(SharedUncommittedRows(SharedUncommittedRows.__doc__), stacklevel=2)
        return connection

    def flushed(session, _flush_context):
        unsaved.add(session)

    def ended(session, transaction):
        if transaction.parent is None:
            unsaved.discard(session)

    _SharedConnection.connection = connection
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(session_class, "get_bind", get_bind)
            patch.setitem(factory.kw, "join_transaction_mode", "create_savepoint")
            event.listen(factory, "after_flush", flushed)
            event.listen(factory, "after_transaction_end", ended)
            try:
                yield connection
            finally:
                event.remove(factory, "after_flush", flushed)
                event.remove(factory, "after_transaction_end", ended)
    finally:
        _SharedConnection.connection = None
        if transaction.is_active:
            transaction.rollback()
        if raw is not None and not connection.invalidated:
            raw.isolation_level = saved_isolation
        connection.close()


@pytest.fixture(autouse=True)
def _database(request):
    """A rolled-back transaction per test; for ``real_commits`` tests, empty tables afterwards.
    The per-process tree of published checklists starts empty: ids are reused after a rollback."""
    from agencyapp.services import figure_cache
    from agencyapp.services.checklists import clear_structure_cache

    clear_structure_cache()
    figure_cache.clear()
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    if request.node.get_closest_marker(REAL_COMMITS):
        yield
        _empty_tables(app)
        return
    with _rolled_back_transaction(app):
        yield


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


# In a transactional test each session's BEGIN and COMMIT become SAVEPOINT and RELEASE
# statements; production sends neither through the cursor, so they are not counted.
SAVEPOINT_RE = re.compile(r"\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b", re.IGNORECASE)


class StatementCounter:
    def __init__(self):
        self.statements = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if not SAVEPOINT_RE.match(statement):
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
