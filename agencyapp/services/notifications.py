"""In-app notifications, mirrored by mail when SMTP is configured.

``notify`` adds rows to the caller's transaction and queues the mails;
``deliver`` sends the queued mails once the caller has committed, so a mail
never announces something that was rolled back.
"""

from datetime import UTC, datetime

from flask import current_app, g, has_app_context, has_request_context, request
from sqlalchemy import func, select, update

from agencyapp.extensions import db
from agencyapp.models import Notification, Unit, User
from agencyapp.models.user import AGENCY, CENTER, MINISTRY

KINDS = {
    "request_issued": "改善依頼",
    "point_answered": "回答受付",
    "point_returned": "回答差戻し",
    "point_closed": "改善完了",
    "submission_returned": "自己点検差戻し",
    "submission_accepted": "自己点検確認済",
    "hearing_proposed": "ヒアリング日程の提示",
    "hearing_update": "ヒアリング日程の回答",
    "hearing_scheduled": "ヒアリング日程の確定",
    "hearing_rescheduled": "ヒアリング日程の変更",
    "hearing_cancelled": "ヒアリングの中止",
    "hearing_reported": "ヒアリング報告",
    "hearing_reminder": "ヒアリングの予定",
}


def unit_users(unit_id):
    return db.session.scalars(
        select(User).where(User.role == AGENCY, User.unit_id == unit_id, User.active.is_(True))
    ).all()


def ministry_users_of_unit(unit_id):
    ministry_id = select(Unit.ministry_id).where(Unit.id == unit_id).scalar_subquery()
    return db.session.scalars(
        select(User).where(User.role == MINISTRY, User.ministry_id == ministry_id, User.active.is_(True))
    ).all()


def center_users():
    return db.session.scalars(select(User).where(User.role == CENTER, User.active.is_(True))).all()


def _queue():
    if not has_app_context():
        return []
    if "_mail_queue" not in g:
        g._mail_queue = []
    return g._mail_queue


def notify(users, kind, message, link=""):
    """Add a notification for each user; their mails wait for ``deliver``."""
    seen = set()
    for user in users:
        if user.id in seen:
            continue
        seen.add(user.id)
        db.session.add(Notification(user_id=user.id, kind=kind, message=message, link=link))
        if user.email:
            _queue().append((user.email, f"{KINDS.get(kind, '')}：{message}", link))


def deliver():
    """Send the mails queued in this request (after the commit). Without SMTP, nothing happens."""
    from agencyapp import mail

    queue = _queue()
    if not queue or not mail.mail_enabled():
        queue.clear()
        return 0
    base = request.host_url.rstrip("/") if has_request_context() else current_app.config.get("BASE_URL", "").rstrip("/")
    sent = 0
    for address, subject, link in queue:
        body = f"{subject}\n\n詳細はシステムでご確認ください。\n{base}{link}\n"
        sent += bool(mail.send_mail([address], subject, body))
    queue.clear()
    return sent


def init_app(app):
    """Mails go out after a successful request (its transaction committed); a failed one drops them."""

    @app.after_request
    def _deliver_mail(response):
        if response.status_code < 400:
            deliver()
        else:
            _queue().clear()
        return response

    @app.context_processor
    def _unread():
        from flask_login import current_user

        def unread_notifications():
            """Called by the header only, so fragments cost no query."""
            return unread_count(current_user) if current_user.is_authenticated else 0

        return {"unread_notifications": unread_notifications}


def unread_count(user):
    return db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    )


def mark_read(user, notification_id=None):
    """Mark one (or every) notification of ``user`` read; other users' rows are never touched."""
    stmt = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    result = db.session.execute(stmt.values(read_at=datetime.now(UTC)))
    db.session.commit()
    return result.rowcount
