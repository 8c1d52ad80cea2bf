"""Error pages (htmx-aware), rolling back whatever the failed request had begun."""

import contextlib

from flask import render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.orm.exc import StaleDataError

from agencyapp.errors import Forbidden, NotFound
from agencyapp.extensions import db
from agencyapp.inputs import BadInput

MESSAGES = {
    400: ("リクエストが正しくありません", "入力内容を確認して、もう一度お試しください。"),
    403: ("この操作は許可されていません", "この画面または操作を利用する権限がありません。"),
    404: ("ページが見つかりません", "指定されたページは存在しないか、閲覧する権限がありません。"),
    405: ("この操作は受け付けられません", "画面から操作をやり直してください。"),
    409: ("ほかの操作と重なりました", "画面を再読み込みしてから、もう一度操作してください。"),
    413: ("ファイルが大きすぎます", "送信できる大きさの上限を超えています。"),
    415: ("この形式は受け付けられません", "画面の入力欄から操作してください。"),
    429: ("アクセスが集中しています", "しばらく待ってから再度お試しください。"),
    500: (
        "システムエラーが発生しました",
        "お手数ですが、時間をおいて再度お試しください。解決しない場合はシステム管理者に連絡してください。",
    ),
}


def _render(status, detail=None):
    db.session.rollback()
    title, message = MESSAGES.get(status, MESSAGES[500])
    template = "errors/_fragment.html" if request.headers.get("HX-Request") else "errors/page.html"
    return render_template(template, status=status, title=title, message=detail or message), status


LOST_RACE = (
    "ほかの操作と同時に保存されたため、この操作は行いませんでした。"
    "画面を再読み込みして内容を確かめてから、もう一度操作してください。"
)
UNAVAILABLE = "データベースに接続できないため、処理を行えませんでした。保守作業中か、障害が発生しています。"
UNAVAILABLE_BUSY = "処理が混み合っているため、完了できませんでした。何も変更されていません。"

STALE_TOKEN = "ログインし直したため、この画面の確認用トークンが古くなっていました。もう一度保存します。"
# endpoint -> a view that shows the form again with what was sent, when its token was stale (no JavaScript).
STALE_TOKEN_RECOVERY = {}


def recovers_from_stale_token(endpoint):
    def register(view):
        STALE_TOKEN_RECOVERY[endpoint] = view
        return view

    return register


def init_app(app):
    @app.errorhandler(Forbidden)
    def forbidden(error):
        """The policy refused an action on an object in scope: 403, and a line in the history."""
        from flask_login import current_user

        from agencyapp.security import record_denied

        if current_user.is_authenticated:
            record_denied(current_user, str(error.action))
        return _render(403)

    @app.errorhandler(BadInput)
    def bad_input(error):
        return _render(error.code, error.japanese)

    @app.errorhandler(NotFound)
    def not_found(_error):
        return _render(404)

    @app.errorhandler(CSRFError)
    def csrf_error(_error):
        from flask_login import current_user

        from agencyapp.security import unauthorized

        if not current_user.is_authenticated and request.endpoint != "auth.login":
            return unauthorized()  # no session at all (it expired, or the cookie is gone): not a "bad request"
        if current_user.is_authenticated:
            # Signed in again elsewhere: this page still carries the old session's token.
            if request.headers.get("HX-Request"):
                response = app.make_response((STALE_TOKEN, 400))
                response.headers["X-CSRF-Stale"] = "1"  # the page fetches a fresh token and saves again
                return response
            recover = STALE_TOKEN_RECOVERY.get(request.endpoint)
            if recover is not None:
                db.session.rollback()
                return recover()
        return _render(
            400, "セキュリティ確認用のトークンが無効です。ページを再読み込みしてから、もう一度操作してください。"
        )

    for status in (400, 403, 404, 405, 413, 429):
        app.register_error_handler(status, lambda error, status=status: _render(status))

    @app.errorhandler(StaleDataError)
    def lost_race(_error):
        """Two requests changed one object from the same version and the ORM's flush noticed: the later
        one is refused like any stale page (409), never a 500."""
        return _render(409, LOST_RACE)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(DisconnectionError)
    @app.errorhandler(SQLAlchemyTimeoutError)
    def database_unavailable(error):
        """The database is down, restarting or (SQLite) held by a writer past busy_timeout: 503, drawn
        without touching the database, with Retry-After; nothing of the request was committed."""
        app.logger.warning("database unavailable for %s %s: %s", request.method, request.path, error)
        with contextlib.suppress(Exception):
            db.session.rollback()
        busy = "locked" in str(getattr(error, "orig", error)) or isinstance(error, SQLAlchemyTimeoutError)
        message = UNAVAILABLE_BUSY if busy else UNAVAILABLE
        if request.headers.get("HX-Request"):
            response = app.make_response((f"ただいまシステムを利用できません。{message}", 503))
        else:
            response = app.make_response((render_template("errors/unavailable.html", message=message), 503))
        response.headers["Retry-After"] = "30"
        return response

    @app.errorhandler(500)
    def server_error(_error):
        return _render(500)
