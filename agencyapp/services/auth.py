"""Sign-in, lockout, sign-out and password changes."""

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select, update

from agencyapp import passwords, policy
from agencyapp.actions import Action
from agencyapp.extensions import db
from agencyapp.models import LoginDevice, User
from agencyapp.services import DomainError, LoginError
from agencyapp.services.audit import record

# One message, one status and the time of one password check for every refusal: an unknown login
# id, a wrong password, an inactive account and a locked one cannot be told apart (ASVS V6).
GENERIC_FAILURE = "ログインIDまたはパスワードが正しくありません。"
DEVICES_KEPT = 10  # known browsers remembered per account (the most recently used)


def _now():
    return datetime.now(UTC)


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def lock_delay(failures: int) -> timedelta | None:
    """Growing delays: from LOCKOUT_THRESHOLD failures in a row, sign-in pauses for 1, 2, 4, 8 … minutes,
    never longer than LOCKOUT_MINUTES."""
    beyond = failures - current_app.config["LOCKOUT_THRESHOLD"]
    if beyond < 0:
        return None
    return timedelta(minutes=min(2 ** min(beyond, 16), current_app.config["LOCKOUT_MINUTES"]))


def locked_message(holder) -> str:
    """For a signed-in user who locked their own account on the password form (no enumeration there)."""
    from agencyapp.formatting import time_ja

    return (
        "現在のパスワードの誤りが続いたため、安全のためログインを終了し、"
        f"{time_ja(holder.locked_until)}まで新しい端末からのログインを停止しました。"
        "いつもお使いの端末からは、正しいパスワードでログインできます。"
    )


@dataclass
class SignIn:
    """A successful sign-in: the user and the token that marks this browser as known to the account."""

    user: User
    device_token: str


def _known_device(user: User, tokens: Iterable[str]) -> LoginDevice | None:
    hashes = [_hash_token(t) for t in tokens if t][:5]
    if not hashes:
        return None
    return db.session.scalar(
        select(LoginDevice).where(LoginDevice.user_id == user.id, LoginDevice.token_hash.in_(hashes))
    )


def _count_failure(user: User, holder, now: datetime, where: str) -> None:
    """A wrong password counts against the known browser it came from, else against the account's
    unknown browsers; enough of them in a row pause that holder's sign-in, longer each time."""
    holder.failed_login_count += 1
    delay = lock_delay(holder.failed_login_count)
    if delay is None:
        record("login.failure", actor=user, obj=user, summary=f"パスワード誤りまたは無効なアカウント（{where}）")
        return
    holder.locked_until = now + delay
    minutes = int(delay.total_seconds() // 60)
    record(
        "login.lockout",
        actor=user,
        obj=user,
        summary=f"連続したログイン失敗により{where}からのログインを{minutes}分間停止しました"
        f"（{holder.failed_login_count}回目）",
    )
    if holder.failed_login_count == current_app.config["LOCKOUT_THRESHOLD"]:
        _warn_owner(user, where)


def _warn_owner(user: User, where: str) -> None:
    """The owner hears of it (in the app and by mail) when their account is being guessed at."""
    from agencyapp.services.notifications import notify

    notify(
        [user],
        "login_attack",
        f"ログインID「{user.login_id}」で、{where}からのパスワード誤りが続いたため、{where}からのログインを"
        "一時的に停止しました。いつもお使いの端末からは、正しいパスワードでそのままログインできます。"
        "心当たりがない場合は、パスワードを変更し、システム管理者に連絡してください。",
        "/account/password",
    )


def authenticate(login_id: str | None, password: str, device_tokens: Iterable[str] = (), label: str = "") -> SignIn:
    """Return the sign-in for these credentials, or raise LoginError with GENERIC_FAILURE.

    ``device_tokens`` are the known-browser tokens of this browser's cookie. A failure counts against
    that known browser if it is one of this account's, else against the account's unknown browsers:
    someone guessing from elsewhere pauses only unknown browsers, and the owner's own browser with the
    right password still signs in and lifts that pause. A failure changes the account and the history:
    the caller commits when this raises too.
    """
    login_id = (login_id or "").strip()
    user = db.session.scalar(select(User).where(User.login_id == login_id)) if login_id else None
    if user is None:
        passwords.burn_time(password)
        record("login.failure", actor_login=login_id[:64], summary="存在しないログインIDでのログイン失敗")
        raise LoginError(GENERIC_FAILURE)
    now = _now()
    device = _known_device(user, device_tokens)
    holder, where = (device, "登録済みの端末") if device is not None else (user, "新しい端末")
    if holder.locked_until and holder.locked_until > now:
        passwords.burn_time(password)  # the same time as a check, and no hint that the password was right
        record("login.locked", actor=user, obj=user, summary=f"ログイン停止中の{where}からのログイン試行")
        raise LoginError(GENERIC_FAILURE)
    if not passwords.verify_password(user.password_hash, password) or not user.active:
        _count_failure(user, holder, now, where)
        raise LoginError(GENERIC_FAILURE)
    if device is not None and user.locked_until and user.locked_until > now:
        record(
            "user.unlocked", actor=user, obj=user, summary="登録済みの端末からの正しいログインでロックを解除しました"
        )
    user.failed_login_count = 0
    user.locked_until = None
    user.last_login_at = now
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    token = None
    if device is None:
        token = secrets.token_urlsafe(32)
        device = LoginDevice(user_id=user.id, token_hash=_hash_token(token), label=(label or "")[:200])
        db.session.add(device)
        _forget_old_devices(user)
    else:
        token = next(t for t in device_tokens if t and _hash_token(t) == device.token_hash)
    device.failed_login_count = 0
    device.locked_until = None
    device.last_used_at = now
    record("login.success", actor=user, obj=user, summary="ログイン")
    return SignIn(user, token)


def _forget_old_devices(user: User) -> None:
    kept = (
        select(LoginDevice.id)
        .where(LoginDevice.user_id == user.id)
        .order_by(LoginDevice.last_used_at.desc())
        .limit(DEVICES_KEPT - 1)
    )
    db.session.execute(
        delete(LoginDevice).where(LoginDevice.user_id == user.id, LoginDevice.id.not_in(kept.scalar_subquery()))
    )


def forget_devices(user: User) -> None:
    """No browser stays known to the account (an administrator set the password)."""
    db.session.execute(delete(LoginDevice).where(LoginDevice.user_id == user.id))


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
    if user.must_change_password:
        forget_devices(user)
    user.rotate_session_token()
    record("user.password_changed", actor=actor or user, obj=user, summary="パスワードを変更しました")


def change_own_password(user: User, current_password: str, new_password: str) -> None:
    """Wrong current passwords count towards the lockout, as failed logins do (the caller commits
    when a wrong current password is refused, so that the count stays)."""
    if not passwords.verify_password(user.password_hash, current_password):
        user.failed_login_count += 1
        delay = lock_delay(user.failed_login_count)
        if delay is not None:
            user.locked_until = _now() + delay
            user.rotate_session_token()
            record(
                "login.lockout",
                actor=user,
                obj=user,
                summary="パスワード変更画面での連続した誤入力により、ログインを終了し新しい端末からのログインを停止しました",
            )
            raise DomainError(locked_message(user), locked=True)
        record("user.password_change_failed", actor=user, obj=user, summary="パスワード変更で現在のパスワードが誤り")
        raise DomainError("現在のパスワードが正しくありません。")
    if current_password == new_password:
        raise DomainError("新しいパスワードは現在のパスワードと異なるものにしてください。")
    set_password(user, new_password)


def unlock(user: User, actor: User | None = None) -> None:
    """Lift every pause on the account: its unknown browsers' and each known browser's."""
    user.locked_until = None
    user.failed_login_count = 0
    db.session.execute(
        update(LoginDevice).where(LoginDevice.user_id == user.id).values(failed_login_count=0, locked_until=None)
    )
    record(
        "user.unlocked",
        actor=actor,
        obj=user,
        summary="アカウントのロックを解除しました",
        actor_login=None if actor else "cli",
    )
