"""Sign-in, lockout, sign-out and password changes."""

from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from agencyapp import passwords, policy
from agencyapp.actions import Action
from agencyapp.extensions import db
from agencyapp.models import User
from agencyapp.services import DomainError, LoginError
from agencyapp.services.audit import record

GENERIC_FAILURE = "ログインIDまたはパスワードが正しくありません。"


def _now():
    return datetime.now(UTC)


def locked_message(user: User) -> str:
    from agencyapp.formatting import time_ja

    return (
        f"ログインに{current_app.config['LOCKOUT_THRESHOLD']}回続けて失敗したため、このアカウントは"
        f"{time_ja(user.locked_until)}までロックされています。時間をおいて再度お試しいただくか、"
        "システム管理者にロックの解除を依頼してください。"
    )


def authenticate(login_id: str | None, password: str) -> User:
    """Return the user whose credentials these are, or raise LoginError.

    A failure changes the account (failure count, lockout) and the history:
    the caller commits when this raises too.
    """
    login_id = (login_id or "").strip()
    user = db.session.scalar(select(User).where(User.login_id == login_id)) if login_id else None
    if user is None:
        passwords.burn_time(password)
        record("login.failure", actor_login=login_id, summary="存在しないログインIDでのログイン失敗")
        raise LoginError(GENERIC_FAILURE)
    now = _now()
    if user.locked_until and user.locked_until > now:
        passwords.burn_time(password)
        record("login.locked", actor=user, obj=user, summary="ロック中のアカウントへのログイン試行")
        raise LoginError(locked_message(user))
    if not passwords.verify_password(user.password_hash, password) or not user.active:
        user.failed_login_count += 1
        if user.failed_login_count >= current_app.config["LOCKOUT_THRESHOLD"]:
            user.locked_until = now + timedelta(minutes=current_app.config["LOCKOUT_MINUTES"])
            user.failed_login_count = 0
            record(
                "login.lockout", actor=user, obj=user, summary="連続したログイン失敗によりアカウントをロックしました"
            )
            raise LoginError(locked_message(user))
        record("login.failure", actor=user, obj=user, summary="パスワード誤りまたは無効なアカウント")
        raise LoginError(GENERIC_FAILURE)
    user.failed_login_count = 0
    user.locked_until = None
    user.last_login_at = now
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    record("login.success", actor=user, obj=user, summary="ログイン")
    return user


def end_session(user: User, reason: str = "logout") -> None:
    """Sign out: rotate the session token so that every copy of the cookie dies."""
    user.rotate_session_token()
    summary = {
        "logout": "ログアウト",
        "idle": "無操作時間の経過によるログアウト",
        "absolute": "ログイン有効時間の経過によるログアウト",
    }.get(reason, reason)
    record("logout", actor=user, obj=user, summary=summary)


def set_password(user: User, new_password: str, actor: User | None = None) -> None:
    """Set a password that passes the policy; rotates the session token."""
    if actor is not None and actor.id != user.id:
        policy.require(actor, Action.USER_MANAGE)
    problems = passwords.policy_problems(
        new_password,
        current_app.config["PASSWORD_MIN_LENGTH"],
        user_inputs=(user.login_id, user.display_name, user.email.split("@")[0] if user.email else ""),
    )
    if problems:
        raise DomainError(" ".join(problems), problems=problems)
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = _now()
    # Set by someone else (an administrator): the user must choose their own at the next sign-in.
    user.must_change_password = actor is not None and actor.id != user.id
    user.rotate_session_token()
    record("user.password_changed", actor=actor or user, obj=user, summary="パスワードを変更しました")


def change_own_password(user: User, current_password: str, new_password: str) -> None:
    """Wrong current passwords count towards the lockout, as failed logins do (the caller commits
    when a wrong current password is refused, so that the count stays)."""
    if not passwords.verify_password(user.password_hash, current_password):
        user.failed_login_count += 1
        if user.failed_login_count >= current_app.config["LOCKOUT_THRESHOLD"]:
            user.locked_until = _now() + timedelta(minutes=current_app.config["LOCKOUT_MINUTES"])
            user.failed_login_count = 0
            user.rotate_session_token()
            record(
                "login.lockout",
                actor=user,
                obj=user,
                summary="パスワード変更画面での連続した誤入力によりアカウントをロックしました",
            )
            raise DomainError(locked_message(user), locked=True)
        record("user.password_change_failed", actor=user, obj=user, summary="パスワード変更で現在のパスワードが誤り")
        raise DomainError("現在のパスワードが正しくありません。")
    if current_password == new_password:
        raise DomainError("新しいパスワードは現在のパスワードと異なるものにしてください。")
    set_password(user, new_password)


def unlock(user: User, actor: User | None = None) -> None:
    user.locked_until = None
    user.failed_login_count = 0
    record(
        "user.unlocked",
        actor=actor,
        obj=user,
        summary="アカウントのロックを解除しました",
        actor_login=None if actor else "cli",
    )
