"""Several hosts: two app instances (gunicorn, one worker each) on one PostgreSQL and one Redis.

A sign-in limit counts across both, and a file uploaded through one downloads through the other.
Runs in the PostgreSQL pass of `make test` (TEST_DATABASE_URL); Redis answers at 127.0.0.1:6379.
"""

import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.conftest import REDIS_TEST_URL
from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ON_POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRES, reason="runs in the PostgreSQL pass (make test-postgres)"),
]

SETUP = """
import json
from sqlalchemy import select
from agencyapp import create_app
from agencyapp.demo import import_shipped_checklists
from agencyapp.extensions import db
from agencyapp.models import ImprovementPoint
from agencyapp.models.base import Base
from tests import factories
from tests.test_review import issue, submit_answers

app = create_app()
with app.app_context():
    Base.metadata.create_all(db.engine)
    import_shipped_checklists()
    db.session.commit()
    world = factories.make_world()
    world.submission_a = submit_answers(world.agency, world.submission_a)
    point = issue(world).points[0]
    print(json.dumps({"point": point.id}))
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def open(self, path, data=None, headers=None):
        request = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def token(self, path="/login"):
        status, body = self.open(path)
        return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', body.decode()).group(1)

    def login(self, login_id, password):
        data = urllib.parse.urlencode({"username": login_id, "password": password, "csrf_token": self.token()})
        return self.open("/login", data.encode())[0]


@pytest.fixture
def two_hosts(tmp_path):
    name = f"hosts_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    env = {
        **os.environ,
        "AGENCYAPP_ENV": "development",
        "AGENCYAPP_SECRET_KEY": "two-hosts-" + name,
        "AGENCYAPP_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
        "AGENCYAPP_REDIS_URL": REDIS_TEST_URL,
        "AGENCYAPP_RATELIMIT_KEY_PREFIX": name,
        "AGENCYAPP_LOGIN_RATE_LIMIT": "8 per minute",
        "AGENCYAPP_TASKS_NAME": name,
        "PYTHONPATH": str(ROOT),
    }
    env.pop("TEST_DATABASE_URL", None)
    setup = subprocess.run([sys.executable, "-c", SETUP], cwd=ROOT, env=env, capture_output=True, text=True)
    assert setup.returncode == 0, setup.stderr[-3000:]
    facts = json.loads(setup.stdout.strip().splitlines()[-1])
    facts["env"] = env
    servers, bases = [], []
    gunicorn = Path(sys.executable).parent / "gunicorn"
    consumer_log = open(tmp_path / "consumer.log", "w")  # noqa: SIM115 (closed below)
    consumer = subprocess.Popen(
        [Path(sys.executable).parent / "huey_consumer", "agencyapp.tasks.huey", "-w", "1"],
        cwd=ROOT,
        env=env,
        stdout=consumer_log,
        stderr=consumer_log,
    )
    servers.append((consumer, consumer_log))
    try:
        for _ in range(2):
            port = free_port()
            log = open(tmp_path / f"host-{port}.log", "w")  # noqa: SIM115 (closed below)
            servers.append(
                (
                    subprocess.Popen(
                        [gunicorn, "-w", "1", "-k", "sync", "-b", f"127.0.0.1:{port}", "wsgi:app"],
                        cwd=ROOT,
                        env=env,
                        stdout=log,
                        stderr=log,
                    ),
                    log,
                )
            )
            bases.append(f"http://127.0.0.1:{port}")
        for base in bases:
            for _ in range(100):
                try:
                    urllib.request.urlopen(base + "/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
        yield bases, facts
    finally:
        for server, log in servers:
            server.terminate()
            server.wait(10)
            log.close()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_the_sign_in_limit_counts_across_hosts(two_hosts):
    (a, b), _ = two_hosts
    statuses = [Client(host).login("nobody", "wrong-password-x") for host in (a, b) * 6]
    assert statuses[:8] == [422] * 8  # 8 per minute in all, four through each host
    assert set(statuses[8:]) == {429}


def test_a_file_uploaded_through_one_host_downloads_through_the_other(two_hosts):
    (a, b), facts = two_hosts
    agency = Client(a)
    assert agency.login("agency-a", PASSWORD) == 200  # the home page, after the redirect
    _, page = agency.open(f"/improvements/points/{facts['point']}")
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page.decode()).group(1)
    lock = re.search(r'name="lock_version" value="(\d+)"', page.decode()).group(1)
    boundary = "----hosts" + uuid.uuid4().hex
    fields = {"plan": "規程改正", "plan_due_on": "2099-03-31", "csrf_token": token, "lock_version": lock}
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()
    )
    body += (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="attachment"; filename="plan.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + b"%PDF-1.4\n%two hosts\n%%EOF\n\r\n"
        + f"--{boundary}--\r\n".encode()
    )
    status, _ = agency.open(
        f"/improvements/points/{facts['point']}/answer",
        body,
        {"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert status == 200
    center = Client(b)
    assert center.login("center", PASSWORD) == 200
    status, page = center.open(f"/improvements/points/{facts['point']}")
    link = re.search(r"/improvements/attachments/\d+", page.decode()).group(0)
    status, data = center.open(link)
    assert status == 200 and data == b"%PDF-1.4\n%two hosts\n%%EOF\n"


def test_an_export_started_through_one_host_is_fetched_through_the_other(two_hosts):
    (a, b), _ = two_hosts
    first, second = Client(a), Client(b)
    assert first.login("center", PASSWORD) == 200
    _, page = first.open("/oversight/")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.decode()).group(1)
    status, page = first.open("/oversight/export.xlsx", urllib.parse.urlencode({"csrf_token": token}).encode())
    assert status == 200 and "出力の作成" in page.decode()  # the job's page, after the redirect
    job = re.search(r'hx-get="(/exports/\d+)"|href="(/exports/\d+)/file"', page.decode())
    job = job.group(1) or job.group(2)
    # The same person through the other host: signed in there too, sees the job finish and gets the file.
    assert second.login("center", PASSWORD) == 200
    for _ in range(150):
        _, page = second.open(job)
        link = re.search(r'href="(/exports/\d+/file)"', page.decode())
        if link:
            break
        time.sleep(0.2)
    assert link, page.decode()[-2000:]
    status, data = second.open(link.group(1))
    assert status == 200 and data.startswith(b"PK")
    stranger = Client(b)
    assert stranger.login("ministry-a", PASSWORD) == 200
    assert stranger.open(link.group(1))[0] == 404  # the file is the requester's only


def test_the_daily_reminder_run_by_two_hosts_at_once_reminds_once(two_hosts):
    _, facts = two_hosts
    env = facts["env"]
    plan = """
from datetime import UTC, datetime, timedelta
from agencyapp import create_app
from agencyapp.extensions import db
from agencyapp.models import Cycle, Hearing, Unit, User
app = create_app()
with app.app_context():
    unit = db.session.scalar(db.select(Unit).where(Unit.code == "mhlw-nenkin"))
    staff = db.session.scalar(db.select(User).where(User.login_id == "center"))
    cycle = db.session.scalar(db.select(Cycle))
    start = datetime.now(UTC) + timedelta(days=2)
    db.session.add(Hearing(cycle_id=cycle.id, unit_id=unit.id, kind="hearing", status="scheduled",
        selection_reason="two hosts", staff_id=staff.id, created_by_id=staff.id,
        starts_at=start, ends_at=start + timedelta(hours=1)))
    db.session.commit()
"""
    assert subprocess.run([sys.executable, "-c", plan], cwd=ROOT, env=env, capture_output=True).returncode == 0
    run = "from agencyapp import tasks\ntasks.send_hearing_reminders.call_local()\n"
    both = [subprocess.Popen([sys.executable, "-c", run], cwd=ROOT, env=env) for _ in range(2)]
    assert [p.wait(60) for p in both] == [0, 0]
    count = """
from agencyapp import create_app
from agencyapp.extensions import db
from agencyapp.models import Notification
app = create_app()
with app.app_context():
    print(db.session.scalar(db.select(db.func.count()).where(Notification.kind == "hearing_reminder")))
"""
    done = subprocess.run([sys.executable, "-c", count], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.stdout.strip().splitlines()[-1] == "2"  # the unit's contact and the staff member, once each
