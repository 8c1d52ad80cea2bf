"""操作履歴: the audit log, searchable and paginated, for the center and administrators."""

from datetime import datetime, time, timedelta

from flask import Blueprint, render_template, request
from sqlalchemy import func, select

from agencyapp.extensions import db
from agencyapp.formatting import TOKYO
from agencyapp.forms import iso_date
from agencyapp.models import AuditEvent
from agencyapp.services import matches
from agencyapp.views.common import page_arg, page_count, past_the_last_page, per_page

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


@bp.get("/")
def index():
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
    page = page_arg()
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
    size = per_page(2)
    total = db.session.scalar(stmt.with_only_columns(func.count(AuditEvent.id)))
    beyond = past_the_last_page(page, total, size)
    if beyond:
        return beyond
    rows = db.session.scalars(stmt.order_by(AuditEvent.id.desc()).offset((page - 1) * size).limit(size)).all()
    return render_template(
        "audit/index.html",
        rows=rows,
        total=total,
        page=page,
        pages=page_count(total, size),
        areas=AREAS,
        area=area,
        actor=actor,
        date_problems=date_problems,
        typed_dates={key: request.args.get(key, "") for key in ("from", "to")},
        text=text,
        since=since,
        until=until,
    )
