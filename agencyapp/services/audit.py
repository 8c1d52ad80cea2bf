"""Writing the operation history (操作履歴). Rows join the caller's transaction."""

from flask import g, has_app_context

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
) -> AuditEvent:
    """Add an audit event to the session; the caller's commit writes it."""
    actor, obj = _unwrap(actor), _unwrap(obj)
    event = AuditEvent(
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
    db.session.add(event)
    return event
