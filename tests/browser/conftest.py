"""Browser tests: Playwright driving Debian's chromium against the app served from a thread.

The session ``app`` fixture (tests/conftest.py) provides the database: a file
SQLite database, or PostgreSQL when TEST_DATABASE_URL is set. The app is served
by werkzeug on a free port; every test gets the demo data freshly seeded. The
server thread has its own connections, so these tests cannot run inside the
rolled-back transaction of tests/conftest.py: they are marked ``real_commits``
and the autouse cleanup there empties the tables afterwards.
"""

import os
import threading
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from agencyapp.extensions import db
from tests.conftest import REAL_COMMITS, need

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
BROWSER_DIR = os.path.dirname(os.path.abspath(__file__))

# What Chromium writes to the console when the Content Security Policy blocks something.
CSP_MARKERS = ("Content Security Policy", "Refused to")


def pytest_collection_modifyitems(config, items):
    """Every test in this folder drives a browser: mark it so ``-m "not browser"`` skips them,
    and ``real_commits``: the live server's thread must see what the test commits."""
    for item in items:
        if str(item.path).startswith(BROWSER_DIR + os.sep):
            item.add_marker(pytest.mark.browser)
            item.add_marker(REAL_COMMITS)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    need(os.path.exists(CHROMIUM), f"Debian chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def live_server(app):
    """The app served by werkzeug from a daemon thread; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def base_url(live_server):
    """pytest-playwright passes this to every context, so ``page.goto("/login")`` works."""
    return live_server


@dataclass
class Demo:
    agency_login: str
    password: str
    submission_id: int


@pytest.fixture(autouse=True)
def demo_data(app):
    """The demo organisations, accounts and cycle, seeded afresh for each browser test."""
    from agencyapp.demo import DEMO_FISCAL_YEAR, DEMO_PASSWORD, seed_demo
    from agencyapp.models import Cycle, Submission, User

    with app.app_context():
        seed_demo()
        db.session.commit()  # the seed is one action of the CLI's; here the fixture is the edge
        user = db.session.scalar(select(User).where(User.login_id == "demo-agency"))
        # This year's self-check (the demo also has last year's, already accepted).
        submission_id = db.session.scalar(
            select(Submission.id)
            .join(Cycle, Cycle.id == Submission.cycle_id)
            .where(Submission.unit_id == user.unit_id, Cycle.fiscal_year == DEMO_FISCAL_YEAR)
        )
        db.session.remove()
    return Demo(agency_login="demo-agency", password=DEMO_PASSWORD, submission_id=submission_id)


@dataclass
class ConsoleLog:
    """Console messages and uncaught page errors of every page of a context."""

    messages: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    def attach(self, page):
        page.on("console", lambda msg: self.messages.append(f"[{msg.type}] {msg.text} ({page.url})"))
        page.on("pageerror", lambda exc: self.errors.append(f"{exc} ({page.url})"))

    def csp_violations(self):
        return [m for m in self.messages if any(marker in m for marker in CSP_MARKERS)]

    def assert_clean(self):
        violations = self.csp_violations()
        assert not violations, "CSP violations in the console:\n" + "\n".join(violations)
        assert not self.errors, "JavaScript errors on the page:\n" + "\n".join(self.errors)


@pytest.fixture
def console(context):
    """Collects console output of every page opened in ``context`` (also ``page``)."""
    log = ConsoleLog()
    for existing in context.pages:
        log.attach(existing)
    context.on("page", log.attach)
    return log


@pytest.fixture
def page(context, console):
    """pytest-playwright's page, with its console watched from the first navigation."""
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


@pytest.fixture
def assert_no_csp_violations(console):
    """Call at any point; also checked automatically when the test ends."""
    yield console.assert_clean
    if os.environ.get("SHOW_BROWSER_CONSOLE"):
        print("\n".join(["", "browser console:"] + console.messages + console.errors))
    console.assert_clean()
