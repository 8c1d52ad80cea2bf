"""In-app notifications, mirrored by mail when SMTP is configured.

``notify`` adds rows to the caller's transaction; each mail waits in the unit
of work (``agencyapp.unit_of_work.after_commit``) and is sent only once the
action has committed, so a mail never announces something that was rolled back.
"""

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from flask import Flask, current_app, g, has_app_context
from sqlalchemy import func, select, update

from agencyapp import policy
from agencyapp.actions import Action
from agencyapp.errors import DomainError
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
    "submission_reopened": "自己点検の確認済取消し",
    "hearing_proposed": "ヒアリング日程の提示",
    "hearing_update": "ヒアリング日程の回答",
    "hearing_scheduled": "ヒアリング日程の確定",
    "hearing_rescheduled": "ヒアリング日程の変更",
    "hearing_cancelled": "ヒアリングの中止",
    "hearing_reported": "ヒアリング報告",
    "hearing_reminder": "ヒアリングの予定",
    "login_attack": "ログインの連続失敗",
    "reminder": "センターからの督促",
    "approval_requested": "承認の依頼",
    "approval_decided": "承認・差戻し",
}


def unit_users(unit_id: int) -> Sequence[User]:
    return db.session.scalars(
        select(User).where(User.role == AGENCY, User.unit_id == unit_id, User.active.is_(True))
    ).all()


def ministry_users_of_unit(unit_id: int) -> Sequence[User]:
    ministry_id = select(Unit.ministry_id).where(Unit.id == unit_id).scalar_subquery()
    return db.session.scalars(
        select(User).where(User.role == MINISTRY, User.ministry_id == ministry_id, User.active.is_(True))
    ).all()


def center_users() -> Sequence[User]:
    return db.session.scalars(select(User).where(User.role == CENTER, User.active.is_(True))).all()


def notify(users: Iterable[User], kind: str, message: str, link: str = "") -> None:
    """Add a notification for each user; their mails are queued once the action has committed (the task
    queue sends them, retrying; each notification keeps its mail's state)."""
    notify_each(((user, message, link) for user in users), kind)


def notify_each(notices: Iterable[tuple[User, str, str]], kind: str) -> None:
    """``notify`` for many people at once, each with a message and link of their own ((user, message, link));
    one flush whatever their number. A person named twice is notified once."""
    from agencyapp import mail
    from agencyapp.unit_of_work import after_commit

    seen = set()
    mailed = []
    by_mail = mail.mail_enabled()
    for user, message, link in notices:
        if user.id in seen:
            continue
        seen.add(user.id)
        row = Notification(user_id=user.id, kind=kind, message=message, link=link)
        if by_mail and user.email:
            row.mail_state, row.mail_base_url = "pending", _base_url()
            mailed.append(row)
        db.session.add(row)
    if mailed:
        db.session.flush()  # the ids the queued tasks name
        ids = [row.id for row in mailed]
        after_commit(lambda: _queue_mails(ids))


def _queue_mails(ids):
    from agencyapp.tasks import send_notification_mail

    for notification_id in ids:
        send_notification_mail(notification_id)


def deliver_mail(notification_id: int, last_try: bool) -> bool:
    """Send one notification's mail now; its state says what happened (sent, still pending, failed)."""
    from agencyapp import mail

    row = db.session.get(Notification, notification_id)
    if row is None or row.mail_state in ("", "sent"):
        return True
    user = db.session.get(User, row.user_id)
    subject = f"{KINDS.get(row.kind, '')}：{row.message}"
    body = f"{subject}\n\n詳細はシステムでご確認ください。\n{(row.mail_base_url or _base_url())}{row.link}\n"
    errors = []
    sent = bool(user and user.email and user.active and mail.send_mail([user.email], subject, body, errors=errors))
    row.mail_attempts += 1
    if sent:
        row.mail_state, row.mail_error = "sent", ""
    else:
        reason = (
            errors[-1]
            if errors
            else ("宛先のメールアドレスがありません" if not (user and user.email) else "送信できませんでした")
        )
        row.mail_state, row.mail_error = ("failed" if last_try else "pending"), reason[:500]
    return sent


def resend_mail(actor: User, notification_id: int) -> None:
    """An administrator sends a failed mail again (the queue retries it as before)."""
    from agencyapp.services.audit import record
    from agencyapp.unit_of_work import after_commit

    policy.require(actor, Action.USER_MANAGE)
    row = db.session.get(Notification, notification_id)
    if row is None or row.mail_state != "failed":
        raise DomainError("再送できるのは、送信に失敗したメールだけです。")
    row.mail_state = "pending"
    record("mail.resent", actor=actor, summary=f"送信に失敗したメールを再送しました（通知 {row.id}）")
    after_commit(lambda: _queue_mails([notification_id]))


def mail_problems(page: int, per_page: int):
    """Mails not sent (failed first, then the oldest still pending), for administrators."""
    stmt = (
        select(Notification, User)
        .join(User, User.id == Notification.user_id)
        .where(Notification.mail_state.in_(("failed", "pending")))
        .order_by(Notification.mail_state, Notification.id)
    )
    total = db.session.scalar(
        select(func.count()).select_from(Notification).where(Notification.mail_state.in_(("failed", "pending")))
    )
    return db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all(), total


def notify_unit_and_ministry(unit: Unit, kind: str, message: str, link: str) -> None:
    """The unit's contacts get ``message``; its ministry's security division the same, prefixed with the unit."""
    notify(unit_users(unit.id), kind, message, link)
    notify(ministry_users_of_unit(unit.id), kind, f"{unit.name}：{message}", link)


def _base_url() -> str:
    """The address links in mail start with: this request's host (noted by the web layer), else BASE_URL."""
    noted = g.get("base_url", "") if has_app_context() else ""
    return (noted or current_app.config.get("BASE_URL", "")).rstrip("/")


def init_app(app: Flask) -> None:
    @app.context_processor
    def _unread():
        from flask_login import current_user

        def unread_notifications():
            """Called by the header only, so fragments cost no query."""
            return unread_count(current_user) if current_user.is_authenticated else 0

        return {"unread_notifications": unread_notifications}


def unread_count(user: User) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    )


def mark_read(user: User, notification_id: int | None = None) -> int:
    """Mark one (or every) notification of ``user`` read; other users' rows are never touched."""
    stmt = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    result = db.session.execute(stmt.values(read_at=datetime.now(UTC)))
    return result.rowcount
