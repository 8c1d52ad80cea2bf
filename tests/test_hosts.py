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
        "PYTHONPATH": str(ROOT),
    }
    env.pop("TEST_DATABASE_URL", None)
    setup = subprocess.run([sys.executable, "-c", SETUP], cwd=ROOT, env=env, capture_output=True, text=True)
    assert setup.returncode == 0, setup.stderr[-3000:]
    facts = json.loads(setup.stdout.strip().splitlines()[-1])
    servers, bases = [], []
    gunicorn = Path(sys.executable).parent / "gunicorn"
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
