"""The signed-in user's notifications."""

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from agencyapp.extensions import db
from agencyapp.models import Notification
from agencyapp.services import notifications as service

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.get("/")
def index():
    per_page = current_app.config["PAGE_SIZE"]
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    unread_only = request.args.get("unread") == "1"
    stmt = select(Notification).where(Notification.user_id == current_user.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    total = db.session.scalar(stmt.with_only_columns(func.count()))
    rows = db.session.scalars(stmt.order_by(Notification.id.desc()).offset((page - 1) * per_page).limit(per_page)).all()
    return render_template(
        "notifications/index.html",
        rows=rows,
        page=page,
        unread_only=unread_only,
        pages=max(1, -(-total // per_page)),
        kinds=service.KINDS,
    )


@bp.post("/<int:notification_id>/read")
def mark_read(notification_id):
    """Mark one read and follow its link (only the user's own; others answer 404)."""
    row = db.session.scalar(
        select(Notification).where(Notification.id == notification_id, Notification.user_id == current_user.id)
    )
    if row is None:
        from flask import abort

        abort(404)
    service.mark_read(current_user, notification_id)
    target = row.link if row.link.startswith("/") and not row.link.startswith("//") else url_for("notifications.index")
    return redirect(target, code=303)


@bp.post("/read-all")
def mark_all_read():
    service.mark_read(current_user)
    return redirect(url_for("notifications.index"), code=303)
