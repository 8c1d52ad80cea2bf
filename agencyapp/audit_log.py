"""The operation history's filter and its CSV, for the page (views/audit.py) and for the task queue
(services/export_jobs.py), outside any request: the filter reads a mapping of the form's fields."""

from collections.abc import Iterator, Mapping
from datetime import datetime, time, timedelta

from sqlalchemy import func, select

from agencyapp import history
from agencyapp.exports import csv_line
from agencyapp.extensions import db
from agencyapp.formatting import TOKYO, stamp_tokyo
from agencyapp.forms import iso_date
from agencyapp.models import AuditEvent
from agencyapp.services import matches

AREAS = {
    "login": "ログイン",
    "logout": "ログアウト",
    "user": "利用者",
    "access": "拒否されたアクセス",
    "answer": "回答",
    "answers": "回答（一括）",
    "submission": "自己点検",
    "assessment": "確認点",
    "review_note": "内部メモ",
    "point": "改善点",
    "request": "改善依頼",
    "phrase": "定型文",
    "hearing": "ヒアリング・訪問",
    "export": "出力",
    "checklist": "チェックリスト",
    "cycle": "年度点検",
    "organisation": "府省・機関",
}

FIELDS = ("area", "actor", "q", "from", "to")  # the filter's fields, as the form and a queued export name them
# One file holds at most this many events, newest first: a longer history is exported period by period.
EXPORT_LIMIT = 50_000
BATCH = 500
HEADERS = ["日時", "操作者", "操作", "対象", "内容", "変更（項目：変更前→変更後）", "IPアドレス"]


def filtered(args: Mapping):
    """The history filtered as the form says, with what the form needs to show again (and any problems)."""
    area = args.get("area") if args.get("area") in AREAS else ""
    actor = (args.get("actor") or "").strip()[:64]
    text = (args.get("q") or "").strip()[:100]
    since, until = iso_date(args.get("from")), iso_date(args.get("to"))
    date_problems = {
        key: f"{label}は 2026-12-01 の形式の日付で入力してください（この条件は使わずに表示しています）。"
        for key, label, parsed in (("from", "開始日", since), ("to", "終了日", until))
        if args.get(key) and parsed is None
    }
    if since and until and until < since:
        date_problems["to"] = "終了日は開始日以降の日付にしてください（この条件は使わずに表示しています）。"
        until = None
    stmt = select(AuditEvent)
    if area:
        stmt = stmt.where((AuditEvent.action == area) | AuditEvent.action.startswith(area + "."))
    if actor:
        stmt = stmt.where(matches(actor, AuditEvent.actor_login))
    if text:
        stmt = stmt.where(matches(text, AuditEvent.summary))
    if since:
        stmt = stmt.where(AuditEvent.at >= datetime.combine(since, time(), TOKYO))
    if until:
        stmt = stmt.where(AuditEvent.at < datetime.combine(until + timedelta(days=1), time(), TOKYO))
    form = dict(area=area, actor=actor, text=text, since=since, until=until, date_problems=date_problems)
    return stmt, form


def export_count(stmt) -> int:
    counted = stmt.with_only_columns(AuditEvent.id).limit(EXPORT_LIMIT).subquery()
    return db.session.scalar(select(func.count()).select_from(counted))  # never a count of millions


def csv_lines(stmt, between=None) -> Iterator[str]:
    """The CSV (with BOM), newest first, a keyset page of events at a time (memory stays flat);
    ``between()`` after each page, when no cursor is open."""
    yield "\ufeff" + csv_line(HEADERS)
    last_id = None
    sent = 0
    while sent < EXPORT_LIMIT:
        page = stmt.order_by(AuditEvent.id.desc()).limit(BATCH)
        if last_id is not None:
            page = page.where(AuditEvent.id < last_id)
        events = db.session.scalars(page).all()
        if not events:
            break
        yield from _csv_rows(events)
        sent += len(events)
        last_id = events[-1].id
        if between is not None:
            between(sent)


def filename() -> str:
    return f"audit-{stamp_tokyo()}.csv"


def _csv_rows(events):
    names = history.object_names(events)
    for event in events:
        changed = "／".join(f"{c.field}：{c.before}→{c.after}" for c in history.changes(event))
        row = [
            event.at,
            event.actor_login,
            history.event_label(event.action),
            history.object_text(event, names),
            event.summary,
            changed,
            event.ip,
        ]
        yield csv_line(row)
