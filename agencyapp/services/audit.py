"""Writing the operation history (操作履歴). Rows join the caller's transaction."""

from flask import g, has_app_context
from sqlalchemy import insert

from agencyapp.extensions import db
from agencyapp.models import AuditEvent, User


def _ip():
    """The client address the web layer noted for this request (``security.note_client``); none in the CLI."""
    return g.get("client_ip", "") if has_app_context() else ""


def _unwrap(value):
    """current_user is a proxy; the history names the real object."""
    getter = getattr(value, "_get_current_object", None)
    return getter() if getter else value


def record(
    action: str,
    actor: User | None = None,
    obj: object | None = None,
    summary: str = "",
    before: dict | None = None,
    after: dict | None = None,
    actor_login: str | None = None,
) -> None:
    """Write an audit event in the caller's transaction (its commit keeps it, its rollback drops it).

    A plain INSERT, not an object added to the session: the history is only ever written, and every
    action writes one, so it costs no flush of its own; the caller's other changes are flushed when
    they would have been (a new object the event is about is flushed first: its id is the row's).
    """
    actor, obj = _unwrap(actor), _unwrap(obj)
    if obj is not None and getattr(obj, "id", 0) is None:
        db.session.flush()
    with db.session.no_autoflush:
        db.session.execute(_INSERT, _row(action, actor, obj, summary, before, after, actor_login))


def _row(action, actor, obj, summary, before, after, actor_login):
    return dict(
        actor_id=getattr(actor, "id", None),
        actor_login=(actor_login if actor_login is not None else getattr(actor, "login_id", ""))[:64],
        action=action,
        object_type=type(obj).__name__.lower() if obj is not None else "",
        object_id=getattr(obj, "id", None),
        summary=summary,
        before=before,
        after=after,
        ip=_ip(),
    )


_INSERT = insert(AuditEvent.__table__)  # built once; the column defaults (the time) fill what is not given
