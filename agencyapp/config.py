"""Configuration: defaults, then instance/config.py, then environment variables.

Environment variables are read with the prefix ``AGENCYAPP_`` (for example
``AGENCYAPP_SECRET_KEY``); ``DATABASE_URL`` and ``SECRET_KEY`` are accepted
as well because hosting platforms set them.
"""

import os
from datetime import timedelta

DEVELOPMENT = "development"
PRODUCTION = "production"


class Defaults:
    """Settings that hold unless the instance config or environment says otherwise."""

    ENV_NAME = PRODUCTION
    SECRET_KEY = None
    SQLALCHEMY_DATABASE_URI = None  # filled in by load_config (instance/agencyapp.sqlite3)
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SQLITE_BUSY_SECONDS = 10
    MAX_CONTENT_LENGTH = 12 * 1024 * 1024  # above ATTACHMENT_MAX_BYTES, so its Japanese message shows
    ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024

    SESSION_COOKIE_NAME = "agencyapp_session"
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)  # absolute limit of one login
    # The cookie keeps the expiry of its sign-in (the absolute limit) and is signed again only when the
    # session changes (the idle clock's `seen`, every 10 s at most), not on every response.
    SESSION_REFRESH_EACH_REQUEST = False
    IDLE_TIMEOUT = timedelta(minutes=30)
    REMEMBER_COOKIE_DURATION = timedelta(seconds=0)

    WTF_CSRF_TIME_LIMIT = None  # the session bounds the token's life instead
    WTF_CSRF_HEADERS = ["X-CSRFToken"]

    LOCKOUT_THRESHOLD = 5
    LOCKOUT_MINUTES = 15
    PASSWORD_MIN_LENGTH = 12

    RATELIMIT_ENABLED = True
    # Where the sign-in limit counts, shared by every worker and host: Redis in production
    # (AGENCYAPP_RATELIMIT_STORAGE_URI, or AGENCYAPP_REDIS_URL); memory:// only in development and tests.
    RATELIMIT_STORAGE_URI = None
    REDIS_URL = None
    # How many reverse proxies in front of the app set X-Forwarded-For/-Proto/-Host (0: none, the
    # client's address is the connection's). Limits and the history key on the real client through them.
    TRUSTED_PROXIES = 0
    LOGIN_RATE_LIMIT = "30 per minute"
    RATELIMIT_HEADERS_ENABLED = False

    PAGE_SIZE = 25
    BASE_URL = ""  # e.g. https://jukinet.example.go.jp: links in mails sent outside a request (reminders)
    HEARING_REMINDER_DAYS = 3  # `flask send-reminders` notifies this many days before a hearing
    TIMEZONE = "Asia/Tokyo"


def _env(name):
    return os.environ.get("AGENCYAPP_" + name)


def load_config(app, test_config=None):
    """Apply defaults, the instance file and the environment to ``app.config``."""
    app.config.from_object(Defaults)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        env_name = _env("ENV")
        if env_name:
            app.config["ENV_NAME"] = env_name
        secret = _env("SECRET_KEY") or os.environ.get("SECRET_KEY")
        if secret:
            app.config["SECRET_KEY"] = secret
        url = _env("DATABASE_URL") or os.environ.get("DATABASE_URL")
        if url:
            app.config["SQLALCHEMY_DATABASE_URI"] = url
        for key in (
            "BASE_URL",
            "SMTP_HOST",
            "SMTP_PORT",
            "SMTP_USERNAME",
            "SMTP_PASSWORD",
            "SMTP_STARTTLS",
            "SMTP_SSL",
            "SMTP_TIMEOUT",
            "MAIL_FROM",
            "MAIL_SUBJECT_PREFIX",
            "RATELIMIT_STORAGE_URI",
            "RATELIMIT_KEY_PREFIX",
            "LOGIN_RATE_LIMIT",
            "REDIS_URL",
            "TRUSTED_PROXIES",
            "SQLITE_BUSY_SECONDS",
            "ATTACHMENT_DIR",
        ):
            if _env(key):
                app.config[key] = _env(key)
    else:
        app.config.from_mapping(test_config)

    if app.config["ENV_NAME"] == DEVELOPMENT:
        # Served over plain http://127.0.0.1 by `make run`.
        app.config.setdefault("SECRET_KEY", None)
        if not app.config["SECRET_KEY"]:
            app.config["SECRET_KEY"] = "dev-only-" + "not-secret"
        if test_config is None or "SESSION_COOKIE_SECURE" not in test_config:
            app.config["SESSION_COOKIE_SECURE"] = False
    elif not app.config.get("SECRET_KEY"):
        raise RuntimeError(
            "SECRET_KEY が設定されていません。"
            "本番環境では AGENCYAPP_SECRET_KEY（または SECRET_KEY）を設定してください。"
        )

    _limiter_storage(app)
    app.config["TRUSTED_PROXIES"] = int(app.config.get("TRUSTED_PROXIES") or 0)

    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        os.makedirs(app.instance_path, exist_ok=True)
        path = os.path.join(app.instance_path, "agencyapp.sqlite3")
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + path
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # A writer waits this long for another to finish (sqlite3's timeout is SQLite's busy_timeout);
        # past it the request is a 503 (views/errors.py), never a 500.
        options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        wait = float(app.config["SQLITE_BUSY_SECONDS"])
        options["connect_args"] = {**options.get("connect_args", {}), "timeout": wait}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _limiter_storage(app):
    """Redis (or another shared store) in production; memory:// is per worker and forgets on restart."""
    uri = app.config.get("RATELIMIT_STORAGE_URI") or app.config.get("REDIS_URL")
    if app.config["ENV_NAME"] == PRODUCTION and (not uri or uri.startswith("memory://")):
        raise RuntimeError(
            "ログイン試行の制限を全ワーカー・全サーバーで共有するため、本番環境では"
            " AGENCYAPP_REDIS_URL（例 redis://127.0.0.1:6379/0）または"
            " AGENCYAPP_RATELIMIT_STORAGE_URI を設定してください。"
        )
    app.config["RATELIMIT_STORAGE_URI"] = uri or "memory://"


def normalise_database_url(url):
    """Use psycopg 3 for PostgreSQL URLs given in the short forms."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
