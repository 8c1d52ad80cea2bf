"""Realistic data at national scale, in bulk (development only): ``flask --app wsgi seed-scale``.

Ministries and their units, users, one cycle per fiscal year with every unit's self-check, the
answers and snapshots exactly as a submit freezes them (the same canonical document and SHA-256 from
``selfcheck.snapshot_document``, the scores and per 大分類 figures from ``scoring``), improvement
requests and points in every state, hearings, notifications, read logs and the operation history the
services would have written along the way (one ``answer.saved`` per autosave, logins, decisions).

Speed comes from writing rows, not objects: ids are assigned here, the rows go out in batches with
SQLAlchemy Core (``insert(table)`` with lists of dicts), and the big tables (answers, the history,
notifications, snapshots, figures, point events, read logs) are copied on PostgreSQL (psycopg's COPY)
and written with the driver's ``executemany`` on SQLite, on the session's own connection and
transaction. Their plain indexes (and, on PostgreSQL, their unique and foreign-key constraints) are
dropped for the load and built again at the end, each in one pass. Every account shares one argon2
hash of the demo password. Nothing here commits: the caller does, once. The same seed on the same day
gives the same data (``random.Random(seed)``, and everything dated before today began in Japan;
session tokens alone are random, being secrets).
"""

import json
import math
import random
import secrets
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, insert, inspect, literal, select, text

from agencyapp import passwords, priority, scoring
from agencyapp.checklists.conditions import applicability
from agencyapp.demo import (
    ACCOUNTS,
    APPROVERS,
    DEMO_PASSWORD,
    IMPORTANT_CATEGORY_TITLE,
    NATIONAL_CODE,
    ORGANISATIONS,
    PHRASES,
    REMINDER_PHRASES,
    import_shipped_checklists,
)
from agencyapp.extensions import db
from agencyapp.formatting import TOKYO, date_wareki, datetime_ja, fiscal_year_of
from agencyapp.lifecycles import HearingState, PointState, SubmissionState
from agencyapp.models import ChecklistVersion
from agencyapp.models.base import Base
from agencyapp.models.hearing import DEFAULT_DOCUMENTS, KIND_HEARING, KIND_LABELS, KIND_VISIT
from agencyapp.models.user import ADMIN, AGENCY, CENTER, MINISTRY, ROLE_LABELS
from agencyapp.services import DomainError, figure_cache
from agencyapp.services.checklists import load_structure
from agencyapp.services.selfcheck import snapshot_document

DEFAULT_SEED = 2026
CYCLE_TITLE = "住基ネットセキュリティ対策自己点検（国の行政機関等）"
CHECKLIST_TABLES = {"checklist_version", "checklist_section", "checklist_goal", "checklist_item", "checklist_question"}
ROOT_TABLES = {"ministry", "checklist_version"}  # records that refer to nothing


def record_tables():
    """The tables that hold records, in foreign-key order: the roots and every table that refers to another.

    A table with neither (a change counter, say) is bookkeeping another part keeps: left alone.
    """
    return [t for t in Base.metadata.sorted_tables if t.name in ROOT_TABLES or t.foreign_keys]


BATCH = 10_000  # rows per Core executemany
FLUSH_EVERY = 400  # submissions between writes (bounds memory)

# Written with COPY (PostgreSQL) or the driver's executemany (SQLite); rows are tuples in this order,
# timestamps as naive-UTC text, JSON as text. Checked against the schema before anything is written.
FAST_COLUMNS = {
    "answer": (
        "id",
        "submission_id",
        "question_id",
        "value",
        "note",
        "updated_by_id",
        "updated_at",
        "version",
        "carried",
    ),
    "audit_event": (
        "id",
        "at",
        "actor_id",
        "actor_login",
        "action",
        "object_type",
        "object_id",
        "summary",
        "before",
        "after",
        "ip",
    ),
    "notification": (
        "id",
        "user_id",
        "kind",
        "message",
        "link",
        "created_at",
        "read_at",
        "mail_state",
        "mail_attempts",
        "mail_error",
        "mail_base_url",
    ),
    "submission_figure": ("submission_id", "category_code", "answered", "points", "full"),
    "read_log": ("id", "submission_id", "user_id", "page", "at"),
    "submission_snapshot": (
        "id",
        "submission_id",
        "sequence",
        "content",
        "sha256",
        "scores",
        "created_at",
        "created_by_id",
    ),
    "point_event": ("id", "point_id", "kind", "body", "plan_due_on", "actor_id", "at"),
}

# Units per ministry: uneven, a few large ones (order of demo.ORGANISATIONS).
MINISTRY_WEIGHTS = {
    "mhlw": 30,
    "mofa": 5,
    "soumu": 18,
    "mof": 14,
    "mext": 11,
    "mlit": 10,
    "maff": 6,
    "moj": 6,
}
# The demo accounts of demo.ACCOUNTS (same names, roles and scopes): login id -> unit code for the agency ones.
# (The scale data has the two agency demo accounts whose units it shapes; the approval demo's pair is the demo's.)
DEMO_UNITS = {
    login: scope for login, _, role, scope in ACCOUNTS if role == AGENCY and login in ("demo-agency", "demo-agency2")
}
CENTER_STAFF = 20
ADMINS = 2


def _words(text):
    return tuple(text.split())


PREFS = _words(
    "北海道 青森 岩手 宮城 秋田 山形 福島 茨城 栃木 群馬 埼玉 千葉 東京 神奈川 新潟 富山 "
    "石川 福井 山梨 長野 岐阜 静岡 愛知 三重 滋賀 京都 大阪 兵庫 奈良 和歌山 鳥取 島根 "
    "岡山 広島 山口 徳島 香川 愛媛 高知 福岡 佐賀 長崎 熊本 大分 宮崎 鹿児島 沖縄"
)
BRANCHES = {
    "mhlw": [f"{p}労働局" for p in PREFS]
    + [f"{r}厚生局" for r in ("北海道", "東北", "関東信越", "東海北陸", "近畿", "中国四国", "九州")]
    + [f"日本年金機構 {p}事務センター" for p in PREFS],
    "mofa": ["領事局", "大臣官房", "国際協力局", "アジア大洋州局", "欧州局", "北米局", "中東アフリカ局"],
    "soumu": [
        f"{r}総合通信局" for r in ("北海道", "東北", "関東", "信越", "北陸", "東海", "近畿", "中国", "四国", "九州")
    ]
    + [f"{p}行政評価事務所" for p in PREFS]
    + [f"地方職員共済組合 {p}支部" for p in PREFS],
    "mof": [f"{r}財務局" for r in ("北海道", "東北", "関東", "北陸", "東海", "近畿", "中国", "四国", "九州", "福岡")]
    + [f"{p}財務事務所" for p in PREFS]
    + [f"財務省共済組合 {p}支部" for p in PREFS],
    "mext": ["高等教育局", "初等中等教育局", "総合教育政策局", "研究振興局", "スポーツ庁", "文化庁"]
    + [f"公立学校共済組合 {p}支部" for p in PREFS],
    "mlit": [f"{r}地方整備局" for r in ("北海道", "東北", "関東", "北陸", "中部", "近畿", "中国", "四国", "九州")]
    + [f"{p}運輸支局" for p in PREFS],
    "maff": [f"{r}農政局" for r in ("東北", "関東", "北陸", "東海", "近畿", "中国四国", "九州")]
    + [f"{p}拠点" for p in PREFS],
    "moj": [f"{p}法務局" for p in PREFS] + [f"{p}保護観察所" for p in PREFS],
}
SECTIONS = ("総務課", "業務課", "管理課", "調査課", "給付課", "審査課", "システム管理室", "情報管理室")
SURNAMES = _words(
    "佐藤 鈴木 高橋 田中 伊藤 渡辺 山本 中村 小林 加藤 吉田 山田 佐々木 山口 松本 井上 木村 林 斎藤 清水 "
    "山崎 森 池田 橋本 阿部 石川 山下 中島 石井 小川 前田 岡田 長谷川 藤田 後藤 近藤 村上 遠藤 青木 坂本"
)
GIVEN_NAMES = _words(
    "太郎 花子 一郎 次郎 美咲 健太 陽子 直樹 由美 翔太 恵 大輔 真由美 浩 愛 誠 明美 拓也 久美子 隆 "
    "彩 亮 智子 修 舞 淳 裕子 剛 綾 聡"
)
NOTES = (
    "規程は前年度に改正済み。",
    "手順書の改訂を予定している。",
    "一部の拠点で未実施のため、次年度に対応予定。",
    "委託先への確認は年1回実施している。",
    "記録簿は紙で保管している。",
    "担当者の異動に伴い引継ぎ中。",
    "研修は年2回実施している。",
    "入退室記録は1年間保管している。",
    "操作履歴は月次で点検している。",
    "統括課と調整のうえ、年度内に実施予定。",
)
FINDINGS = (
    "実施状況を確認できる記録が提出されていません",
    "規程の改正が済んでいません",
    "点検の結果が統括課に報告されていません",
    "委託先の確認が行われていません",
    "記録の保管期間が定められていません",
)
PLANS = (
    "関係規程を改正し、職員に周知する。",
    "記録簿の様式を定め、保管期間を1年とする。",
    "委託契約の更新時に再委託の制限・秘密保持・事故報告の条項を加える。",
    "年1回の点検を年間計画に組み込み、結果を統括課に報告する。",
    "操作者登録台帳を整備し、異動時の削除手順を定める。",
)
REPORTS = (
    "規程を改正し、全職員に周知した（改正規程の写しを提出）。",
    "記録簿の運用を開始し、保管期間を1年と定めた。",
    "委託契約を改定した（改定後の契約書の該当部分を提出）。",
    "点検を実施し、結果を統括課に報告した。",
)
POINT_RETURNS = (
    "完了報告に根拠となる資料の記載がありません。資料名を記載してください。",
    "完了予定日が年度を越えています。前倒しを検討してください。",
    "改善の内容が指摘事項に対応していません。再度ご確認ください。",
)
POINT_CLOSES = ("確認しました。", "改善を確認しました。引き続き適切な運用をお願いします。", "")
SUBMISSION_RETURNS = (
    "設問86の回答と委託先の管理の各設問の回答が整合していません。確認のうえ再提出してください。",
    "備考欄の記載と回答が一致していない設問があります。確認のうえ再提出してください。",
    "回答者情報に誤りがあります。修正のうえ再提出してください。",
)
ASSESSMENT_REASONS = (
    "提出された規程では実施状況を確認できないため。",
    "ヒアリングで一部未実施であることを確認したため。",
    "記録の保管が一部の拠点にとどまるため。",
)
REVIEW_NOTES = (
    "前年度の指摘事項の対応状況を次回ヒアリングで確認する。",
    "委託先の管理について統括課に状況を照会中。",
    "回答に揺れがあるため、担当者に電話で確認済み。",
)
HEARING_FINDINGS = (
    "操作者登録台帳が更新されておらず、異動者のIDが残っていた。",
    "入退室記録の保管期間が規程と異なっていた。",
    "委託先への立入確認が行われていなかった。",
    "操作履歴の点検結果が記録されていなかった。",
)
HEARING_MINUTES = (
    "規程・手順書及び各種記録を確認した。おおむね適切に運用されているが、所見のとおり改善を要する点がある。",
    "前年度の改善点の対応状況を確認し、委託先の管理について質疑を行った。",
)
CANCEL_REASONS = ("機関の業務の都合により今年度は見送るため。", "書面による確認で足りると判断したため。")


def _naive(moment):
    """A stored timestamp's text (naive UTC, microseconds), as SQLAlchemy writes it on SQLite."""
    return moment.isoformat(" ", "microseconds")


def _aware(moment):
    return None if moment is None else moment.replace(tzinfo=UTC)


def _js(value):
    """JSON text as the app's JSON columns store it (None becomes JSON null, as the ORM writes it)."""
    return json.dumps(value)


_TEXTS = {"": '""'}


def _js_text(value):
    """A string as json.dumps writes it (answer notes repeat: kept once)."""
    text = _TEXTS.get(value)
    if text is None:
        text = _TEXTS[value] = json.dumps(value)
    return text


def _copy_value(value):
    if value is None:
        return "\\N"
    if value.__class__ is str:
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
        return value
    return str(value)


def _copy_line(row):
    return "\t".join(map(_copy_value, row)) + "\n"


class _Writer:
    """Buffers rows per table and writes them in foreign-key order on the session's connection."""

    def __init__(self, session):
        self.session = session
        self.conn = session.connection()
        self.dialect = self.conn.dialect.name
        self.quote = self.conn.dialect.identifier_preparer.quote
        self.tables = Base.metadata.tables
        self.order = [t.name for t in Base.metadata.sorted_tables]
        self.records = [t.name for t in record_tables()]
        self.pending = defaultdict(list)
        self.counts = Counter()
        self.seconds = Counter()
        for name, columns in FAST_COLUMNS.items():
            if set(columns) != set(self.tables[name].c.keys()):
                raise RuntimeError(f"seed-scale: the columns of {name} changed; update FAST_COLUMNS")

    def add(self, table, row):
        self.pending[table].append(row)

    def flush(self):
        self.session.flush()  # the ORM's own rows first (imported checklists, their history)
        for name in self.order:
            rows = self.pending.pop(name, None)
            if rows:
                started = time.perf_counter()
                if name in FAST_COLUMNS:
                    self._fast(name, rows)
                else:
                    table = self.tables[name]
                    for start in range(0, len(rows), BATCH):
                        self.session.execute(insert(table), rows[start : start + BATCH])
                self.counts[name] += len(rows)
                self.seconds[name] += time.perf_counter() - started

    def _fast(self, name, rows):
        columns = ", ".join(self.quote(c) for c in FAST_COLUMNS[name])
        raw = self.conn.connection.dbapi_connection
        if self.dialect == "postgresql":
            with raw.cursor() as cursor, cursor.copy(f"COPY {self.quote(name)} ({columns}) FROM STDIN") as copy:
                for start in range(0, len(rows), 20_000):
                    copy.write("".join(map(_copy_line, rows[start : start + 20_000])))
        else:
            marks = ", ".join("?" * len(FAST_COLUMNS[name]))
            cursor = raw.cursor()
            try:
                cursor.executemany(f"INSERT INTO {self.quote(name)} ({columns}) VALUES ({marks})", rows)
            finally:
                cursor.close()

    # --- around the load ------------------------------------------------------------------------

    def unconstrain(self):
        """Drop what slows a bulk load of the big tables (their plain indexes; on PostgreSQL also their unique and
        foreign-key constraints, checked row by row by triggers); returns the statements that restore them."""
        q = self.quote
        inspector = inspect(self.conn)
        drops, indexes, uniques, keys = [], [], [], []
        for table in FAST_COLUMNS:
            for index in inspector.get_indexes(table):
                columns = index.get("column_names") or []
                if index.get("unique") or not columns or None in columns:
                    continue
                drops.append(f"DROP INDEX {q(index['name'])}")
                indexes.append(f"CREATE INDEX {q(index['name'])} ON {q(table)} ({', '.join(map(q, columns))})")
            if self.dialect != "postgresql":
                continue  # SQLite can drop neither; its checks are cheap
            for unique in inspector.get_unique_constraints(table):
                drops.insert(0, f"ALTER TABLE {q(table)} DROP CONSTRAINT {q(unique['name'])}")
                columns = ", ".join(map(q, unique["column_names"]))
                uniques.append(f"ALTER TABLE {q(table)} ADD CONSTRAINT {q(unique['name'])} UNIQUE ({columns})")
            for key in inspector.get_foreign_keys(table):
                drops.insert(0, f"ALTER TABLE {q(table)} DROP CONSTRAINT {q(key['name'])}")
                options = key.get("options") or {}
                rules = "".join(
                    f" ON {word} {options[name]}"
                    for name, word in (("ondelete", "DELETE"), ("onupdate", "UPDATE"))
                    if options.get(name)
                )
                keys.append(
                    f"ALTER TABLE {q(table)} ADD CONSTRAINT {q(key['name'])} FOREIGN KEY "
                    f"({', '.join(map(q, key['constrained_columns']))}) REFERENCES {q(key['referred_table'])} "
                    f"({', '.join(map(q, key['referred_columns']))}){rules}"
                )
        for statement in drops:
            self.session.execute(text(statement))
        return indexes + uniques + keys

    def restore(self, statements):
        """Build the indexes and constraints again, each in one pass over the loaded rows."""
        if self.dialect == "postgresql":
            self.session.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        for statement in statements:
            started = time.perf_counter()
            self.session.execute(text(statement))
            self.seconds["(indexes)"] += time.perf_counter() - started

    def empty_all(self):
        """--fresh: every table of records emptied (children first)."""
        if self.dialect == "postgresql":
            names = ", ".join(self.quote(t) for t in self.records)
            self.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY"))
        else:
            for name in reversed(self.records):
                self.session.execute(self.tables[name].delete())
        self.session.expire_all()

    def reset_sequences(self):
        """PostgreSQL: the app's own inserts continue after the ids assigned here."""
        if self.dialect != "postgresql":
            return
        for name in self.order:
            table = self.tables[name]
            if "id" not in table.c or not table.c.id.primary_key:
                continue
            self.session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {self.quote(name)}), 1), "
                    f"(SELECT MAX(id) FROM {self.quote(name)}) IS NOT NULL)"
                )
            )

    def analyze(self):
        self.session.execute(text("ANALYZE"))


class _Ids:
    """Next free id per table (ids are assigned here, so no RETURNING round trips)."""

    def __init__(self, session):
        self.next_id = {}
        for table in Base.metadata.sorted_tables:
            if "id" in table.c and table.c.id.primary_key:
                self.next_id[table.name] = (session.scalar(select(func.max(table.c.id))) or 0) + 1

    def __call__(self, table):
        value = self.next_id[table]
        self.next_id[table] = value + 1
        return value


@dataclass
class _Person:
    id: int
    login: str
    ip: str


@dataclass
class _Unit:
    id: int
    code: str
    name: str
    ministry_code: str
    quality: float  # chance of a 3 on an ordinary question
    zero: frozenset  # controlling questions this unit answers 0 (no dedicated room, no outsourcing …)
    contacts: list = field(default_factory=list)
    staff: list = field(default_factory=list)  # the center staff who review this ministry
    ministry_users: list = field(default_factory=list)


@dataclass
class _Cycle:
    id: int
    fiscal_year: int
    index: int  # 0 for the oldest year
    newest: bool
    opens: datetime
    due_on: date
    limit: datetime  # nothing of this cycle happens after it
    important: list
    important_questions: frozenset
    boosted: frozenset  # questions of this and earlier years' important goals
    earlier: frozenset = frozenset()  # questions of earlier years' important goals and not this year's


def existing_data(session=None):
    """The first table of records (other than the checklists, which are reused) that has rows, or None."""
    session = session or db.session
    for table in record_tables():
        if table.name in CHECKLIST_TABLES:
            continue
        if session.scalar(select(literal(1)).select_from(table).limit(1)) is not None:
            return table.name
    return None


def seed_scale(units, years, *, fresh=False, seed=DEFAULT_SEED, now=None, echo=None, analyze=True):
    """Create ``units`` units with ``years`` fiscal years of history up to the current one.

    Refuses (DomainError, nothing changed) when the database holds records and ``fresh`` is false; with
    ``fresh`` every table of records is emptied first. Does not commit. Returns {table: rows written}.
    """
    if units < 2 or years < 1:
        raise DomainError("機関は2以上、年数は1以上を指定してください。")
    session = db.session
    taken = existing_data(session)
    if taken and not fresh:
        raise DomainError(
            f"データベースに既にデータがあります（テーブル {taken} など）。"
            "大量データは空のデータベースにだけ作成します。"
            "既存のデータをすべて消してよい場合は --fresh を付けて実行してください（何も変更していません）。"
        )
    say = echo or (lambda _message: None)
    started = time.perf_counter()
    writer = _Writer(session)
    pragma = None
    if writer.dialect == "sqlite":
        pragma = session.execute(text("PRAGMA cache_size")).scalar()
        session.execute(text("PRAGMA cache_size = -1000000"))  # ~1 GB of page cache while loading
    restore = writer.unconstrain()
    if fresh and taken:
        writer.empty_all()
        say(f"既存のデータを削除しました（{time.perf_counter() - started:.1f}秒）")
    seeder = _Seeder(session, writer, random.Random(seed), now or datetime.now(UTC), say, started)
    seeder.run(units, years)
    say(f"索引と制約を作り直しています（{len(restore)}件）…")
    writer.restore(restore)
    writer.reset_sequences()
    figure_cache.bump()  # a server left running recomputes its figures from the new data
    if analyze:
        writer.analyze()
    close_past_years(session, say)
    if pragma is not None:
        session.execute(text(f"PRAGMA cache_size = {int(pragma)}"))
    total = time.perf_counter() - started
    say("作成した行数:")
    for name in writer.order:
        if writer.counts[name]:
            say(f"  {name:24s} {writer.counts[name]:>12,}  ({writer.seconds[name]:.1f}秒)")
    say(f"  {'(indexes, constraints)':24s} {'':>12}  ({writer.seconds['(indexes)']:.1f}秒)")
    say(f"合計 {sum(writer.counts.values()):,} 行、{total:.1f}秒")
    return dict(writer.counts)


def close_past_years(session, say):
    """Close every fiscal year but the newest, oldest first, as the center would have at each year's end:
    late units recorded, open points carried into the next year, each year's report frozen."""
    from agencyapp.models import Cycle, User
    from agencyapp.services import year_end

    center = session.scalar(select(User).where(User.login_id == "demo-center"))
    cycles = session.scalars(select(Cycle).order_by(Cycle.fiscal_year, Cycle.id)).all()
    for cycle in cycles[:-1]:
        started = time.perf_counter()
        done = year_end.close(center, cycle)
        say(
            f"{cycle.fiscal_year}年度を締めました（遅延 {done.late}、繰越 {done.open_points}件、"
            f"{time.perf_counter() - started:.1f}秒）"
        )


class _Seeder:
    def __init__(self, session, writer, rng, now, say, started):
        self.session = session
        self.w = writer
        self.rng = rng
        # Everything happens before today began in Japan: the same seed on the same day gives the same data.
        self.today = now.astimezone(TOKYO).date()
        midnight = datetime(self.today.year, self.today.month, self.today.day, tzinfo=TOKYO)
        self.now = midnight.astimezone(UTC).replace(tzinfo=None)  # times are naive UTC inside
        self.say = say
        self.started = started
        self.ids = None

    # --- helpers ----------------------------------------------------------------------------------

    def office_time(self, day):
        """A moment in office hours (09:00–18:00 Japan time) on ``day``, moved off weekends; naive UTC."""
        while day.weekday() >= 5:
            day += timedelta(days=1)
        return datetime(day.year, day.month, day.day) + timedelta(seconds=self.rng.uniform(0, 9 * 3600))

    def later(self, moment, low_days, high_days, limit):
        """A moment ``low_days``–``high_days`` after ``moment`` (office hours), never after ``limit``."""
        day = (moment + timedelta(hours=9)).date() + timedelta(days=self.rng.randint(low_days, high_days))
        result = self.office_time(day) if high_days else moment
        if result <= moment:  # the same day, earlier: a little later instead
            result = moment + timedelta(minutes=self.rng.uniform(5, 90 if not high_days else 180))
        return min(result, max(limit, moment + timedelta(seconds=1)))

    def name(self):
        return f"{self.rng.choice(SURNAMES)} {self.rng.choice(GIVEN_NAMES)}"

    def audit(self, at, actor, action, object_type, object_id, summary, before=None, after=None):
        """One history row as ``services.audit.record`` writes it (``actor`` a _Person, or a login for the CLI)."""
        if isinstance(actor, _Person):
            actor_id, login, ip = actor.id, actor.login, actor.ip
        else:
            actor_id, login, ip = None, actor or "", ""
        self.w.add(
            "audit_event",
            (
                self.ids("audit_event"),
                _naive(at),
                actor_id,
                login,
                action,
                object_type,
                object_id,
                summary,
                _js(before),
                _js(after),
                ip,
            ),
        )

    def cancel_hearing(self, row, at, limit, staff, unit, h_id, label, link, source):
        """The center cancels a hearing from ``source`` with a reason, and tells the unit; returns when."""
        at = self.later(at, 1, 5, limit)
        cancel = self.rng.choice(CANCEL_REASONS)
        row["cancel_reason"] = cancel
        self.transition(
            at,
            staff,
            "hearing.cancelled",
            "hearing",
            h_id,
            f"{label}を中止しました",
            source,
            HearingState.CANCELLED,
            after={"reason": cancel},
        )
        self.notify(unit.contacts, at, "hearing_cancelled", f"{label}は中止になりました。理由：{cancel}", link)
        return at

    def transition(self, at, actor, action, object_type, object_id, summary, source, target, before=None, after=None):
        """A lifecycle step as ``workflow.apply`` records it: the state change first in before/after."""
        if source != target:
            before = {"status": str(source), **(before or {})}
            after = {"status": str(target), **(after or {})}
        self.audit(at, actor, action, object_type, object_id, summary, before, after)

    def notify(self, people, at, kind, message, link):
        seen = set()
        for person in people:
            if person.id in seen:
                continue
            seen.add(person.id)
            read_at = None
            age = (self.now - at).days
            if self.rng.random() < (0.97 if age > 30 else 0.6):
                read_at = _naive(min(at + timedelta(hours=self.rng.uniform(0.2, 96)), self.now))
            self.w.add(
                "notification",
                (self.ids("notification"), person.id, kind, message, link, _naive(at), read_at, "", 0, "", ""),
            )

    def session_of(self, person, start, end, idle=False):
        """A sign-in and sign-out around work done between ``start`` and ``end``."""
        if self.rng.random() < 0.02:
            self.audit(
                start - timedelta(seconds=40),
                person,
                "login.failure",
                "user",
                person.id,
                "パスワード誤りまたは無効なアカウント",
            )
        self.audit(start - timedelta(seconds=20), person, "login.success", "user", person.id, "ログイン")
        if idle:
            self.audit(
                end + timedelta(minutes=30), person, "logout", "user", person.id, "無操作時間の経過によるログアウト"
            )
        else:
            self.audit(
                end + timedelta(seconds=self.rng.uniform(30, 600)), person, "logout", "user", person.id, "ログアウト"
            )

    # --- the run ------------------------------------------------------------------------------------

    def run(self, unit_count, years):
        self.years = years
        import_shipped_checklists()
        self.session.flush()
        self.ids = _Ids(self.session)
        self.version = self.session.scalar(select(ChecklistVersion).where(ChecklistVersion.code == NATIONAL_CODE))
        self.structure = load_structure(self.version)
        self.questions = self.structure.questions
        self.numbers = [q.number for q in self.questions]
        self.scale = self.version.scale
        self.controllers = {c["question"] for q in self.questions for c in (q.conditions or ())}
        self.password_hash = passwords.hash_password(DEMO_PASSWORD)  # once: every account shares it
        self.organisations(unit_count)
        self.people()
        self.phrases()
        self.w.flush()
        current = fiscal_year_of(self.today)
        first = current - years + 1
        self.say(f"府省 {len(self.ministries)}、機関 {len(self.units)}、利用者 {self.w.counts['user_account']:,}")
        for index, fiscal_year in enumerate(range(first, current + 1)):
            self.cycle(fiscal_year, index, fiscal_year == current)

    def organisations(self, unit_count):
        rng = self.rng
        weights = [MINISTRY_WEIGHTS.get(code, 5) for code, _, _ in ORGANISATIONS]
        shares = [unit_count * w / sum(weights) for w in weights]
        counts = [int(s) for s in shares]
        for i in sorted(range(len(shares)), key=lambda i: shares[i] - counts[i], reverse=True)[
            : unit_count - sum(counts)
        ]:
            counts[i] += 1
        needed = {
            next(i for i, (m, _, _) in enumerate(ORGANISATIONS) if m == code.split("-")[0])
            for code in DEMO_UNITS.values()
        }
        for i in sorted(needed):  # the demo accounts' units exist whatever the size
            if counts[i] == 0:
                donor = max(range(len(counts)), key=lambda j: counts[j] - (j in needed))
                counts[donor] -= 1
                counts[i] += 1
        self.ministries = {}
        self.units = []
        at = self.office_time(self.today - timedelta(days=365 * (self.years + 2)))
        for position, ((m_code, m_name, named), count) in enumerate(zip(ORGANISATIONS, counts, strict=True)):
            m_id = self.ids("ministry")
            self.ministries[m_code] = {"id": m_id, "name": m_name, "units": []}
            self.w.add("ministry", {"id": m_id, "code": m_code, "name": m_name, "position": position})
            self.audit(
                at,
                "demo-seed",
                "organisation.ministry_added",
                "ministry",
                m_id,
                f"府省 {m_name} を追加しました",
                after={"code": m_code, "name": m_name},
            )
            rows = list(named[:count])
            names = {name for _, name, _ in rows}
            serial = 0
            while len(rows) < count:
                serial += 1
                branch = rng.choice(BRANCHES[m_code])
                name = f"{m_name} {branch} {rng.choice(SECTIONS)}"
                if name in names:
                    name = f"{name}（{serial}）"
                names.add(name)
                kind = "共済組合" if "共済" in branch else "法人" if "機構" in branch else "原局"
                rows.append((f"{m_code}-{serial:04d}", name, kind))
            for u_position, (u_code, u_name, kind) in enumerate(rows):
                u_id = self.ids("unit")
                self.w.add(
                    "unit",
                    {
                        "id": u_id,
                        "ministry_id": m_id,
                        "code": u_code,
                        "name": u_name,
                        "kind": kind,
                        "active": True,
                        "position": u_position,
                    },
                )
                self.audit(
                    at,
                    "demo-seed",
                    "organisation.unit_added",
                    "unit",
                    u_id,
                    f"機関 {u_name} を追加しました",
                    after={"code": u_code, "name": u_name, "ministry": m_code},
                )
                zero = frozenset(c for c in self.controllers if rng.random() < 0.12)
                unit = _Unit(u_id, u_code, u_name, m_code, min(0.96, max(0.45, rng.betavariate(8, 2.2))), zero)
                self.units.append(unit)
                self.ministries[m_code]["units"].append(unit)
        self.unit_by_code = {u.code: u for u in self.units}

    def user(self, login, display_name, role, *, unit=None, ministry=None, active=True, ip="", created=None):
        u_id = self.ids("user_account")
        created = created or self.office_time(
            self.today - timedelta(days=365 * (self.years + 1) + self.rng.randint(0, 300))
        )
        changed = self.office_time(self.today - timedelta(days=self.rng.randint(5, 400)))
        self.w.add(
            "user_account",
            {
                "id": u_id,
                "login_id": login,
                "display_name": display_name,
                "email": f"{login}@example.invalid",
                "role": role,
                "unit_id": unit.id if unit else None,
                "ministry_id": self.ministries[ministry]["id"] if ministry else None,
                "password_hash": self.password_hash,
                "password_changed_at": _aware(changed),
                "failed_login_count": 0,
                "locked_until": None,
                "last_login_at": _aware(self.now - timedelta(hours=self.rng.uniform(1, 24 * 20))) if active else None,
                "active": active,
                "must_change_password": False,
                "approver": login in APPROVERS,
                "session_token": secrets.token_urlsafe(32),  # a secret: never derived from the seed
                "created_at": _aware(created),
            },
        )
        demo = login.startswith("demo-")
        self.audit(
            created,
            "demo-seed" if demo else "cli",
            "user.created",
            "user",
            u_id,
            f"デモアカウント {login} を作成しました"
            if demo
            else f"アカウント {login}（{ROLE_LABELS[role]}）を作成しました",
            after=None if demo else {"role": role},
        )
        return _Person(
            u_id, login, ip or f"10.{self.rng.randint(1, 250)}.{self.rng.randint(0, 255)}.{self.rng.randint(1, 254)}"
        )

    def people(self):
        rng = self.rng
        demo = {}
        for login, display_name, role, scope in ACCOUNTS:
            if role == AGENCY and login not in DEMO_UNITS:
                continue
            unit = self.unit_by_code[scope] if role == AGENCY else None
            demo[login] = self.user(login, display_name, role, unit=unit, ministry=scope if role == MINISTRY else None)
        self.demo = demo
        self.center = [demo["demo-center"]] + [
            self.user(f"center-{i:02d}", self.name(), CENTER) for i in range(1, CENTER_STAFF + 1)
        ]
        self.admins = [demo["demo-admin"]] + [
            self.user(f"admin-{i:02d}", self.name(), ADMIN) for i in range(1, ADMINS + 1)
        ]
        for m_code, ministry in self.ministries.items():
            users = [demo["demo-ministry"]] if m_code == "mhlw" else []
            for i in range(1, rng.randint(1, 2) + 1):
                users.append(self.user(f"ministry-{m_code}-{i}", self.name(), MINISTRY, ministry=m_code))
            ministry["users"] = users
            staff = rng.sample(self.center, 3)
            for unit in ministry["units"]:
                unit.ministry_users = users
                unit.staff = staff
        for unit in self.units:
            contacts = [demo[login] for login, code in DEMO_UNITS.items() if code == unit.code]
            for i in range(1, rng.choice((1, 1, 2, 2, 2, 3)) + 1):
                active = i == 1 or rng.random() > 0.05  # now and then a former contact, moved on (inactive)
                person = self.user(f"agency-{unit.code}-{i}", self.name(), AGENCY, unit=unit, active=active)
                if active:
                    contacts.append(person)
            unit.contacts = contacts

    def phrases(self):
        for kind, title, body in [("finding", *p) for p in PHRASES] + [("reminder", *p) for p in REMINDER_PHRASES]:
            self.w.add(
                "phrase",
                {
                    "id": self.ids("phrase"),
                    "title": title,
                    "body": body,
                    "kind": kind,
                    "active": True,
                    "updated_by_id": self.demo["demo-center"].id,
                    "updated_at": _aware(self.now - timedelta(days=30)),
                },
            )

    # --- one fiscal year -------------------------------------------------------------------------------

    def important_goals(self, index, newest):
        """The newest year's 重要点検項目 is 委託先の管理 (as the demo's); earlier years rotate through others."""
        titles = [
            IMPORTANT_CATEGORY_TITLE,
            "アクセス管理",
            "本人確認情報の管理",
            "教育・研修",
            "入退室管理",
            "情報資産管理",
        ]
        title = titles[0] if newest else titles[1 + (index % (len(titles) - 1))]
        node = next(c for c in self.structure.categories if title in c.section.title)
        return title, sorted({q.goal_number for q in node.all_questions()})

    def cycle(self, fiscal_year, index, newest):
        started = time.perf_counter()
        before = Counter(self.w.counts)
        label, goals = self.important_goals(index, newest)
        opens_on = date(fiscal_year, 10, 1)
        due_on = date(fiscal_year + 1, 1, 31)
        while due_on.weekday() != 4:  # the last Friday of January
            due_on -= timedelta(days=1)
        if newest:
            opens_on = min(opens_on, self.today - timedelta(days=45))
            due_on = max(due_on, self.today + timedelta(days=30))
        c_id = self.ids("cycle")
        created = self.office_time(opens_on - timedelta(days=14))
        self.w.add(
            "cycle",
            {
                "id": c_id,
                "fiscal_year": fiscal_year,
                "version_id": self.version.id,
                "title": CYCLE_TITLE,
                "opens_on": opens_on,
                "due_on": due_on,
                "important_label": label,
                "created_at": _aware(created),
                "status": "open",
                "closed_at": None,
                "closed_by_id": None,
            },
        )
        goal_ids = {g.number: g.id for g in (n.goal for n in self.structure.goals_by_number.values())}
        for number in goals:
            self.w.add("cycle_important_goal", {"cycle_id": c_id, "goal_id": goal_ids[number]})
        self.transition(
            created,
            self.demo["demo-center"],
            "cycle.opened",
            "cycle",
            c_id,
            f"{CYCLE_TITLE} を開始しました（対象 {len(self.units)} 機関）",
            None,
            None,
            after={
                "fiscal_year": fiscal_year,
                "version": self.version.code,
                "due_on": due_on.isoformat(),
                "important_goals": sorted(goals),
            },
        )
        previous = getattr(self, "boosted", frozenset())
        important_questions = frozenset(q.number for q in self.questions if q.goal_number in set(goals))
        self.boosted = previous | important_questions
        cyc = _Cycle(
            c_id,
            fiscal_year,
            index,
            newest,
            self.office_time(opens_on),
            due_on,
            self.now - timedelta(hours=1) if newest else self.now - timedelta(days=1),
            goals,
            important_questions,
            self.boosted,
            previous - important_questions,
        )
        statuses = self.statuses(newest)
        hearing_units = self.hearing_units()
        for i, unit in enumerate(self.units):
            self.submission(cyc, unit, statuses[unit.code], unit.id in hearing_units)
            if (i + 1) % FLUSH_EVERY == 0:
                self.w.flush()
        self.staff_sessions(cyc)
        self.w.flush()
        made = self.w.counts - before
        self.say(
            f"{fiscal_year}年度: 自己点検 {made['submission']:,}、回答 {made['answer']:,}、"
            f"改善点 {made['improvement_point']:,}、ヒアリング {made['hearing']:,}、"
            f"通知 {made['notification']:,}、操作履歴 {made['audit_event']:,}"
            f"（{time.perf_counter() - started:.1f}秒、累計 {time.perf_counter() - self.started:.1f}秒）"
        )

    def statuses(self, newest):
        """Each unit's final state this year: nearly all accepted in past years, a mix in the newest."""
        rng, S = self.rng, SubmissionState
        result = {}
        demo_codes = set(DEMO_UNITS.values())
        if not newest:
            for unit in self.units:
                roll = rng.random()
                result[unit.code] = (
                    S.ACCEPTED
                    if unit.code in demo_codes or roll < 0.955
                    else S.SUBMITTED
                    if roll < 0.97
                    else S.RETURNED
                    if roll < 0.98
                    else S.DRAFT
                    if roll < 0.993
                    else S.NOT_STARTED
                )
            return result
        others = [u for u in self.units if u.code not in demo_codes]
        rng.shuffle(others)
        mix = [(S.NOT_STARTED, 0.15), (S.DRAFT, 0.35), (S.SUBMITTED, 0.25), (S.ACCEPTED, 0.20), (S.RETURNED, 0.05)]
        quota = [
            max(1, round(share * len(others))) if share >= 0.15 else round(share * len(others)) for _, share in mix
        ]
        position = 0
        for (state, _), count in zip(mix, quota, strict=True):
            for unit in others[position : position + count]:
                result[unit.code] = state
            position += count
        for unit in others[position:]:
            result[unit.code] = S.DRAFT
        result[DEMO_UNITS["demo-agency"]] = S.DRAFT  # in progress: autosave works for the demo
        result[DEMO_UNITS["demo-agency2"]] = S.ACCEPTED  # done, with improvement points in every state
        return result

    def hearing_units(self):
        """About 3 % of units a year, the weaker ones more likely."""
        count = min(len(self.units), max(1, round(0.03 * len(self.units))))
        weights = [1.2 - u.quality for u in self.units]
        chosen = set()
        while len(chosen) < count:
            chosen.add(self.rng.choices(self.units, weights)[0].id)
        return chosen

    # --- one unit's self-check in one year ---------------------------------------------------------

    def values(self, unit, cyc):
        """A full set of answers: mostly 3 and 2, a few 1 and 0; important items closer to 3."""
        rng = self.rng.random
        base = min(0.97, unit.quality + 0.012 * cyc.index)
        boosted = base + (1 - base) * 0.7
        values = {}
        for q in self.questions:
            n = q.number
            if n in self.controllers:
                values[n] = 0 if n in unit.zero and 0 in q.allowed_values else (3 if rng() < 0.85 else 2)
                continue
            p = boosted if n in cyc.boosted else base
            roll = rng()
            value = 3 if roll < p else 2 if roll < p + (1 - p) * 0.75 else 1
            if q.allow_zero and rng() < 0.05:
                value = 0
            values[n] = value if value in q.allowed_values else max(q.allowed_values)
        return values

    def next_position(self):
        self.position += 1
        return self.position

    def submission(self, cyc, unit, status, heard):
        rng, S = self.rng, SubmissionState
        s_id = self.ids("submission")
        self.position = 0  # the submission's improvement points are numbered from 1
        forced = cyc.newest and unit.code == DEMO_UNITS["demo-agency2"]
        carried = (
            not cyc.newest
            and cyc.fiscal_year == fiscal_year_of(self.today) - 1
            and unit.code == DEMO_UNITS["demo-agency"]
        )
        row = {
            "id": s_id,
            "cycle_id": cyc.id,
            "unit_id": unit.id,
            "status": str(status),
            "lock_version": 1,
            "submitted_at": None,
            "submitted_by_id": None,
            "updated_at": _aware(cyc.opens - timedelta(days=14)),
            "score_mean": None,
            "score_full_rate": None,
            "important_met": None,
            "important_below": None,
            "earlier_met": None,
            "earlier_below": None,
            "late_at_close": None,
            "reviewed_at": None,
            "reviewed_by_id": None,
            "return_reason": "",
            "carried_from_id": None,
        }
        self.w.add("submission", row)
        frozen_states = (S.SUBMITTED, S.ACCEPTED, S.RETURNED)
        if status is S.NOT_STARTED:
            if heard:
                self.hearing(cyc, unit, s_id, None, None)
            return
        full = self.values(unit, cyc)
        applies_full = applicability(self.questions, full)
        applicable = [q for q in self.questions if applies_full[q.number]]
        if status in frozen_states:
            answered = applicable
        else:
            share = 0.4 if unit.code == DEMO_UNITS["demo-agency"] else rng.uniform(0.1, 0.9)
            answered = applicable[: max(1, int(len(applicable) * share))]
        values = {q.number: full[q.number] for q in answered}
        notes = {}
        for q in answered:
            if rng.random() < (0.02 if values[q.number] == 3 else 0.12):
                notes[q.number] = rng.choice(NOTES)
        # When it happens: started after the cycle opens, submitted by the due date (a few late).
        span = max(
            1.0, ((min(datetime(cyc.due_on.year, cyc.due_on.month, cyc.due_on.day), cyc.limit) - cyc.opens).days)
        )
        begin = cyc.opens + timedelta(days=rng.uniform(0, span * 0.5))
        if forced:
            begin = cyc.opens
        deadline = datetime(cyc.due_on.year, cyc.due_on.month, cyc.due_on.day, 9)
        if not cyc.newest and rng.random() < 0.05:
            deadline += timedelta(days=rng.randint(1, 20))  # late
        end = min(deadline, cyc.limit - timedelta(hours=2))
        if forced:
            end = cyc.opens + timedelta(days=1)
        if begin >= end:
            begin = max(cyc.opens, end - timedelta(days=2))
        lock = 1
        resubmitted = status in (S.SUBMITTED, S.ACCEPTED) and not forced and rng.random() < 0.03
        first_values = dict(values)
        if resubmitted:
            changeable = [q for q in answered if q.number not in self.controllers and len(q.allowed_values) > 1]
            for q in rng.sample(changeable, min(len(changeable), rng.randint(1, 3))):
                first_values[q.number] = rng.choice([v for v in q.allowed_values if v != values[q.number]])
        saves = [(q.number, first_values[q.number], notes.get(q.number, "")) for q in answered]
        # A few answers were first saved with another value and corrected later in the same pass.
        corrections = {
            i
            for i, (n, _value, _note) in enumerate(saves)
            if n not in self.controllers and len(self.structure.by_number[n].allowed_values) > 1 and rng.random() < 0.04
        }
        contacts = unit.contacts
        touched = {}  # number -> (value, note, at, by)
        work_end = end - timedelta(hours=1) if status in frozen_states else end
        events = self.save_sessions(s_id, contacts, saves, corrections, begin, work_end, touched, S.NOT_STARTED)
        lock += events
        last = max((t for _, _, t, _ in touched.values()), default=begin)
        snapshots = []
        if status in frozen_states:
            submit_at = self.later(last, 0, 0, cyc.limit)
            submitter = max(touched.values(), key=lambda e: e[2])[3]
            seq = 1
            snapshots.append(self.freeze(cyc, unit, s_id, seq, submit_at, submitter, first_values, notes))
            lock += 1
            last_submit, last_submitter = submit_at, submitter
            reviewer = rng.choice(unit.staff)
            if resubmitted:
                returned_at = self.later(submit_at, 1, 6, cyc.limit)
                reason = rng.choice(SUBMISSION_RETURNS)
                self.decide(cyc, unit, s_id, returned_at, reviewer, "return", reason)
                lock += 1
                fixes = [(n, values[n], notes.get(n, "")) for n in values if values[n] != first_values[n]]
                fix_at = self.later(returned_at, 1, 4, cyc.limit)
                lock += self.save_sessions(
                    s_id, contacts, fixes, [], fix_at, fix_at + timedelta(hours=1), touched, S.RETURNED
                )
                last = max(t for _, _, t, _ in touched.values())
                seq = 2
                last_submit = self.later(last, 0, 0, cyc.limit)
                last_submitter = max(touched.values(), key=lambda e: e[2])[3]
                snapshots.append(self.freeze(cyc, unit, s_id, seq, last_submit, last_submitter, values, notes))
                lock += 1
            scores = snapshots[-1]
            row.update(
                submitted_at=_aware(last_submit),
                submitted_by_id=last_submitter.id,
                updated_at=_aware(last_submit),
                score_mean=scores.overall.mean,
                score_full_rate=scores.overall.full_rate,
                important_met=scores.important_met,
                important_below=len(scores.important_failing),
                earlier_met=scores.earlier_met,
                earlier_below=len(scores.earlier_failing) if scores.earlier_met is not None else None,
            )
            for figure in scoring.figures(scores):
                self.w.add(
                    "submission_figure",
                    (s_id, figure["category_code"], figure["answered"], figure["points"], figure["full"]),
                )
            review_at = self.later(last_submit, 1, 12, cyc.limit) if not forced else last_submit + timedelta(days=2)
            self.read_logs(unit, s_id, last_submit, review_at, cyc.limit)
            if status is S.RETURNED:
                reason = rng.choice(SUBMISSION_RETURNS)
                self.decide(cyc, unit, s_id, review_at, reviewer, "return", reason)
                row.update(reviewed_at=_aware(review_at), reviewed_by_id=reviewer.id, return_reason=reason)
                lock += 1
            else:
                self.review_extras(s_id, reviewer, review_at, values)
                if status is S.ACCEPTED:
                    accepted_at = self.later(review_at, 0, 3, cyc.limit) if not forced else review_at
                    self.decide(cyc, unit, s_id, accepted_at, reviewer, "accept")
                    row.update(reviewed_at=_aware(accepted_at), reviewed_by_id=reviewer.id)
                    lock += 1
                self.points(cyc, unit, s_id, values, reviewer, review_at, forced=forced, carried=carried)
        elif touched:
            row["updated_at"] = _aware(last)
        if touched:
            for n, (value, note, at, by) in touched.items():
                self.w.add(
                    "answer",
                    (
                        self.ids("answer"),
                        s_id,
                        self.structure.by_number[n].id,
                        value,
                        note,
                        by.id,
                        _naive(at),
                        1,
                        False,
                    ),
                )
        row["lock_version"] = lock
        if heard:
            frozen = status in (S.SUBMITTED, S.ACCEPTED)
            self.hearing(cyc, unit, s_id, values if frozen else None, row["score_mean"])

    def save_sessions(self, s_id, contacts, saves, corrections, begin, end, touched, start_state):
        """Autosaves in a few sittings between ``begin`` and ``end``: one ``answer.saved`` per save."""
        rng = self.rng
        if not saves:
            return 0
        sittings = max(1, min(len(saves), rng.randint(1, 3) + len(saves) // rng.randint(35, 60)))
        span = max((end - begin).total_seconds() - 3 * 3600, 60.0)
        starts = sorted(begin + timedelta(seconds=rng.uniform(0, span)) for _ in range(sittings))
        per = math.ceil(len(saves) / sittings)
        state = start_state
        count = 0
        summary_of = self.save_summary
        for k, start in enumerate(starts):
            chunk = range(k * per, min(len(saves), (k + 1) * per))
            if not chunk:
                continue
            person = contacts[0] if rng.random() < 0.7 else rng.choice(contacts)
            at = start
            first_at = at
            for i in chunk:
                n, value, note = saves[i]
                at += timedelta(seconds=rng.uniform(15, 100))
                if i in corrections:
                    q = self.structure.by_number[n]
                    wrong = rng.choice([v for v in q.allowed_values if v != value])
                    count += self.save(s_id, person, at, n, wrong, note, touched, state, summary_of)
                    state = SubmissionState.DRAFT
                    at += timedelta(seconds=rng.uniform(5, 60))
                count += self.save(s_id, person, at, n, value, note, touched, state, summary_of)
                state = SubmissionState.DRAFT
            self.session_of(person, first_at, at, idle=rng.random() < 0.15)
        return count

    @property
    def save_summary(self):
        summaries = getattr(self, "_save_summaries", None)
        if summaries is None:
            summaries = self._save_summaries = {n: f"設問{n}の回答を保存しました" for n in self.numbers}
        return summaries

    def save(self, s_id, person, at, number, value, note, touched, state, summaries):
        """One autosave, recorded as ``selfcheck.save_answer`` records it."""
        old = touched.get(number)
        if old is not None and old[0] == value and old[1] == note:
            return 0
        if state is not SubmissionState.DRAFT:  # the first save of a new (or returned) self-check
            before = _js({"status": str(state), **({"value": old[0], "note": old[1]} if old else {})})
            after = _js({"status": "draft", "question": number, "value": value, "note": note})
        else:  # json.dumps's own output, formatted directly: millions of these
            before = "null" if old is None else f'{{"value": {old[0]}, "note": {_js_text(old[1])}}}'
            after = f'{{"question": {number}, "value": {value}, "note": {_js_text(note)}}}'
        self.w.add(
            "audit_event",
            (
                self.ids("audit_event"),
                _naive(at),
                person.id,
                person.login,
                "answer.saved",
                "submission",
                s_id,
                summaries[number],
                before,
                after,
                person.ip,
            ),
        )
        touched[number] = (value, note, at, person)
        return 1

    def freeze(self, cyc, unit, s_id, sequence, at, person, values, notes):
        """The snapshot exactly as ``selfcheck.freeze`` writes it; returns its scores."""
        applies = applicability(self.questions, values)
        scores = scoring.compute(self.questions, values, applies, self.scale, cyc.important, cyc.earlier)
        document = snapshot_document(
            submission_id=s_id,
            cycle_id=cyc.id,
            fiscal_year=cyc.fiscal_year,
            cycle_title=CYCLE_TITLE,
            unit_code=unit.code,
            unit_name=unit.name,
            checklist_code=self.version.code,
            checklist_sha256=self.version.source_sha256,
            submitted_at=_aware(at),
            submitted_by=person.login,
            question_numbers=self.numbers,
            values=values,
            notes=notes,
            applies=applies,
        )
        self.w.add(
            "submission_snapshot",
            (
                self.ids("submission_snapshot"),
                s_id,
                sequence,
                document.text,
                document.sha256,
                _js(scores.as_dict()),
                _naive(at),
                person.id,
            ),
        )
        self.transition(
            at,
            person,
            "submission.submitted",
            "submission",
            s_id,
            f"自己点検を提出しました（第{sequence}版）",
            SubmissionState.DRAFT,
            SubmissionState.SUBMITTED,
            after={"sha256": document.sha256, "sequence": sequence},
        )
        return scores

    def decide(self, cyc, unit, s_id, at, reviewer, step, reason=None):
        """The center's decision as ``review._decide`` records and announces it."""
        S = SubmissionState
        if step == "accept":
            self.transition(
                at,
                reviewer,
                "submission.accepted",
                "submission",
                s_id,
                "自己点検を確認済にしました",
                S.SUBMITTED,
                S.ACCEPTED,
            )
            kind, message = "submission_accepted", f"{CYCLE_TITLE}の自己点検がセンターで確認済となりました。"
        else:
            self.transition(
                at,
                reviewer,
                "submission.returned",
                "submission",
                s_id,
                "自己点検を差し戻しました",
                S.SUBMITTED,
                S.RETURNED,
                after={"reason": reason},
            )
            kind, message = "submission_returned", f"{CYCLE_TITLE}の自己点検が差し戻されました。理由：{reason}"
        self.notify(unit.contacts, at, kind, message, f"/submissions/{s_id}")

    def read_logs(self, unit, s_id, submitted, reviewed, limit):
        rng = self.rng
        for _ in range(rng.randint(1, 3)):
            at = min(submitted + (reviewed - submitted) * rng.random() + timedelta(minutes=1), limit)
            self.w.add("read_log", (self.ids("read_log"), s_id, rng.choice(unit.staff).id, "review", _naive(at)))
        for person in unit.ministry_users:
            if rng.random() < 0.5:
                at = min(self.later(submitted, 0, 30, limit), limit)
                self.w.add("read_log", (self.ids("read_log"), s_id, person.id, "oversight", _naive(at)))

    def review_extras(self, s_id, reviewer, at, values):
        """Now and then a center score that differs from the self-rating, and an internal memo."""
        rng = self.rng
        if rng.random() < 0.15:
            scored = [n for n, v in values.items() if v in (2, 3)]
            for n in rng.sample(scored, min(len(scored), rng.randint(1, 2))):
                value = values[n] - 1
                reason = rng.choice(ASSESSMENT_REASONS)
                self.w.add(
                    "center_assessment",
                    {
                        "id": self.ids("center_assessment"),
                        "submission_id": s_id,
                        "question_id": self.structure.by_number[n].id,
                        "value": value,
                        "reason": reason,
                        "assessed_by_id": reviewer.id,
                        "assessed_at": _aware(at),
                    },
                )
                self.audit(
                    at,
                    reviewer,
                    "assessment.saved",
                    "submission",
                    s_id,
                    f"設問{n}のセンター確認点を{value}としました",
                    after={"question": n, "value": value, "reason": reason},
                )
        if rng.random() < 0.1:
            body = rng.choice(REVIEW_NOTES)
            self.w.add(
                "review_note",
                {
                    "id": self.ids("review_note"),
                    "submission_id": s_id,
                    "body": body,
                    "author_id": reviewer.id,
                    "created_at": _aware(at),
                },
            )
            self.audit(
                at, reviewer, "review_note.added", "submission", s_id, "内部メモを追加しました", after={"body": body}
            )

    # --- improvement points ------------------------------------------------------------------------------

    def point_state(self, cyc, room_days):
        """The state a point has reached by now: open points pile up in the newest year."""
        rng, P = self.rng, PointState
        current = fiscal_year_of(self.today)
        if cyc.newest:
            if room_days < 7:
                return P.DRAFT if rng.random() < 0.5 else P.ISSUED
            table = ((P.DRAFT, 0.25), (P.ISSUED, 0.40), (P.ANSWERED, 0.20), (P.CLOSED, 0.15))
        elif cyc.fiscal_year == current - 1:
            table = ((P.ISSUED, 0.10), (P.ANSWERED, 0.08), (P.CLOSED, 0.82))
        else:
            table = ((P.ISSUED, 0.02), (P.ANSWERED, 0.02), (P.CLOSED, 0.96))
        roll = rng.random()
        for state, share in table:
            roll -= share
            if roll < 0:
                return state
        return table[-1][0]

    def points(self, cyc, unit, s_id, values, reviewer, review_at, *, forced=False, carried=False):
        """About 1.3 points per unit and year on low answers, issued as one request, each in its state."""
        rng, P = self.rng, PointState
        k = rng.choices((0, 1, 2, 3, 4), (0.38, 0.22, 0.18, 0.13, 0.09))[0]
        if forced:
            states = [P.DRAFT, P.ISSUED, P.ANSWERED, P.CLOSED]
        elif carried:
            states = [P.ISSUED]
        else:
            room = (cyc.limit - review_at).days
            states = [self.point_state(cyc, room) for _ in range(k)]
        if not states:
            return
        low = sorted(
            values,
            key=lambda n: (values[n] not in (1, 2), values[n] == 2, n not in cyc.important_questions, rng.random()),
        )
        low = [n for n in low if values[n] in (1, 2)] or [None]
        picks = [low[i] if i < len(low) else None for i in range(len(states))]
        suggested = []
        point_rows = []
        for number, state in zip(picks, states, strict=True):
            p_id = self.ids("improvement_point")
            question = self.structure.by_number.get(number) if number else None
            if question is not None and rng.random() < 0.65:
                value = values[number]
                label = self.version.scale_label(value)
                note = "（今年度の重要点検項目）" if number in cyc.important_questions else ""
                finding = f"設問{number}「{question.text}」の自己点検結果が「{value} {label}」です{note}。"
                action = f"「{question.text}」の措置を講じ、実施状況（規程・記録等）を報告してください。"
                source = "suggestion"
                suggested.append(p_id)
            else:
                subject = f"設問{number}について、" if number else "自己点検全体について、"
                finding = subject + rng.choice(FINDINGS) + "。"
                action = rng.choice(PHRASES)[1]
                source = "review"
                self.audit(
                    review_at,
                    reviewer,
                    "point.drafted",
                    "improvementpoint",
                    p_id,
                    f"改善点（下書き）を作成しました{f'（設問{number}）' if number else ''}",
                    after={"status": "draft", "finding": finding, "requested_action": action},
                )
            point_rows.append((p_id, question, state, finding, action, source))
        if suggested:
            self.audit(
                review_at,
                reviewer,
                "point.suggested",
                "submission",
                s_id,
                f"改善点の案を{len(suggested)}件作成しました（下書き）",
                after={"created": len(suggested)},
            )
        issued = [p for p in point_rows if p[2] is not P.DRAFT]
        request_id = issue_at = due_on = None
        if issued:
            issue_at = self.later(review_at, 0, 2, cyc.limit) if not forced else review_at + timedelta(hours=2)
            due_on = (issue_at + timedelta(hours=9)).date() + timedelta(days=14 if forced else rng.randint(30, 45))
            request_id = self.request(cyc, unit, s_id, reviewer, issue_at, due_on, [p[0] for p in issued])
        for p_id, question, state, finding, action, source in point_rows:
            self.point(
                cyc,
                unit,
                s_id,
                p_id,
                question,
                state,
                finding,
                action,
                source,
                reviewer,
                review_at,
                request_id,
                issue_at,
                due_on,
            )

    def request(self, cyc, unit, s_id, reviewer, at, due_on, point_ids):
        r_id = self.ids("improvement_request")
        self.w.add(
            "improvement_request",
            {
                "id": r_id,
                "submission_id": s_id,
                "due_on": due_on,
                "issued_at": _aware(at),
                "issued_by_id": reviewer.id,
                "message": "",
            },
        )
        self.audit(
            at,
            reviewer,
            "request.issued",
            "improvementrequest",
            r_id,
            f"改善依頼を発行しました（改善点{len(point_ids)}件、回答期限 {due_on.isoformat()}）",
            after={"points": point_ids, "due_on": due_on.isoformat()},
        )
        message = f"{CYCLE_TITLE}について改善依頼（{len(point_ids)}件、回答期限 {date_wareki(due_on)}）が届きました。"
        link = f"/improvements/requests/{r_id}"
        self.notify(unit.contacts, at, "request_issued", message, link)
        self.notify(unit.ministry_users, at, "request_issued", f"{unit.name}：{message}", link)
        return r_id

    def point(
        self,
        cyc,
        unit,
        s_id,
        p_id,
        question,
        state,
        finding,
        action,
        source,
        reviewer,
        created_at,
        request_id,
        issue_at,
        due_on,
    ):
        """A point's history up to ``state``: issued, answered (perhaps returned or withdrawn first), closed."""
        rng, P = self.rng, PointState
        limit = cyc.limit
        row = {
            "id": p_id,
            "submission_id": s_id,
            "question_id": question.id if question else None,
            "request_id": request_id if state is not P.DRAFT else None,
            "status": str(state),
            "position": self.next_position(),
            "finding": finding,
            "requested_action": action,
            "plan": "",
            "plan_due_on": None,
            "report": "",
            "center_comment": "",
            "source": source,
            "lock_version": 1,
            "created_by_id": reviewer.id,
            "created_at": _aware(created_at),
            "updated_at": _aware(created_at),
            "answered_at": None,
            "answer_seen_at": None,
            "closed_at": None,
            "carried_to_cycle_id": None,
        }
        self.w.add("improvement_point", row)
        if state is P.DRAFT:
            return
        link = f"/improvements/points/{p_id}"
        events = []
        lock = 2
        at = issue_at
        events.append(("issued", f"回答期限 {date_wareki(due_on)}", None, reviewer, at))
        self.transition(
            at,
            reviewer,
            "point.issued",
            "improvementpoint",
            p_id,
            "改善点を依頼しました",
            P.DRAFT,
            P.ISSUED,
            after={"request": request_id},
        )
        loops = 1 if state is P.ISSUED and rng.random() < 0.3 else 0
        if state in (P.ANSWERED, P.CLOSED) and rng.random() < 0.2:
            loops = 1
        answers = loops + (state is not P.ISSUED)
        seen = None
        for k in range(answers):
            at = self.later(at, 5, 30, limit)
            contact = unit.contacts[0]
            with_report = state is P.CLOSED and k == answers - 1 or rng.random() < 0.3
            plan = rng.choice(PLANS)
            plan_due = (at + timedelta(hours=9)).date() + timedelta(days=rng.randint(20, 90))
            report = rng.choice(REPORTS) if with_report else ""
            before = {"plan": row["plan"], "report": row["report"]}
            row.update(plan=plan, plan_due_on=plan_due, report=report, answered_at=_aware(at), answer_seen_at=None)
            body = f"改善計画：{plan}" + (f"\n完了報告：{report}" if report else "")
            events.append(("answered", body, plan_due, contact, at))
            self.transition(
                at,
                contact,
                "point.answered",
                "improvementpoint",
                p_id,
                "改善点に回答しました" + ("（完了報告あり）" if report else "（改善計画）"),
                P.ISSUED,
                P.ANSWERED,
                before=before,
                after={"plan": plan, "plan_due_on": plan_due.isoformat(), "report": report, "attachment": None},
            )
            self.notify(
                unit.staff,
                at,
                "point_answered",
                f"{unit.name}から改善点への回答" + ("（完了報告）" if report else "（改善計画）") + "が届きました。",
                link,
            )
            lock += 1
            if k < answers - 1:  # sent back (or taken back) and answered again
                if rng.random() < 0.2:
                    at = self.later(at, 0, 1, limit)
                    events.append(("withdrawn", "回答を取り下げました（修正のため）", None, contact, at))
                    self.transition(
                        at,
                        contact,
                        "point.withdrawn",
                        "improvementpoint",
                        p_id,
                        "改善点への回答を取り下げました（修正のため）",
                        P.ANSWERED,
                        P.ISSUED,
                    )
                else:
                    seen = self.later(at, 0, 2, limit)
                    at = self.later(seen, 0, 8, limit)
                    comment = rng.choice(POINT_RETURNS)
                    row["center_comment"] = comment
                    events.append(("returned", comment, None, reviewer, at))
                    self.transition(
                        at,
                        reviewer,
                        "point.returned",
                        "improvementpoint",
                        p_id,
                        "改善点の回答を差し戻しました",
                        P.ANSWERED,
                        P.ISSUED,
                        after={"comment": comment},
                    )
                    self.notify(
                        unit.contacts, at, "point_returned", f"改善点への回答が差し戻されました：{comment}", link
                    )
                    lock += 1
                lock += 1
        if state is P.ANSWERED and rng.random() < 0.5:
            seen = self.later(at, 0, 3, limit)
            row["answer_seen_at"] = _aware(seen)
            lock += 1
        if state is P.CLOSED:
            seen = self.later(at, 0, 3, limit)
            at = self.later(seen, 0, 15, limit)
            comment = rng.choice(POINT_CLOSES)
            row.update(center_comment=comment, closed_at=_aware(at), answer_seen_at=_aware(seen))
            events.append(("closed", comment, None, reviewer, at))
            self.transition(
                at,
                reviewer,
                "point.closed",
                "improvementpoint",
                p_id,
                "改善点を完了にしました",
                P.ANSWERED,
                P.CLOSED,
                after={"comment": comment},
            )
            self.notify(unit.contacts, at, "point_closed", "改善点が完了となりました。", link)
            lock += 2
        row.update(updated_at=_aware(at), lock_version=lock)
        for kind, body, plan_due, actor, when in events:
            self.w.add(
                "point_event",
                (
                    self.ids("point_event"),
                    p_id,
                    kind,
                    body,
                    plan_due.isoformat() if plan_due else None,
                    actor.id,
                    _naive(when),
                ),
            )

    # --- hearings ------------------------------------------------------------------------------------------

    def hearing(self, cyc, unit, s_id, values, mean):
        """A hearing or visit chosen for this unit, in a state that fits the year, with its slots and record."""
        rng, H = self.rng, HearingState
        if cyc.newest:
            table = (
                (H.CANDIDATE, 0.2),
                (H.PROPOSING, 0.2),
                (H.SCHEDULED, 0.25),
                (H.HELD, 0.1),
                (H.REPORTED, 0.15),
                (H.CANCELLED, 0.1),
            )
        else:
            table = ((H.REPORTED, 0.85), (H.HELD, 0.05), (H.CANCELLED, 0.1))
        state = rng.choices([s for s, _ in table], [w for _, w in table])[0]
        kind = KIND_VISIT if rng.random() < 0.3 else KIND_HEARING
        label = KIND_LABELS[kind]
        staff = rng.choice(unit.staff)
        h_id = self.ids("hearing")
        limit = cyc.limit
        if cyc.newest:
            low = cyc.opens + timedelta(days=10)
            selected = low + (max(limit - timedelta(days=15), low) - low) * rng.random()
        else:
            selected = self.office_time(cyc.due_on + timedelta(days=rng.randint(7, 30)))
        selected = min(selected, limit)
        reasons = []
        for key, amount in (
            ("low_mean", round(3 - mean, 2) if mean else 0.0),
            ("years_since", rng.randint(1, 5)),
            ("late", 1.0 if mean is None else 0.0),
        ):
            if amount:
                reasons.append(
                    {
                        "key": key,
                        "label": priority.LABELS[key],
                        "amount": amount,
                        "weight": priority.WEIGHTS[key],
                        "points": round(amount * priority.WEIGHTS[key], 2),
                    }
                )
        score = round(sum(r["points"] for r in reasons), 2)
        summary = "、".join(f"{r['label']} {r['amount']:g}" for r in reasons) or "データ上の理由なし"
        reason = f"優先度 {score:g}（{summary}）"
        row = {
            "id": h_id,
            "cycle_id": cyc.id,
            "unit_id": unit.id,
            "kind": kind,
            "status": str(state),
            "selection_reason": reason,
            "priority_score": score,
            "priority_reasons": reasons,
            "staff_id": staff.id,
            "starts_at": None,
            "ends_at": None,
            "place": "",
            "cancel_reason": "",
            "center_attendees": "",
            "agency_attendees": "",
            "minutes": "",
            "internal_notes": "",
            "reported_at": None,
            "reminded_at": None,
            "lock_version": 1,
            "created_by_id": staff.id,
            "created_at": _aware(selected),
            "updated_at": _aware(selected),
        }
        self.w.add("hearing", row)
        for position, title in enumerate(DEFAULT_DOCUMENTS):
            self.w.add(
                "hearing_document",
                {"id": self.ids("hearing_document"), "hearing_id": h_id, "title": title, "position": position},
            )
        self.audit(
            selected,
            staff,
            "hearing.selected",
            "hearing",
            h_id,
            f"{unit.name}を{label}の候補に選びました",
            after={"unit": unit.id, "kind": kind, "reason": reason},
        )
        link = f"/hearings/{h_id}"
        at = selected
        lock = 1
        if state is H.CANCELLED and rng.random() < 0.5 or state is H.CANDIDATE:
            if state is H.CANCELLED:
                at = self.later(at, 1, 10, limit)
                cancel = rng.choice(CANCEL_REASONS)
                row.update(cancel_reason=cancel, updated_at=_aware(at), lock_version=2)
                self.transition(
                    at,
                    staff,
                    "hearing.cancelled",
                    "hearing",
                    h_id,
                    f"{label}を中止しました",
                    H.CANDIDATE,
                    H.CANCELLED,
                    after={"reason": cancel},
                )
            return
        # Slots offered by the center (in the future when offered), one of which the unit picks.
        at = self.later(at, 1, 7, limit)
        place = (
            f"{unit.name} 会議室" if kind == KIND_VISIT else rng.choice(("センター会議室A", "オンライン（Web会議）"))
        )
        first_day = (at + timedelta(hours=9)).date() + timedelta(days=rng.randint(14, 30))
        slots = []
        for offset in range(3):
            day = first_day + timedelta(days=offset * 2)
            while day.weekday() >= 5:
                day += timedelta(days=1)
            starts = datetime(day.year, day.month, day.day, rng.choice((1, 5)))  # 10:00 or 14:00 Japan time
            slots.append(starts)
        offered = at
        self.transition(
            at,
            staff,
            "hearing.slots_proposed",
            "hearing",
            h_id,
            f"候補日時を{len(slots)}件提示しました",
            H.CANDIDATE,
            H.PROPOSING,
            after={"slots": [_aware(s).isoformat() for s in slots]},
        )
        self.notify(
            unit.contacts,
            at,
            "hearing_proposed",
            f"{label}の候補日時が届きました。都合のよい日時を選んでください。",
            link,
        )
        lock += 1
        chosen = rng.randrange(len(slots)) if state is not H.PROPOSING else None
        for i, starts in enumerate(slots):
            self.w.add(
                "hearing_slot",
                {
                    "id": self.ids("hearing_slot"),
                    "hearing_id": h_id,
                    "starts_at": _aware(starts),
                    "ends_at": _aware(starts + timedelta(hours=2)),
                    "place": place,
                    "proposed_by": "center",
                    "comment": "",
                    "chosen": i == chosen,
                    "withdrawn": False,
                    "created_by_id": staff.id,
                    "created_at": _aware(offered),
                },
            )
        if state is H.PROPOSING or (state is H.CANCELLED and chosen is not None and rng.random() < 0.5):
            if state is H.CANCELLED:
                at = self.cancel_hearing(row, at, limit, staff, unit, h_id, label, link, H.PROPOSING)
                lock += 1
            row.update(updated_at=_aware(at), lock_version=lock)
            return
        starts = slots[chosen]
        contact = unit.contacts[0]
        at = self.later(at, 1, 4, limit)
        self.audit(
            at,
            contact,
            "hearing.slot_picked",
            "hearing",
            h_id,
            f"候補日時 {datetime_ja(_aware(starts))} を選びました",
            after={"slot": _aware(starts).isoformat()},
        )
        self.notify(
            [staff],
            at,
            "hearing_update",
            f"{unit.name}が{label}の日時（{datetime_ja(_aware(starts))}）を選びました。",
            link,
        )
        at = self.later(at, 0, 2, limit)
        self.transition(
            at,
            staff,
            "hearing.confirmed",
            "hearing",
            h_id,
            f"日時を {datetime_ja(_aware(starts))} に確定しました",
            H.PROPOSING,
            H.SCHEDULED,
            after={"starts_at": _aware(starts).isoformat(), "place": place, "double_booked": False},
        )
        message = f"{label}の日時が {datetime_ja(_aware(starts))} に確定しました。準備資料をご確認ください。"
        self.notify(unit.contacts, at, "hearing_scheduled", message, link)
        self.notify(unit.ministry_users, at, "hearing_scheduled", f"{unit.name}：{message}", link)
        lock += 2
        row.update(starts_at=_aware(starts), ends_at=_aware(starts + timedelta(hours=2)), place=place)
        if state in (H.HELD, H.REPORTED) and starts >= limit:  # cannot have taken place yet: it is still ahead
            state = H.SCHEDULED
            row["status"] = str(state)
        if state is H.CANCELLED:
            at = self.cancel_hearing(row, at, limit, staff, unit, h_id, label, link, H.SCHEDULED)
            row.update(updated_at=_aware(at), lock_version=lock + 1)
            return
        reminded = max(starts - timedelta(days=3), at + timedelta(hours=1))
        if reminded < min(starts, self.now):
            row["reminded_at"] = _aware(reminded)
            self.audit(reminded, "reminder", "hearing.reminded", "hearing", h_id, "日程の事前通知を送りました")
            end_jst = (starts + timedelta(hours=11)).strftime("%H:%M")
            self.notify(
                unit.contacts + [staff],
                reminded,
                "hearing_reminder",
                f"{label}の予定：{datetime_ja(_aware(starts))}〜{end_jst}（{unit.name}）。場所：{place}",
                link,
            )
        if state is H.SCHEDULED:
            row.update(updated_at=_aware(at), lock_version=lock)
            return
        at = min(self.later(starts, 1, 5, limit), limit)
        minutes = rng.choice(HEARING_MINUTES)
        row.update(
            center_attendees=f"{staff.login}（センター）", agency_attendees=f"{unit.name} 担当者 2名", minutes=minutes
        )
        self.transition(
            at,
            staff,
            "hearing.recorded",
            "hearing",
            h_id,
            "出席者と議事録を記録しました",
            H.SCHEDULED,
            H.HELD,
            before={"minutes": ""},
            after={"minutes": minutes},
        )
        lock += 1
        for _ in range(rng.randint(1, 2)):
            number = rng.choice([n for n, v in values.items() if v < 3] or list(values)) if values else None
            finding_text = rng.choice(HEARING_FINDINGS)
            f_id = self.ids("hearing_finding")
            point_id = None
            if state is H.REPORTED and values and rng.random() < 0.5:
                point_id = self.hearing_point(cyc, unit, s_id, staff, at, number, label, finding_text)
                self.audit(
                    at,
                    staff,
                    "hearing.finding_to_point",
                    "hearing",
                    h_id,
                    "所見を改善点（下書き）にしました",
                    after={"finding": f_id, "point": point_id},
                )
            self.w.add(
                "hearing_finding",
                {
                    "id": f_id,
                    "hearing_id": h_id,
                    "question_id": self.structure.by_number[number].id if number else None,
                    "text": finding_text,
                    "point_id": point_id,
                    "created_by_id": staff.id,
                    "created_at": _aware(at),
                },
            )
            self.audit(
                at,
                staff,
                "hearing.finding_added",
                "hearing",
                h_id,
                "所見を追加しました",
                after={"question": number, "text": finding_text},
            )
        if state is H.REPORTED:
            at = self.later(at, 3, 15, limit)
            row["reported_at"] = _aware(at)
            self.transition(at, staff, "hearing.reported", "hearing", h_id, "報告を公開しました", H.HELD, H.REPORTED)
            message = f"{label}（{datetime_ja(_aware(starts))}）の報告が公開されました。"
            self.notify(unit.contacts, at, "hearing_reported", message, link)
            self.notify(unit.ministry_users, at, "hearing_reported", f"{unit.name}：{message}", link)
            lock += 1
        row.update(updated_at=_aware(at), lock_version=lock)

    def hearing_point(self, cyc, unit, s_id, staff, at, number, label, finding_text):
        """A finding made into a point (source hearing), issued on its own request and followed to its state."""
        p_id = self.ids("improvement_point")
        finding = f"【{label}での所見】{finding_text}"
        self.audit(
            at,
            staff,
            "point.drafted",
            "improvementpoint",
            p_id,
            f"改善点（下書き）を作成しました{f'（設問{number}）' if number else ''}",
            after={"status": "draft", "finding": finding, "requested_action": ""},
        )
        state = self.point_state(cyc, (cyc.limit - at).days)
        request_id = issue_at = due_on = None
        if state is not PointState.DRAFT:
            issue_at = self.later(at, 0, 3, cyc.limit)
            due_on = (issue_at + timedelta(hours=9)).date() + timedelta(days=self.rng.randint(30, 45))
            request_id = self.request(cyc, unit, s_id, staff, issue_at, due_on, [p_id])
        question = self.structure.by_number.get(number) if number else None
        self.point(
            cyc, unit, s_id, p_id, question, state, finding, "", "hearing", staff, at, request_id, issue_at, due_on
        )
        return p_id

    # --- the center's and ministries' own sittings -------------------------------------------------------

    def staff_sessions(self, cyc):
        """Sign-ins of center staff, ministries and administrators through the year, and their exports."""
        rng = self.rng
        end = min(cyc.limit, datetime(cyc.fiscal_year + 1, 3, 31))
        days = max(1, (end - cyc.opens).days)
        people = [(p, 40) for p in self.center] + [(p, 4) for p in self.admins]
        people += [(p, 8) for m in self.ministries.values() for p in m["users"]]
        for person, sittings in people:
            for _ in range(sittings):
                start = self.office_time((cyc.opens + timedelta(days=rng.uniform(0, days))).date())
                if start >= cyc.limit:
                    continue
                self.session_of(person, start, min(start + timedelta(minutes=rng.uniform(10, 120)), cyc.limit))
        for ministry in self.ministries.values():
            for person in ministry["users"]:
                if rng.random() < 0.7:
                    at = self.office_time((cyc.opens + timedelta(days=rng.uniform(0, days))).date())
                    if at < cyc.limit:
                        rows = len(ministry["units"])
                        self.audit(
                            at,
                            person,
                            "export",
                            "",
                            None,
                            f"{ministry['name']}のExcel（.xlsx）を出力しました（{rows}行）",
                            after={"kind": "Excel（.xlsx）", "scope": ministry["name"], "rows": rows},
                        )
