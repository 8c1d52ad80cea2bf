"""Creating accounts with a role and the matching scope."""

import re
from collections.abc import Sequence

from flask import current_app
from sqlalchemy import select

from agencyapp import passwords, policy
from agencyapp.actions import Action
from agencyapp.extensions import db
from agencyapp.models import Ministry, Unit, User
from agencyapp.models.user import AGENCY, MINISTRY, ROLES
from agencyapp.services import DomainError
from agencyapp.services.audit import record

LOGIN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$")


def create_user(
    *,
    login_id: str,
    display_name: str,
    role: str,
    password: str,
    unit: Unit | None = None,
    ministry: Ministry | None = None,
    email: str = "",
    actor: User | None = None,
    approver: bool = False,
) -> User:
    problems = []
    if not LOGIN_ID_RE.match(login_id or ""):
        problems.append("ログインIDは半角英数字と . _ - で3〜64文字にしてください。")
    elif db.session.scalar(select(User.id).where(User.login_id == login_id)):
        problems.append(f"ログインID {login_id} は既に使われています。")
    if not (display_name or "").strip():
        problems.append("氏名を入力してください。")
    problems += _scope_problems(role, unit, ministry)
    problems += passwords.policy_problems(
        password or "", current_app.config["PASSWORD_MIN_LENGTH"], user_inputs=(login_id, display_name)
    )
    if problems:
        raise DomainError(" ".join(problems), problems=problems)
    user = User(
        login_id=login_id,
        display_name=display_name.strip(),
        role=role,
        email=email or "",
        unit_id=unit.id if role == AGENCY else None,
        ministry_id=ministry.id if role == MINISTRY else None,
        password_hash=passwords.hash_password(password),
        approver=bool(approver) and role == AGENCY,
    )
    db.session.add(user)
    db.session.flush()
    record(
        "user.created",
        actor=actor,
        obj=user,
        actor_login=None if actor else "cli",
        summary=f"アカウント {login_id}（{user.role_label}）を作成しました",
        after={"role": role},
    )
    return user


def set_active(actor: User, user: User, active: bool) -> User:
    """Deactivate (every session dies at once) or reactivate an account."""
    if actor.id == user.id and not active:
        raise DomainError("自分自身のアカウントは無効にできません。")
    if user.active == active:
        return user
    user.active = active
    user.rotate_session_token()
    record(
        "user.activated" if active else "user.deactivated",
        actor=actor,
        obj=user,
        before={"active": not active},
        after={"active": active},
        summary=f"アカウント {user.login_id} を{'有効' if active else '無効'}にしました",
    )
    return user


def search_users(text: str = "", role: str = "", page: int = 1, per_page: int = 25) -> tuple[Sequence[User], int]:
    """A page of accounts (inactive demo contacts included), with the total; two statements."""
    from sqlalchemy import func
    from sqlalchemy.orm import joinedload

    from agencyapp.models import Unit
    from agencyapp.services import matches

    stmt = select(User)
    if text:
        stmt = stmt.where(matches(text, User.login_id, User.display_name))
    if role in ROLES:
        stmt = stmt.where(User.role == role)
    total = db.session.scalar(stmt.with_only_columns(func.count(User.id)))
    rows = (
        db.session.scalars(
            stmt.options(joinedload(User.unit).joinedload(Unit.ministry), joinedload(User.ministry))
            .order_by(User.active.desc(), User.role, User.login_id)
            .offset((max(page, 1) - 1) * per_page)
            .limit(per_page)
        )
        .unique()
        .all()
    )
    return rows, total


def update_user(
    actor: User,
    user: User,
    *,
    display_name: str | None,
    email: str | None,
    role: str | None,
    unit: Unit | None = None,
    ministry: Ministry | None = None,
    approver: bool | None = None,
) -> User:
    """Edit an account (name, mail, and role and scope on a transfer). A change of role or scope ends the
    user's sessions, so that no page keeps showing what the user may no longer see."""
    policy.require(actor, Action.USER_MANAGE)
    problems = []
    name = (display_name or "").strip()
    if not name or len(name) > 100:
        problems.append("氏名を100文字以内で入力してください。")
    mail = (email or "").strip()
    if mail and ("@" not in mail or len(mail) > 254):
        problems.append("メールアドレスの形式が正しくありません。")
    problems += _scope_problems(role, unit, ministry)
    if actor.id == user.id and role != user.role:
        problems.append("自分自身の役割は変更できません。")
    if problems:
        raise DomainError(" ".join(problems), problems=problems)
    before = {
        "display_name": user.display_name,
        "email": user.email,
        "role": user.role,
        "unit": user.unit_id,
        "ministry": user.ministry_id,
        "approver": user.approver,
    }
    user.display_name, user.email, user.role = name, mail, role
    if approver is not None:
        user.approver = bool(approver)
    user.approver = user.approver and role == AGENCY
    user.unit_id = unit.id if role == AGENCY else None
    user.ministry_id = ministry.id if role == MINISTRY else None
    after = {
        "display_name": user.display_name,
        "email": user.email,
        "role": user.role,
        "unit": user.unit_id,
        "ministry": user.ministry_id,
        "approver": user.approver,
    }
    if before == after:
        return user
    if (before["role"], before["unit"], before["ministry"]) != (after["role"], after["unit"], after["ministry"]):
        user.rotate_session_token()
    record(
        "user.updated",
        actor=actor,
        obj=user,
        before=before,
        after=after,
        summary=f"アカウント {user.login_id} を更新しました",
    )
    return user


def _scope_problems(role: str | None, unit: Unit | None, ministry: Ministry | None) -> list[str]:
    """A role comes with its scope: an agency contact belongs to a unit, a security division to a ministry."""
    problems = []
    if role not in ROLES:
        problems.append("役割が正しくありません。")
    if role == AGENCY and unit is None:
        problems.append("機関担当者には所属機関が必要です。")
    if role == MINISTRY and ministry is None:
        problems.append("省統括課の利用者には府省が必要です。")
    return problems
