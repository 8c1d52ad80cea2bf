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
    RATELIMIT_STORAGE_URI = "memory://"
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

    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        os.makedirs(app.instance_path, exist_ok=True)
        path = os.path.join(app.instance_path, "agencyapp.sqlite3")
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + path
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"])


def normalise_database_url(url):
    """Use psycopg 3 for PostgreSQL URLs given in the short forms."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
