"""Two people editing one self-check at once: refused saves, lost answers and 5xx under load.

    .venv/bin/python tests/bench/concurrent_edit.py [--db sqlite|postgres] [--seconds 60] [--root DIR]

Makes a database of its own (10 units, two agency contacts each, the national checklist), serves
``--root``'s code with gunicorn -w 2 -k sync, and lets the 20 contacts autosave for ``--seconds``:
the two of a unit answer different questions of the same self-check, each reloading the page when a
save is refused (as the message asks). Then every answer in the database is compared with the last
save its writer was told had succeeded ("lost" when they differ). Prints refused / lost / 5xx.
"""

import argparse
import http.cookiejar
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

UNITS = 10
PASSWORD = "Correct-Horse-Battery-42"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"

SETUP = r"""
import json, sys
from agencyapp import create_app
from agencyapp.extensions import db
from agencyapp.demo import import_shipped_checklists
from agencyapp.models.base import Base
from tests import factories

app = create_app()
with app.app_context():
    Base.metadata.create_all(db.engine)
    import_shipped_checklists()
    ministry = factories.make_ministry("edit", "編集省")
    units = [factories.make_unit(ministry, f"edit-{i}", f"編集省 第{i}局", i) for i in range(UNITS)]
    for i, unit in enumerate(units):
        for w in range(2):
            factories.make_user(f"edit-{i}-{w}", "agency", unit=unit, name=f"担当{i}-{w}")
    db.session.commit()
    cycle = factories.make_cycle(units)
    structure = factories.load_structure(cycle.version)
    controllers = structure.controllers()
    free = [q.number for q in structure.questions if not q.conditions and q.number not in controllers]
    subs = {u.id: factories.submission_of(cycle, u).id for u in units}
    print(json.dumps({"submissions": [subs[u.id] for u in units], "questions": free,
                      "values": {q.number: sorted(v for v in q.allowed_values if v) for q in structure.questions}}))
""".replace("UNITS", str(UNITS))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database(kind, workdir):
    if kind == "sqlite":
        return f"sqlite:///{workdir}/edit.sqlite3", lambda: None
    import psycopg

    name = f"edit_load_{os.getpid()}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")

    def drop():
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", drop


class Writer(threading.Thread):
    def __init__(self, base, login, submission, questions, values, until, stats, lock):
        super().__init__(daemon=True)
        self.base, self.login, self.submission = base, login, submission
        self.questions, self.values, self.until = questions, values, until
        self.stats, self.lock = stats, lock
        self.saved = {}  # question -> last value the server said it saved
        jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        self.token = None
        self.fields = {}

    def open(self, path, data=None, headers=None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, headers=headers or {})
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def read_page(self):
        status, text = self.open(f"/submissions/{self.submission}?cat=all")
        assert status == 200, status
        self.token = re.search(r'"X-CSRFToken": "([^"]+)"', text).group(1)
        self.fields = dict(re.findall(r'name="(lock_version|version-\d+)" value="(\d+)"', text))
        self.fields.update(
            {m[1]: m[0] for m in re.findall(r'value="(\d+)"[^>]*name="(lock_version|version-\d+)"', text)}
        )
        with self.lock:
            self.stats["reloads"] += 1

    def run(self):
        status, text = self.open("/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"', text)
        token = token.group(1) or token.group(2)
        status, _ = self.open("/login", {"username": self.login, "password": PASSWORD, "csrf_token": token})
        self.read_page()
        self.stats["reloads"] -= 1
        rng = random.Random(self.login)
        while time.monotonic() < self.until:
            number = rng.choice(self.questions)
            value = rng.choice([v for v in self.values[str(number)] if v != self.saved.get(number)])
            data = {
                f"answer-{number}": str(value),
                f"note-{number}": "",
                "lock_version": self.fields.get("lock_version", ""),
            }
            if f"version-{number}" in self.fields:
                data[f"version-{number}"] = self.fields[f"version-{number}"]
            status, text = self.open(
                f"/submissions/{self.submission}/answers/{number}",
                data,
                {"HX-Request": "true", "X-CSRFToken": self.token},
            )
            with self.lock:
                self.stats["saves"] += 1
            if status == 200:
                self.saved[number] = value
                for name, found in re.findall(r'name="(lock_version|version-\d+)" value="(\d+)"', text):
                    self.fields[name] = found
                for found, name in re.findall(r'value="(\d+)"[^>]*name="(lock_version|version-\d+)"', text):
                    self.fields[name] = found
            elif status == 409:
                with self.lock:
                    self.stats["refused"] += 1
                self.read_page()
            else:
                with self.lock:
                    self.stats["5xx" if status >= 500 else f"other {status}"] = (
                        self.stats.get("5xx" if status >= 500 else f"other {status}", 0) + 1
                    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[2]))
    args = parser.parse_args()
    root = Path(args.root)
    python = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "python"
    workdir = tempfile.mkdtemp(prefix="edit-load-")
    url, drop = database(args.db, workdir)
    env = {
        **os.environ,
        "AGENCYAPP_ENV": "development",
        "AGENCYAPP_SECRET_KEY": "edit-load",
        "AGENCYAPP_DATABASE_URL": url,
        "PYTHONPATH": str(root),
    }
    server = None
    try:
        setup = subprocess.run([python, "-c", SETUP], cwd=root, env=env, capture_output=True, text=True)
        if setup.returncode:
            sys.exit(setup.stderr)
        world = json.loads(setup.stdout.strip().splitlines()[-1])
        port = free_port()
        server = subprocess.Popen(
            [python.parent / "gunicorn", "-w", "2", "-k", "sync", "-b", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(Path(workdir) / "gunicorn.log", "w"),  # noqa: SIM115 (closed with the process)
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        stats = {"saves": 0, "refused": 0, "reloads": 0, "5xx": 0}
        lock = threading.Lock()
        until = time.monotonic() + args.seconds
        writers = []
        for i, submission in enumerate(world["submissions"]):
            for w in range(2):
                mine = world["questions"][w::2]
                writers.append(Writer(base, f"edit-{i}-{w}", submission, mine, world["values"], until, stats, lock))
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        stored = stored_answers(python, root, env, world["submissions"])
        lost = sum(
            1
            for writer in writers
            for number, value in writer.saved.items()
            if stored.get(f"{writer.submission}-{number}") != value
        )
        saved = sum(len(w.saved) for w in writers)
        refused_share = stats["refused"] / stats["saves"] if stats["saves"] else 0
        print(
            f"{args.db}, {args.seconds:.0f} s, {UNITS} units x 2 writers on different questions (code: {root}):\n"
            f"  saves {stats['saves']}, refused (409) {stats['refused']} ({refused_share:.1%}), "
            f"reloads {stats['reloads']}, 5xx {stats['5xx']}, "
            + "".join(f"{k} {v}, " for k, v in stats.items() if k.startswith("other"))
            + f"answers checked {saved}, lost {lost}"
        )
    finally:
        if server:
            server.terminate()
            server.wait()
        drop()
        shutil.rmtree(workdir, ignore_errors=True)


def stored_answers(python, root, env, submissions):
    code = f"""
import json
from agencyapp import create_app
from agencyapp.extensions import db
from agencyapp.models import Answer, ChecklistQuestion
app = create_app()
with app.app_context():
    rows = db.session.execute(db.select(Answer.submission_id, ChecklistQuestion.number, Answer.value)
        .join(ChecklistQuestion, ChecklistQuestion.id == Answer.question_id)
        .where(Answer.submission_id.in_({submissions!r})))
    print(json.dumps({{f"{{s}}-{{n}}": v for s, n, v in rows}}))
"""
    done = subprocess.run([python, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
