"""操作履歴: the audit log, searchable and paginated, for the center and administrators."""

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from agencyapp import audit_log, history
from agencyapp.extensions import db
from agencyapp.inputs import ident
from agencyapp.models import AuditEvent
from agencyapp.services import export_jobs
from agencyapp.views.common import per_page, run

bp = Blueprint("audit", __name__, url_prefix="/audit")


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
    stmt, form = audit_log.filtered(request.args)
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
        export_limit=audit_log.EXPORT_LIMIT,
        newer=None if first_page else rows[0].id,
        older=None if last_page else rows[-1].id,
        areas=audit_log.AREAS,
        typed_dates={key: request.args.get(key, "") for key in ("from", "to")},
        names=history.object_names(rows),
        history=history,
        **form,
    )


@bp.post("/export.csv")
def export_csv():
    """The filtered history as CSV, made by the task queue: the page that follows shows its progress."""
    args = {key: request.args.get(key) for key in audit_log.FIELDS if request.args.get(key)}
    job = run(export_jobs.start_audit_csv, current_user, args)
    return redirect(url_for("exports.show", job_id=job.id), code=303)
