"""Sign in, sign out and change one's own password."""

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from itsdangerous import BadSignature, URLSafeSerializer

from agencyapp import security
from agencyapp.extensions import limiter
from agencyapp.forms import LoginForm, PasswordForm
from agencyapp.services import DomainError, LoginError
from agencyapp.services import auth as auth_service
from agencyapp.unit_of_work import unit_of_work

bp = Blueprint("auth", __name__)


def _safe_next(target):
    """Only a local path may follow the login."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


DEVICE_COOKIE = "agencyapp_device"
DEVICE_COOKIE_DAYS = 400  # the longest a browser keeps a cookie (RFC 6265bis)
DEVICES_PER_BROWSER = 5  # a shared office PC remembers this many accounts


def _device_serializer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="login-device")


def _device_tokens() -> list[str]:
    """The known-browser tokens this browser holds (a signed list; anything else counts as none)."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return []
    try:
        tokens = _device_serializer().loads(raw)
    except BadSignature:
        return []
    if not isinstance(tokens, list):
        return []
    return [t for t in tokens if isinstance(t, str)][:DEVICES_PER_BROWSER]


def _remember_device(response, token: str):
    tokens = [token] + [t for t in _device_tokens() if t != token]
    response.set_cookie(
        DEVICE_COOKIE,
        _device_serializer().dumps(tokens[:DEVICES_PER_BROWSER]),
        max_age=DEVICE_COOKIE_DAYS * 86400,
        path=url_for("auth.login"),
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


def _limit_disabled():
    """The limiter object is shared by every app in a process; each app's own setting decides."""
    return not current_app.config.get("RATELIMIT_ENABLED", True)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    _login_limit,
    methods=["POST"],
    exempt_when=_limit_disabled,
    error_message="ログインの試行が多すぎます。しばらく待ってから再度お試しください。",
)
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("dashboard.home"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        signed_in = None
        with unit_of_work():  # a failure is committed too: it counts towards the lockout and is history
            try:
                signed_in = auth_service.authenticate(
                    form.username.data,
                    form.password.data,
                    _device_tokens(),
                    label=request.user_agent.string,
                )
            except LoginError as exc:
                error = exc.message
        if signed_in is not None:
            user = signed_in.user
            session.clear()
            session.permanent = True  # the cookie expires with PERMANENT_SESSION_LIFETIME
            login_user(user)
            session["uid"] = user.id  # to explain a session that ends because the account was deactivated
            security.start_session_clock()  # the idle and absolute limits hold from this response on
            flash(f"{user.display_name}さん、ようこそ。", "success")
            target = _safe_next(request.args.get("next")) or url_for("dashboard.home")
            return _remember_device(redirect(target, code=303), signed_in.device_token)
    status = 200 if request.method == "GET" else 422
    return render_template("auth/login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    with unit_of_work():
        auth_service.end_session(current_user)
    logout_user()
    session.clear()
    flash("ログアウトしました。", "info")
    return redirect(url_for("auth.login"), code=303)


@bp.route("/account/password", methods=["GET", "POST"])
def password():
    form = PasswordForm()
    error = None
    if form.validate_on_submit():
        refused = None
        with unit_of_work():  # a wrong current password is refused but counted (committed) towards the lockout
            try:
                auth_service.change_own_password(current_user, form.current_password.data, form.new_password.data)
            except DomainError as exc:
                refused = exc
        if refused is not None:
            exc = refused
            if exc.details.get("locked"):
                logout_user()
                session.clear()
                flash(exc.message, "error")
                return redirect(url_for("auth.login"), code=303)
            error = exc.message
        else:
            login_user(current_user)  # the token rotated: keep this session, kill the others
            flash("パスワードを変更しました。ほかの端末のログインは無効になりました。", "success")
            return redirect(url_for("dashboard.home"), code=303)
    status = 200 if request.method == "GET" else 422
    return render_template("auth/password.html", form=form, error=error), status


@bp.get("/session/token")
def token():
    """A fresh CSRF token for a page opened before the user signed in again (static/js/app.js)."""
    from flask import jsonify
    from flask_wtf.csrf import generate_csrf

    return jsonify(csrf_token=generate_csrf())


@bp.get("/session/keepalive")
def keepalive():
    """「ログインを続ける」: the request itself renews the idle clock (security._session_expired)."""
    return "", 204
