"""Session handling, the endpoint policy gate and the security headers."""

from datetime import UTC, datetime

from flask import abort, current_app, flash, redirect, request, session, url_for
from flask_login import current_user, logout_user
from sqlalchemy import select

from agencyapp import policy
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
    app.before_request(enforce_endpoint_policy)
    app.after_request(security_headers)


def load_user(token):
    from agencyapp.models import User

    if not token:
        return None
    return db.session.scalar(select(User).where(User.session_token == token, User.active.is_(True)))


def unauthorized():
    target = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
    if request.headers.get("HX-Request"):
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

        auth_service.end_session(current_user, reason=expired)
        logout_user()
        session.clear()
        flash(EXPIRY_MESSAGES[expired], "info")
        return unauthorized()
    if not policy.role_may_reach(current_user.role, rule):
        from agencyapp.services import audit

        audit.record_denied(current_user, endpoint)
        abort(403)
    return None


EXPIRY_MESSAGES = {
    "idle": "一定時間操作がなかったため、ログアウトしました。もう一度ログインしてください。",
    "absolute": "ログインの有効時間が過ぎたため、ログアウトしました。もう一度ログインしてください。",
}


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
    session["seen"] = int(now)
    return None


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
