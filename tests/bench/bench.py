"""make bench: the main pages of every role, the autosave and the exports, under gunicorn, at a chosen scale.

Run through tests/bench/run.sh (``make bench SCALE=2000x10 DB=postgres``); docs/performance.md says what
it measures and the budgets. Settings come from the environment:

SCALE     units x years for ``flask seed-scale`` (default 50x2); ``demo`` seeds ``flask seed-demo`` instead,
          which is also used while seed-scale does not exist
DB        sqlite (default) or postgres
DURATION  how long wrk loads each page (default 5s)
FRESH=1   seed again even when the cached database exists
STRICT=1  exit 1 when a budget fails
ONLY      a quicker look at some rows while working on them: comma-separated parts of page names, plus
          ``autosave`` and ``exports`` (e.g. ONLY="self-check,review page,autosave"); a partial run is not
          a result for docs/performance.md
PORT, BENCH_DIR (instance/bench), PG_URL (postgresql+psycopg://postgres@127.0.0.1:5432), GUNICORN_TIMEOUT (120)

The seeded database is cached per schema revision (the alembic head) and scale: SQLite in
BENCH_DIR/bench-<scale>-<rev>.sqlite3, PostgreSQL as the database bench_<scale>_<rev>. It is seeded under
another name and renamed only once the seed succeeded, so a failed seed is never reused. Each run works
on a copy of it (a file copy, or CREATE DATABASE ... TEMPLATE), so runs start from the same data.
"""

import http.client
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
LUA = Path(__file__).resolve().parent / "autosave.lua"
PASSWORD = "demo-pass-2026"
USER_AGENT = "agencyapp-bench/1"  # the same for curl, wrk and this script: sessions are bound to it
COOKIE = "agencyapp_session"
SQL_HEADER = "X-SQL-Statements"
HEALTHZ_EVERY = 6  # pages between two runs of /healthz
NOT_FOUND = "none on the page (nothing to measure)"
OPTIONAL = {"agency improvement point", "agency hearing"}  # the demo data may have neither

# Budgets (docs/performance.md).
PAGE_RATIO = 0.05
SELFCHECK_RATIO = 0.1
AUTOSAVE_RATIO = 0.2
AUTOSAVE_SQL = 6
AUTOSAVE_RUNS = 3
XLSX_SECONDS = 20
WORKER_MB = 300


def setting(name, default):
    return os.environ.get(name) or default


SCALE = setting("SCALE", "50x2")
DB = setting("DB", "sqlite")
DURATION = setting("DURATION", "5s")
PORT = int(setting("PORT", "8765"))
BENCH_DIR = Path(setting("BENCH_DIR", str(ROOT / "instance" / "bench")))
PG_URL = setting("PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432").rstrip("/")
GUNICORN_TIMEOUT = setting("GUNICORN_TIMEOUT", "120")
FRESH = os.environ.get("FRESH") == "1"
STRICT = os.environ.get("STRICT") == "1"
ONLY = [part.strip() for part in os.environ.get("ONLY", "").split(",") if part.strip()]


def wanted(name):
    return not ONLY or any(part in name for part in ONLY)


BASE = f"http://127.0.0.1:{PORT}"


def say(message):
    print(message, flush=True)


def fail(message):
    say(f"bench: {message}")
    sys.exit(2)


# --- the database: seeded once per revision and scale, copied for each run -------------------------------


def head_revision():
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory(str(ROOT / "migrations")).get_heads()
    if len(heads) != 1:
        fail(f"migrations/versions has {len(heads)} heads ({', '.join(heads)}); expected one")
    return heads[0]


def flask(*args, url, log):
    env = {**os.environ, "AGENCYAPP_ENV": "development", "AGENCYAPP_DATABASE_URL": url}
    env.pop("AGENCYAPP_SQL_COUNT_HEADER", None)
    with open(log, "a") as out:
        out.write(f"$ flask --app wsgi {' '.join(args)}\n")
        out.flush()
        done = subprocess.run([VENV_BIN / "flask", "--app", "wsgi", *args], cwd=ROOT, env=env, stdout=out, stderr=out)
    return done.returncode == 0


def has_seed_scale():
    env = {**os.environ, "AGENCYAPP_ENV": "development"}
    done = subprocess.run(
        [VENV_BIN / "flask", "--app", "wsgi", "seed-scale", "--help"], cwd=ROOT, env=env, capture_output=True
    )
    return done.returncode == 0


def seed_commands(label):
    if label == "demo":
        return [("seed-demo",)]
    units, years = label.split("x")
    return [("seed-scale", "--units", units, "--years", years, "--fresh")]


def seed(url, label, log):
    """Upgrade and seed the database at ``url``; True when every step succeeded."""
    log.write_text("")
    started = time.monotonic()
    say(f"seeding {label} into {url} (log: {log}) ...")
    for command in [("db", "upgrade"), *seed_commands(label)]:
        if not flask(*command, url=url, log=log):
            tail = "\n".join(log.read_text().splitlines()[-15:])
            say(f"seeding failed at `flask {' '.join(command)}`:\n{tail}")
            return False
    say(f"seeded in {time.monotonic() - started:.0f} s")
    return True


class SQLiteDatabase:
    def __init__(self, label, rev):
        self.cached = BENCH_DIR / f"bench-{label}-{rev}.sqlite3"
        self.run_file = BENCH_DIR / f"run-{os.getpid()}.sqlite3"
        self.label = label

    def ensure_seeded(self):
        if self.cached.exists() and not FRESH:
            say(f"using the cached {self.cached}")
            return
        partial = self.cached.with_name(self.cached.name + f".partial-{os.getpid()}")
        try:
            if not seed("sqlite:///" + str(partial), self.label, BENCH_DIR / f"seed-{self.label}-sqlite.log"):
                fail("the seed failed; nothing was cached")
            with sqlite3.connect(partial) as conn:  # one self-contained file: no -wal left beside it
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.execute("PRAGMA journal_mode=DELETE")
            conn.close()
        except BaseException:  # failed or interrupted: nothing half-seeded stays behind
            remove_sqlite(partial)
            raise
        remove_sqlite(self.cached)
        partial.rename(self.cached)  # the marker: the cached file exists only after a successful seed
        for old in BENCH_DIR.glob(f"bench-{self.label}-*.sqlite3"):  # earlier schema revisions: of no more use
            if old != self.cached:
                say(f"removing {old.name} (another schema revision)")
                remove_sqlite(old)

    def copy_for_run(self):
        remove_sqlite(self.run_file)
        source = sqlite3.connect(f"file:{self.cached}?mode=ro", uri=True)
        target = sqlite3.connect(self.run_file)
        source.backup(target)
        source.close()
        target.close()
        return "sqlite:///" + str(self.run_file)

    def drop_run_copy(self):
        remove_sqlite(self.run_file)

    def version(self):
        return f"SQLite {sqlite3.sqlite_version}"


def remove_sqlite(path):
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


class PostgresDatabase:
    def __init__(self, label, rev):
        self.name = safe_name(f"bench_{label}_{rev}")
        # Per process, so that two runs at once never drop each other's databases.
        self.seeding = safe_name(f"{self.name}_seeding{os.getpid()}")
        self.run_name = safe_name(f"{self.name}_run{os.getpid()}")
        self.label = label

    def admin(self):
        import psycopg

        try:
            return psycopg.connect(PG_URL.replace("+psycopg", "") + "/postgres", autocommit=True)
        except psycopg.OperationalError as exc:
            fail(f"PostgreSQL at {PG_URL} does not answer: {exc}")

    def exists(self, name):
        with self.admin() as conn:
            return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None

    def drop(self, name):
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{safe_name(name)}" WITH (FORCE)')

    def ensure_seeded(self):
        if self.exists(self.name) and not FRESH:
            say(f"using the cached database {self.name}")
            return
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{self.seeding}"')
        try:
            if not seed(f"{PG_URL}/{self.seeding}", self.label, BENCH_DIR / f"seed-{self.label}-postgres.log"):
                fail("the seed failed; nothing was cached")
            import psycopg

            # As autovacuum would have done by the time anyone looks: planner statistics, visibility map.
            with psycopg.connect(PG_URL.replace("+psycopg", "") + f"/{self.seeding}", autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")
        except BaseException:  # failed or interrupted: nothing half-seeded stays behind
            self.drop(self.seeding)
            raise
        self.drop(self.name)
        with self.admin() as conn:  # the marker: the database has its name only after a successful seed
            conn.execute(f'ALTER DATABASE "{self.seeding}" RENAME TO "{self.name}"')
            names = [row[0] for row in conn.execute("SELECT datname FROM pg_database")]
        for old in names:  # earlier schema revisions of this scale: of no more use
            if re.fullmatch(rf"bench_{self.label}_[0-9a-z]+", old) and old != self.name:
                say(f"dropping the database {old} (another schema revision)")
                self.drop(old)

    def copy_for_run(self):
        self.drop(self.run_name)
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{self.run_name}" TEMPLATE "{self.name}" STRATEGY FILE_COPY')
        return f"{PG_URL}/{self.run_name}"

    def drop_run_copy(self):
        self.drop(self.run_name)

    def version(self):
        with self.admin() as conn:
            return "PostgreSQL " + conn.execute("SHOW server_version").fetchone()[0]


def safe_name(name):
    """Only bench_ databases are ever created or dropped here (never `test`, which the suite uses)."""
    if not re.fullmatch(r"bench_[a-z0-9_]{1,57}", name) or name == "test":
        fail(f"refusing to touch the database {name!r}")
    return name


# --- HTTP: a signed-in user, as a browser with one cookie -------------------------------------------------


@dataclass
class Response:
    status: int
    headers: dict
    body: str

    @property
    def statements(self):
        return self.headers.get(SQL_HEADER.lower())


class User:
    def __init__(self, login_id):
        self.login_id = login_id
        self.cookie = ""
        self.token = None

    def request(self, method, path, form=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=600)
        sent = {"User-Agent": USER_AGENT, **(headers or {})}
        if self.cookie:
            sent["Cookie"] = f"{COOKIE}={self.cookie}"
        body = None
        if form is not None:
            body = urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=sent)
        raw = conn.getresponse()
        response = Response(
            raw.status, {k.lower(): v for k, v in raw.getheaders()}, raw.read().decode("utf-8", "replace")
        )
        for header, value in raw.getheaders():
            if header.lower() == "set-cookie":
                jar = SimpleCookie()
                jar.load(value)
                if COOKIE in jar:
                    self.cookie = jar[COOKIE].value
        conn.close()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken": "([^"]+)"', response.body)
        if token:
            self.token = token.group(1) or token.group(2)
        return response

    def get(self, path):
        return self.request("GET", path)

    def sign_in(self):
        self.get("/login")
        response = self.request(
            "POST", "/login", form={"csrf_token": self.token, "username": self.login_id, "password": PASSWORD}
        )
        where = response.headers.get("location", "")
        if response.status not in (302, 303) or "/login" in where or "/account/password" in where:
            fail(f"{self.login_id} could not sign in (HTTP {response.status}, to {where or 'nowhere'})")
        if self.get("/").status != 200:
            fail(f"{self.login_id} signed in but / does not answer 200")
        return self


def first(pattern, html):
    match = re.search(pattern, html)
    return match.group(1) if match else None


# --- wrk ------------------------------------------------------------------------------------------------


@dataclass
class Load:
    rps: float
    p50: float  # ms
    p99: float
    requests: int
    problems: list = field(default_factory=list)
    saves: int = 0


def ms(text):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000, "h": 3600000}[unit]


def wrk(path, user=None, threads=2, connections=4, script=None, args=()):
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{DURATION}", "--timeout", "60s", "--latency"]
    command += ["-H", f"User-Agent: {USER_AGENT}"]
    if user is not None:
        command += ["-H", f"Cookie: {COOKIE}={user.cookie}"]
    if script:
        command += ["-s", str(script)]
    command.append(BASE + path)
    if args:
        command += ["--", *args]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    problems = []
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        problems.append(f"{non_2xx.group(1)} non-2xx/3xx")
    errors = re.search(r"Socket errors: (.*)", out)
    if errors and re.search(r"timeout [1-9]", errors.group(1)):
        problems.append("socket " + errors.group(1).strip())
    saved = re.search(r"autosave: (\d+) saved, (\d+) refused", out)
    if saved and saved.group(2) != "0":
        problems.append(f"{saved.group(2)} saves refused")
    return Load(rps, p50, p99, requests, problems, int(saved.group(1)) if saved else 0)


# --- gunicorn --------------------------------------------------------------------------------------------


class Server:
    def __init__(self, url, log):
        env = {
            **os.environ,
            "AGENCYAPP_ENV": "development",
            "AGENCYAPP_SECRET_KEY": "bench-only",
            "AGENCYAPP_DATABASE_URL": url,
            "AGENCYAPP_SQL_COUNT_HEADER": "1",
            # The task queue of this run (the .xlsx export is made by its consumer), beside the bench data.
            "AGENCYAPP_TASKS_SQLITE": str(log.with_suffix(".tasks.sqlite3")),
            "PYTHONPATH": str(ROOT),  # huey_consumer imports this checkout's code, as gunicorn does
        }
        env.pop("AGENCYAPP_REDIS_URL", None)
        log.with_suffix(".tasks.sqlite3").unlink(missing_ok=True)
        with open(log.with_suffix(".consumer.log"), "w") as out:
            self.consumer = subprocess.Popen(
                [VENV_BIN / "huey_consumer", "agencyapp.tasks.huey", "-w", "1"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        command = [VENV_BIN / "gunicorn", "-w", "2", "-k", "sync", "--timeout", GUNICORN_TIMEOUT]
        command += ["-b", f"127.0.0.1:{PORT}", "wsgi:app"]
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
            fail(f"something already listens on port {PORT}: set PORT")
        except OSError:
            pass
        with open(log, "w") as out:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        for _ in range(150):
            if self.process.poll() is not None:
                fail(f"gunicorn exited:\n{log.read_text()[-2000:]}")
            try:
                if User("-").get("/healthz").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        fail(f"gunicorn did not answer /healthz on port {PORT}")

    def workers(self):
        """The gunicorn workers and the queue's consumer (which writes the .xlsx)."""
        pid = self.process.pid
        try:
            children = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            children = []
        return [*children, self.consumer.pid]

    def stop(self):
        if self.consumer.poll() is None:
            self.consumer.terminate()
            try:
                self.consumer.wait(30)
            except subprocess.TimeoutExpired:
                self.consumer.kill()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def rss_mb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class PeakRSS:
    """The largest resident set of any gunicorn worker while the block runs, sampled every 20 ms."""

    def __init__(self, server):
        self.server = server
        self.peak = 0.0
        self.stopped = threading.Event()

    def __enter__(self):
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while not self.stopped.is_set():
            for pid in self.server.workers():
                self.peak = max(self.peak, rss_mb(pid))
            self.stopped.wait(0.02)

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join()


# --- the run ---------------------------------------------------------------------------------------------


@dataclass
class Row:
    page: str
    path: str
    load: Load | None
    statements: str
    ratio: float | None = None
    note: str = ""


def discover(users):
    """The ids of the pages to measure, from the pages themselves (the first link of each kind)."""
    agency, center, ministry, admin = (users[k] for k in ("agency", "center", "ministry", "admin"))
    found = {}
    home = agency.get("/").body
    for sid in dict.fromkeys(re.findall(r'href="/submissions/(\d+)"', home)):
        if f'hx-post="/submissions/{sid}/answers/' in agency.get(f"/submissions/{sid}").body:
            found["selfcheck"] = sid  # the one being filled in (autosave fields on it)
            break
    found["point"] = first(r'href="/improvements/points/(\d+)"', agency.get("/improvements/").body)
    found["hearing"] = first(r'href="/hearings/(\d+)"', agency.get("/hearings/").body)
    found["review"] = first(r'href="/review/submissions/(\d+)"', center.get("/").body)
    found["center_unit"] = first(r'href="/oversight/units/(\d+)', center.get("/oversight/").body)
    found["ministry_unit"] = first(r'href="/oversight/units/(\d+)', ministry.get("/").body)
    found["user"] = first(r'href="/admin/users/(\d+)"', admin.get("/admin/users").body)
    reports = re.findall(r'href="/reports/\?cycle=(\d+)"', center.get("/cycles/").body)
    found["last_cycle"] = reports[1] if len(reports) > 1 else None  # newest first: last year's
    return found


def pages(ids):
    """(role, label, path) of every main page; None for a path whose id was not found."""

    def at(template, key):
        return template.format(ids[key]) if ids.get(key) else None

    return [
        ("agency", "agency home", "/"),
        ("agency", "self-check page", at("/submissions/{}", "selfcheck")),
        ("agency", "agency improvements", "/improvements/"),
        ("agency", "agency improvement point", at("/improvements/points/{}", "point")),
        ("agency", "agency notifications", "/notifications/"),
        ("agency", "agency hearings", "/hearings/"),
        ("agency", "agency hearing", at("/hearings/{}", "hearing")),
        ("center", "center home (review queue)", "/"),
        ("center", "center review page", at("/review/submissions/{}", "review")),
        ("center", "center improvements", "/improvements/"),
        ("center", "hearing candidates", "/hearings/candidates"),
        ("center", "hearings (season)", "/hearings/"),
        ("center", "center oversight", "/oversight/"),
        ("center", "center oversight unit", at("/oversight/units/{}", "center_unit")),
        ("center", "audit log", "/audit/"),
        ("center", "cycles", "/cycles/"),
        ("center", "center notifications", "/notifications/"),
        ("center", "checklist revisions", "/checklists/"),
        ("center", "question statistics", "/checklists/stats"),
        ("center", "question statistics (by drop)", "/checklists/stats?sort=trend&page=2"),
        ("center", "committee report", "/reports/"),
        ("center", "committee report (closed year)", at("/reports/?cycle={}", "last_cycle")),
        ("ministry", "ministry home", "/"),
        ("ministry", "ministry oversight", "/oversight/"),
        ("ministry", "ministry oversight unit", at("/oversight/units/{}", "ministry_unit")),
        ("ministry", "ministry improvements", "/improvements/"),
        ("ministry", "ministry committee report", "/reports/"),
        ("admin", "admin home", "/"),
        ("admin", "admin users", "/admin/users"),
        ("admin", "admin user", at("/admin/users/{}", "user")),
        ("admin", "admin organisations", "/admin/organisations/"),
        ("admin", "admin audit log", "/audit/"),
    ]


def trivial_row(label, loads):
    """/healthz as the base of the ratios: the median of its runs, and their spread (the machine's noise)."""
    rps = statistics.median(load.rps for load in loads)
    p50 = statistics.median(load.p50 for load in loads)
    p99 = statistics.median(load.p99 for load in loads)
    spread = f"median of {len(loads)} runs, {fmt(min(x.rps for x in loads))}–{fmt(max(x.rps for x in loads))} req/s"
    return Row(label, "/healthz", Load(rps, p50, p99, sum(x.requests for x in loads)), "1", 1.0, spread)


def measure_page(user, label, path):
    user.get(path)  # warm up, and a fresh cookie for wrk (the session's idle clock restarts)
    probe = user.get(path)
    if probe.status != 200:
        return Row(label, path, None, probe.statements or "", note=f"HTTP {probe.status}")
    load = wrk(path, user)
    after = user.get(path)
    if after.status != 200:
        load.problems.append(f"HTTP {after.status} afterwards (session lost?)")
    return Row(label, path, load, probe.statements or "?", note="; ".join(load.problems))


def choose_question(html):
    """An editable question that switches no other question, with two values to alternate between."""
    for chunk in html.split('<fieldset id="q-')[1:]:
        number = first(r"^(\d+)\"", chunk)
        if not number or "hx-post=" not in chunk.split(">", 1)[0] or f'id="q-{number}-controls"' in chunk:
            continue
        values = re.findall(rf'name="answer-{number}" value="(\d+)"', chunk)
        if len(values) >= 2:
            checked = first(rf'name="answer-{number}" value="(\d+)" checked', chunk)
            a = next(v for v in values if v != checked)
            b = next(v for v in values if v != a)
            return number, a, b
    return None


def measure_autosave(agency, sid):
    """Saves for the statement count, then saves one after the other under wrk (-t1 -c1)."""
    path = f"/submissions/{sid}"
    for _ in range(2):  # each worker: the checklist's structure is read once per process, not per save
        agency.get(path)
    page = agency.get(path)
    question = choose_question(page.body)
    if question is None:
        return Row("autosave (sequential)", path + "/answers/N", None, "", note="no editable question found"), []
    number, a, b = question
    lock = first(r'name="lock_version" value="(\d+)"', page.body)
    version = first(rf'name="version-{number}" value="(\d+)"', page.body) or "0"
    save_path = f"{path}/answers/{number}"
    for value in (a, b, a):  # the last one is counted; the ones before warm both workers
        form = {f"answer-{number}": value, f"note-{number}": "", f"version-{number}": version, "lock_version": lock}
        first_save = agency.request(
            "POST", save_path, form=form, headers={"X-CSRFToken": agency.token, "HX-Request": "true"}
        )
        lock = first(r'name="lock_version" value="(\d+)"', first_save.body)
        version = first(rf'name="version-{number}" value="(\d+)"', first_save.body) or version
        if first_save.status != 200 or lock is None:
            break
    if first_save.status != 200 or lock is None:
        return Row(
            "autosave (sequential)", save_path, None, first_save.statements or "", note=f"HTTP {first_save.status}"
        ), []
    # Three runs, each between two of /healthz: a single run of a sequential loop moved by a factor of 1.7
    # from one run to the next on this machine; the row is the median run, the base the median /healthz.
    loads, bases = [], [wrk("/healthz", threads=1, connections=1)]
    for _ in range(AUTOSAVE_RUNS):
        lock = current_lock(agency, path) or lock
        version = first(rf'name="version-{number}" value="(\d+)"', agency.get(path).body) or version
        loads.append(
            wrk(
                save_path,
                agency,
                threads=1,
                connections=1,
                script=LUA,
                args=(save_path, number, lock, b, a, agency.token, version),
            )
        )
        bases.append(wrk("/healthz", threads=1, connections=1))
    load = sorted(loads, key=lambda x: x.rps)[len(loads) // 2]
    saves = sum(x.saves for x in loads)
    spread = f"median of {len(loads)} runs, {fmt(min(x.rps for x in loads))}–{fmt(max(x.rps for x in loads))} req/s"
    note = "; ".join([spread, f"{saves} saves, each a change", *(p for x in loads for p in x.problems)])
    return Row("autosave (sequential)", "POST " + save_path, load, first_save.statements or "?", note=note), bases


def current_lock(user, path):
    """The lock version the page holds now (the previous run's saves moved it on)."""
    return first(r'name="lock_version" value="(\d+)"', user.get(path).body)


EXPORTS = [
    "/oversight/export.xlsx",
    "/oversight/export.csv?view=summary",
    "/oversight/export.csv?view=answers",
    "/oversight/export.csv?view=points",
    "/oversight/export.csv?view=hearings",
]


@dataclass
class Export:
    role: str
    path: str
    status: str
    seconds: float
    size: int
    before_mb: float
    peak_mb: float


QUEUED_EXPORTS = {"/oversight/export.xlsx": "/oversight/", "/audit/export.csv": "/audit/"}  # path: its page


def measure_job(server, user, role, path):
    """An export the queue makes: the time from the button to the file downloaded, polling its page."""
    user.get(QUEUED_EXPORTS[path])
    before = max((rss_mb(pid) for pid in server.workers()), default=0.0)
    started = time.monotonic()
    with PeakRSS(server) as rss:
        response = user.request("POST", path, form={"csrf_token": user.token})
        where = response.headers.get("location", "")
        status, size = str(response.status), 0
        if response.status == 303 and "/exports/" in where:
            job = urlsplit(where).path
            while time.monotonic() - started < 600:
                page = user.get(job).body
                link = first(r'href="(/exports/\d+/file)"', page)
                if link or "notice--error" in page:
                    break
                time.sleep(0.1)
            status = "failed"
            if link:
                done = user.get(link)
                status, size = str(done.status), len(done.body.encode("utf-8", "surrogateescape"))
                size = int(done.headers.get("content-length", size))
    return Export(role, path + " (queue)", status, time.monotonic() - started, size, before, rss.peak)


def measure_export(server, user, role, path):
    if path in QUEUED_EXPORTS:
        return measure_job(server, user, role, path)
    user.get("/")  # a fresh cookie
    command = [
        "curl",
        "-s",
        "-o",
        "/dev/null",
        "--max-time",
        "600",
        "-A",
        USER_AGENT,
        "-H",
        f"Cookie: {COOKIE}={user.cookie}",
    ]
    command += ["-w", "%{http_code} %{time_total} %{size_download}", BASE + path]
    before = max((rss_mb(pid) for pid in server.workers()), default=0.0)
    with PeakRSS(server) as rss:
        out = subprocess.run(command, capture_output=True, text=True).stdout.split()
    status, seconds, size = out if len(out) == 3 else ("000", "0", "0")
    return Export(role, path, status, float(seconds), int(size), before, rss.peak)


def fmt(number, digits=1):
    return f"{number:,.{digits}f}"


def page_table(rows):
    lines = ["| page | path | req/s | p50 | p99 | SQL | ratio | notes |", "|---|---|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        if row.load is None:
            lines.append(f"| {row.page} | `{row.path}` | – | – | – | {row.statements} | – | {row.note} |")
            continue
        ratio = "" if row.ratio is None else f"{row.ratio:.3f}"
        lines.append(
            f"| {row.page} | `{row.path}` | {fmt(row.load.rps)} | {fmt(row.load.p50)} ms | {fmt(row.load.p99)} ms "
            f"| {row.statements} | {ratio} | {row.note} |"
        )
    return lines


def export_table(exports):
    lines = [
        "| role | export | HTTP | seconds | size | worker RSS before | peak |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for e in exports:
        size = f"{e.size / 1e6:,.2f} MB" if e.size >= 100_000 else f"{e.size:,} B"
        rss = f"{e.before_mb:,.0f} MB | {e.peak_mb:,.0f} MB"
        lines.append(f"| {e.role} | `{e.path}` | {e.status} | {e.seconds:.2f} | {size} | {rss} |")
    return lines


def budgets(rows, autosave, exports):
    failed = []
    for row in rows:
        if row.page in OPTIONAL and row.note == NOT_FOUND:
            continue
        if row.load is None or row.note:
            failed.append(f"{row.page} `{row.path}`: {row.note}")
        if row.ratio is not None:
            limit = SELFCHECK_RATIO if row.page == "self-check page" else PAGE_RATIO
            if row.ratio < limit:
                failed.append(f"{row.page} `{row.path}`: ratio {row.ratio:.3f} < {limit}")
    if autosave.load is None:
        failed.append(f"autosave: {autosave.note}")
    else:
        if autosave.ratio < AUTOSAVE_RATIO:
            failed.append(f"autosave: sequential ratio {autosave.ratio:.3f} < {AUTOSAVE_RATIO}")
        if "refused" in autosave.note:
            failed.append(f"autosave: {autosave.note}")
    if autosave.statements.isdigit() and int(autosave.statements) > AUTOSAVE_SQL:
        failed.append(f"autosave: {autosave.statements} SQL statements > {AUTOSAVE_SQL}")
    for e in exports:
        name = f"{e.role} `{e.path}`"
        if e.status != "200":
            failed.append(f"export {name}: HTTP {e.status}")
        if ".xlsx" in e.path and e.seconds > XLSX_SECONDS:
            failed.append(f"export {name}: {e.seconds:.1f} s > {XLSX_SECONDS} s")
        if e.peak_mb > WORKER_MB:
            failed.append(f"export {name}: worker {e.peak_mb:.0f} MB > {WORKER_MB} MB")
    return failed


def machine(database, load_before):
    def output(*command):
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True).stdout.strip()

    memory = output("free", "-g").splitlines()[1].split()[1]
    wrk_version = output("wrk", "-v").split(" [")[0]
    commit = output("git", "rev-parse", "--short", "HEAD")
    if output("git", "status", "--porcelain", "--untracked-files=no"):
        commit += " with local changes"
    return (
        f"nproc {output('nproc')}, {memory} GB RAM (free -g), Python {platform.python_version()}, "
        f"{database.version()}, {wrk_version}, gunicorn -w 2 -k sync; "
        f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after; commit {commit}"
    )


def main():
    if DB not in ("sqlite", "postgres"):
        fail(f"DB must be sqlite or postgres, not {DB!r}")
    if not re.fullmatch(r"\d+x\d+|demo", SCALE):
        fail(f"SCALE must be UNITSxYEARS (e.g. 2000x10) or demo, not {SCALE!r}")
    if not shutil.which("wrk"):
        fail("wrk is missing: apt-get install -y wrk")
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    rev = head_revision()
    label = SCALE
    if label != "demo" and not has_seed_scale():
        say(f"`flask seed-scale` does not exist yet: seeding the demo data (seed-demo) instead of {SCALE}")
        label = "demo"
    database = (SQLiteDatabase if DB == "sqlite" else PostgresDatabase)(label, rev)
    database.ensure_seeded()
    say("copying the cached database for this run ...")
    url = database.copy_for_run()
    server = None
    try:
        server = Server(url, BENCH_DIR / f"gunicorn-{DB}.log")
        report = run(server, database, label, rev)
    finally:
        if server:
            server.stop()
        database.drop_run_copy()
    say(f"\nwritten to {report}")


def run(server, database, label, rev):
    load_before = os.getloadavg()[0]  # other work on the machine makes every figure noisy
    users = {role: User(f"demo-{role}").sign_in() for role in ("agency", "center", "ministry", "admin")}
    ids = discover(users)
    say(f"ids found on the pages: {ids}")
    say(f"wrk -t2 -c4 -d{DURATION} per page ...")
    trivial = [wrk("/healthz")]  # again after every few pages: the base is their median
    rows = []
    for number, (role, page, path) in enumerate(pages(ids), 1):
        if not wanted(page):
            continue
        if path is None:
            rows.append(Row(page, "(none found)", None, "", note=NOT_FOUND))
            continue
        row = measure_page(users[role], page, path)
        rows.append(row)
        say(f"  {page:30} {path:32} {fmt(row.load.rps) + ' req/s' if row.load else row.note}")
        if number % HEALTHZ_EVERY == 0:
            trivial.append(wrk("/healthz"))
    trivial.append(wrk("/healthz"))
    healthz = trivial_row("trivial route", trivial)
    for row in rows:
        if row.load:
            row.ratio = row.load.rps / healthz.load.rps

    say("sequential autosave and /healthz (wrk -t1 -c1) ...")
    autosave, sequential = None, []
    if ids.get("selfcheck") and wanted("autosave"):
        autosave, sequential = measure_autosave(users["agency"], ids["selfcheck"])
    if not sequential:
        sequential = [wrk("/healthz", threads=1, connections=1)]
    seq_base = trivial_row("trivial route (sequential)", sequential)
    if autosave is None:
        autosave = Row("autosave (sequential)", "–", None, "", note="no self-check being filled in")
    elif autosave.load:
        autosave.ratio = autosave.load.rps / seq_base.load.rps
    seq_rows = [seq_base, autosave]

    say("exports, one request each ...")
    exports = []
    for role, paths in (("center", [*EXPORTS, "/audit/export.csv", "/reports/report.xlsx"]), ("ministry", EXPORTS)):
        for path in paths if wanted("exports") else ():
            exports.append(measure_export(server, users[role], role, path))
            e = exports[-1]
            say(f"  {role:9} {path:40} HTTP {e.status} {e.seconds:6.2f} s {e.size:>12,} B {e.peak_mb:5.0f} MB")

    failed = budgets(rows, autosave, exports)
    stamp = datetime.now().strftime("%Y-%m-%d %H:%M")
    title = f"{'SQLite' if DB == 'sqlite' else 'PostgreSQL'}, {label} (schema {rev}), {stamp}"
    lines = [
        f"### {title}",
        "",
        f"Machine: {machine(database, load_before)}. wrk -t2 -c4 -d{DURATION} per page, on loopback.",
        "",
        *page_table([healthz, *rows]),
        "",
        "Sequential (wrk -t1 -c1), the autosave alternating one answer between two values:",
        "",
        *page_table(seq_rows),
        "",
        "Exports, one request each (curl), the largest gunicorn worker's resident set sampled during it:",
        "",
        *export_table(exports),
        "",
        "Budgets failed:" if failed else "Every budget holds.",
        "",
        *[f"- {line}" for line in failed],
    ]
    text = "\n".join(lines).rstrip() + "\n"
    say("\n" + text)
    results = BENCH_DIR / "results"
    results.mkdir(exist_ok=True)
    kind = "partial" if ONLY else "bench"  # tests/bench/report.py reads only whole runs
    report = results / f"{kind}-{DB}-{label}-{rev}-{datetime.now():%Y%m%d-%H%M%S}.md"
    report.write_text(text)
    if failed and STRICT:
        say(f"\nwritten to {report}")
        sys.exit(1)
    return report


if __name__ == "__main__":
    main()
