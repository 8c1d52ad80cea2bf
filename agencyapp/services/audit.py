"""Writing the operation history (操作履歴). Rows join the caller's transaction."""

from flask import has_request_context, request

from agencyapp.extensions import db
from agencyapp.models import AuditEvent


def _ip():
    return (request.remote_addr or "") if has_request_context() else ""


def _unwrap(value):
    """current_user is a proxy; the history names the real object."""
    getter = getattr(value, "_get_current_object", None)
    return getter() if getter else value


def record(action, actor=None, obj=None, summary="", before=None, after=None, actor_login=None):
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


def record_denied(user, endpoint):
    """A refused request is history too; written at once in its own transaction."""
    db.session.rollback()
    record(
        "access.denied", actor=user, summary=f"権限のない操作を拒否しました: {endpoint} {request.method} {request.path}"
    )
    db.session.commit()
