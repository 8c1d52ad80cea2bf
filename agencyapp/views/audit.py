"""操作履歴: the audit log, searchable and paginated, for the center and administrators."""

from datetime import datetime, time, timedelta

from flask import Blueprint, Response, render_template, request, stream_with_context
from flask_login import current_user
from sqlalchemy import func, select

from agencyapp import history
from agencyapp.exports import csv_line
from agencyapp.extensions import db
from agencyapp.formatting import TOKYO, stamp_tokyo
from agencyapp.forms import iso_date
from agencyapp.inputs import ident
from agencyapp.models import AuditEvent
from agencyapp.services import matches, oversight
from agencyapp.views.common import per_page, run

bp = Blueprint("audit", __name__, url_prefix="/audit")

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


def _filtered():
    """The history filtered as the form says, with what the form needs to show again (and any problems)."""
    area = request.args.get("area") if request.args.get("area") in AREAS else ""
    actor = (request.args.get("actor") or "").strip()[:64]
    text = (request.args.get("q") or "").strip()[:100]
    since, until = iso_date(request.args.get("from")), iso_date(request.args.get("to"))
    date_problems = {
        key: f"{label}は 2026-12-01 の形式の日付で入力してください（この条件は使わずに表示しています）。"
        for key, label, parsed in (("from", "開始日", since), ("to", "終了日", until))
        if request.args.get(key) and parsed is None
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


# Millions of events: the list pages by keyset (the id next to the page's edge) and counts at most this many.
COUNT_CAP = 1000
ID_MAX = 2**62


def _id_arg(name):
    """An event id from the query string; None when missing, nonsense or out of range."""
    value = request.args.get(name, type=ident)
    return value if value is not None and 0 < value < ID_MAX else None


@bp.get("/")
def index():
    """Newest first, a page at a time by keyset: ``before`` (older than that id) or ``after`` (newer)."""
    stmt, form = _filtered()
    size = per_page(2)
    before, after = _id_arg("before"), _id_arg("after")
    rows = None
    if after is not None:
        newer = db.session.scalars(stmt.where(AuditEvent.id > after).order_by(AuditEvent.id).limit(size)).all()
        if len(newer) == size:  # else fewer than a page is newer: show the newest page
            rows = newer[::-1]
    if rows is None:
        edge = stmt.where(AuditEvent.id < before) if before is not None and after is None else stmt
        rows = db.session.scalars(edge.order_by(AuditEvent.id.desc()).limit(size)).all()
    first_page = not rows or not db.session.scalar(
        select(stmt.where(AuditEvent.id > rows[0].id).with_only_columns(AuditEvent.id).limit(1).exists())
    )
    last_page = not rows or not db.session.scalar(
        select(stmt.where(AuditEvent.id < rows[-1].id).with_only_columns(AuditEvent.id).limit(1).exists())
    )
    counted = stmt.with_only_columns(AuditEvent.id).limit(COUNT_CAP + 1).subquery()
    total = db.session.scalar(select(func.count()).select_from(counted))
    return render_template(
        "audit/index.html",
        rows=rows,
        total=total,
        capped=total > COUNT_CAP,
        count_cap=COUNT_CAP,
        export_limit=EXPORT_LIMIT,
        newer=None if first_page else rows[0].id,
        older=None if last_page else rows[-1].id,
        areas=AREAS,
        typed_dates={key: request.args.get(key, "") for key in ("from", "to")},
        names=history.object_names(rows),
        history=history,
        **form,
    )


# One file holds at most this many events, newest first (about 10 s to write): a longer history is
# exported period by period, so that no export depends on a worker's timeout.
EXPORT_LIMIT = 50_000
BATCH = 500


@bp.get("/export.csv")
def export_csv():
    """The filtered history as CSV (UTF-8 with BOM), streamed; the export itself is history."""
    stmt, _ = _filtered()
    counted = stmt.with_only_columns(AuditEvent.id).limit(EXPORT_LIMIT).subquery()
    total = db.session.scalar(select(func.count()).select_from(counted))  # never a count of millions
    run(oversight.record_export, current_user, "CSV", "操作履歴", total)
    headers = ["日時", "操作者", "操作", "対象", "内容", "変更（項目：変更前→変更後）", "IPアドレス"]

    def lines():
        yield "\ufeff" + csv_line(headers)
        last_id = None
        sent = 0
        while sent < EXPORT_LIMIT:  # keyset pages: memory stays flat however long the history
            page = stmt.order_by(AuditEvent.id.desc()).limit(BATCH)
            if last_id is not None:
                page = page.where(AuditEvent.id < last_id)
            events = db.session.scalars(page).all()
            if not events:
                break
            yield from _csv_rows(events)
            sent += len(events)
            last_id = events[-1].id

    response = Response(stream_with_context(lines()), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="audit-{stamp_tokyo()}.csv"'
    return response


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
