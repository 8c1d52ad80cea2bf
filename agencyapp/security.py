"""Session handling, the endpoint policy gate and the security headers."""

from datetime import UTC, datetime
from functools import cache

from flask import abort, current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, logout_user
from sqlalchemy import bindparam, select

from agencyapp import policy
from agencyapp.actions import Action
from agencyapp.extensions import db, login_manager
from agencyapp.htmx import hx_redirect

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def init_app(app):
    login_manager.login_view = "auth.login"
    login_manager.login_message = "ログインしてください。"
    login_manager.session_protection = "strong"
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(unauthorized)
    app.jinja_env.globals.update(
        can=_can,
        may=_may,
        may_reach=_may_reach,
        bound_scope=_bound_scope,
        Action=Action,
        idle_seconds=lambda: int(current_app.config["IDLE_TIMEOUT"].total_seconds()),
    )
    app.before_request(note_client)
    app.before_request(enforce_endpoint_policy)
    app.after_request(security_headers)


def _can(action, obj=None):
    """Templates ask the policy, never compare roles: ``{% if can(Action.HEARING_MANAGE, hearing) %}``."""
    return policy.can(current_user, action, obj)


def _may(obj, transition):
    """May the signed-in user take this lifecycle step on ``obj`` now? ``{% if may(point, "answer") %}``."""
    from agencyapp.services import workflow

    return workflow.permitted(current_user, obj, transition)


def _bound_scope():
    """The unit or ministry the signed-in user is bound to, for headings (empty for center and admin)."""
    return policy.bound_scope_name(current_user) if current_user.is_authenticated else ""


def _may_reach(endpoint):
    """Menus show a link only where the endpoint table lets the user in."""
    return policy.may_reach(current_user, endpoint)


def note_client():
    """What the business layer may know of the request: the client address (audit) and the host (mail links)."""
    g.client_ip = request.remote_addr or ""
    g.base_url = request.host_url


def record_denied(user, what: str) -> None:
    """A refused request is history too; written at once in its own transaction."""
    from agencyapp.services.audit import record

    db.session.rollback()
    record("access.denied", actor=user, summary=f"権限のない操作を拒否しました: {what} {request.method} {request.path}")
    db.session.commit()


def load_user(token):
    if not token:
        return None
    return db.session.scalar(_user_by_token(), {"token": token})


@cache
def _user_by_token():
    """Every request asks this: the statement is built once (its SQL and cache key are kept with it)."""
    from agencyapp.models import User

    return select(User).where(User.session_token == bindparam("token"), User.active.is_(True))


INACTIVE_MESSAGE = (
    "このアカウントは無効になっているため、ログインを終了しました。"
    "引き続き利用する必要がある場合は、システム管理者にお問い合わせください。"
)


def _explain_lost_session():
    """A signed-in session that no longer loads: say so when the account was deactivated."""
    from agencyapp.models import User

    user_id = session.get("uid")
    if user_id is None:
        return
    user = db.session.get(User, user_id)
    session.clear()
    if user is not None and not user.active:
        flash(INACTIVE_MESSAGE, "error")


def unauthorized():
    _explain_lost_session()
    target = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
    if request.headers.get("HX-Request"):
        if request.method != "GET":
            # An autosave: leaving for the login page would lose the answer; the page says what happened.
            return "ログインの有効期限が切れました。", 401
        return hx_redirect(target, 401)
    return redirect(target)


def enforce_endpoint_policy():
    """Deny by default: every endpoint must be declared in policy.ENDPOINTS."""
    endpoint = request.endpoint
    if endpoint is None:
        return None  # 404 or 405 follows
    rule = policy.endpoint_rule(endpoint)
    if rule is None:
        current_app.logger.error("endpoint %s declares no access policy", endpoint)
        abort(403)
    if rule == policy.PUBLIC:
        return None
    if not current_user.is_authenticated:
        return unauthorized()
    expired = _session_expired()
    if expired:
        from agencyapp.services import auth as auth_service
        from agencyapp.unit_of_work import unit_of_work

        with unit_of_work():
            auth_service.end_session(current_user, reason=expired)
        logout_user()
        session.clear()
        flash(EXPIRY_MESSAGES[expired], "info")
        return unauthorized()
    if not policy.role_may_reach(current_user.role, rule):
        record_denied(current_user, endpoint)
        abort(403)
    if current_user.must_change_password and endpoint not in WHILE_PASSWORD_MUST_CHANGE:
        flash(
            "管理者が設定したパスワードでログインしています。続ける前に、ご自身のパスワードに変更してください。", "info"
        )
        if request.headers.get("HX-Request"):
            return hx_redirect(url_for("auth.password"))
        return redirect(url_for("auth.password"))
    return None


# What a user whose password was set by an administrator may do before choosing their own.
WHILE_PASSWORD_MUST_CHANGE = {"auth.password", "auth.logout", "auth.keepalive", "auth.token"}


EXPIRY_MESSAGES = {
    "idle": "一定時間操作がなかったため、ログアウトしました。もう一度ログインしてください。",
    "absolute": "ログインの有効時間が過ぎたため、ログアウトしました。もう一度ログインしてください。",
}


def start_session_clock():
    """A new sign-in: the absolute and idle limits count from now, in the login response's cookie too."""
    now = int(datetime.now(UTC).timestamp())
    session["started"] = now
    session["seen"] = now


def _session_expired():
    """'idle' when the session saw no request for IDLE_TIMEOUT, 'absolute' when it is
    older than PERMANENT_SESSION_LIFETIME (the limit of one sign-in), else None."""
    now = datetime.now(UTC).timestamp()
    last = session.get("seen")
    started = session.setdefault("started", int(now))
    if now - started > current_app.config["PERMANENT_SESSION_LIFETIME"].total_seconds():
        return "absolute"
    if last is not None and now - last > current_app.config["IDLE_TIMEOUT"].total_seconds():
        return "idle"
    if last is None or now - last >= SEEN_EVERY:  # the cookie is signed again only when this changes
        session["seen"] = int(now)
    return None


SEEN_EVERY = 10  # seconds: how precisely the idle timeout follows the last request


def security_headers(response):
    headers = response.headers
    headers["Content-Security-Policy"] = CSP
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    headers["X-Frame-Options"] = "DENY"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if request.endpoint != "static":
        headers["Cache-Control"] = "no-store"
        response.vary.add("HX-Request")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return response
