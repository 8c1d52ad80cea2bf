"""The signed-in user's notifications."""

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from agencyapp.extensions import db
from agencyapp.models import Notification
from agencyapp.services import notifications as service
from agencyapp.views.common import page_arg, page_count, past_the_last_page, per_page, run

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.get("/")
def index():
    size, page = per_page(), page_arg()
    unread_only = request.args.get("unread") == "1"
    stmt = select(Notification).where(Notification.user_id == current_user.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    total = db.session.scalar(stmt.with_only_columns(func.count()))
    beyond = past_the_last_page(page, total, size)
    if beyond:
        return beyond
    rows = db.session.scalars(stmt.order_by(Notification.id.desc()).offset((page - 1) * size).limit(size)).all()
    return render_template(
        "notifications/index.html",
        rows=rows,
        page=page,
        unread_only=unread_only,
        pages=page_count(total, size),
        kinds=service.KINDS,
    )


@bp.post("/<int:notification_id>/read")
def mark_read(notification_id):
    """Mark one read and follow its link (only the user's own; others answer 404)."""
    row = db.session.scalar(
        select(Notification).where(Notification.id == notification_id, Notification.user_id == current_user.id)
    )
    if row is None:
        abort(404)
    link = row.link
    run(service.mark_read, current_user, notification_id)
    target = link if link.startswith("/") and not link.startswith("//") else url_for("notifications.index")
    return redirect(target, code=303)


@bp.post("/read-all")
def mark_all_read():
    run(service.mark_read, current_user)
    return redirect(url_for("notifications.index"), code=303)
