"""Ministries and units, maintained by the system administrator."""

import re

from sqlalchemy import func, select

from agencyapp import policy
from agencyapp.actions import Action
from agencyapp.extensions import db
from agencyapp.models import Ministry, Unit, User
from agencyapp.services import DomainError, clean_text, figure_cache
from agencyapp.services.audit import record

CODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,31}$")


def _require(user):
    policy.require(user, Action.ORGANISATION_MANAGE)


def _code(value, model):
    code = (value or "").strip()
    if not CODE_RE.match(code):
        raise DomainError("コードは半角英小文字・数字・ハイフンで2〜32文字にしてください。")
    if db.session.scalar(select(model.id).where(model.code == code)):
        raise DomainError(f"コード {code} は既に使われています。")
    return code


def add_ministry(user: User, code: str | None, name: str | None) -> Ministry:
    _require(user)
    ministry = Ministry(
        code=_code(code, Ministry),
        name=clean_text(name, "府省名", limit=100),
        position=(db.session.scalar(select(func.max(Ministry.position))) or 0) + 1,
    )
    db.session.add(ministry)
    db.session.flush()
    record(
        "organisation.ministry_added",
        actor=user,
        obj=ministry,
        after={"code": ministry.code, "name": ministry.name},
        summary=f"府省 {ministry.name} を追加しました",
    )
    return ministry


def add_unit(user: User, ministry_id: int | None, code: str | None, name: str | None, kind: str | None) -> Unit:
    _require(user)
    ministry = db.session.get(Ministry, ministry_id) if ministry_id else None
    if ministry is None:
        raise DomainError("府省を選んでください。")
    unit = Unit(
        ministry_id=ministry.id,
        code=_code(code, Unit),
        name=clean_text(name, "機関名", limit=150),
        kind=clean_text(kind, "種別", required=False, limit=50) or "原局",
        position=(db.session.scalar(select(func.max(Unit.position)).where(Unit.ministry_id == ministry.id)) or 0) + 1,
    )
    db.session.add(unit)
    db.session.flush()
    record(
        "organisation.unit_added",
        actor=user,
        obj=unit,
        after={"code": unit.code, "name": unit.name, "ministry": ministry.code},
        summary=f"機関 {unit.name} を追加しました",
    )
    return unit


def update_unit(user: User, unit: Unit, name: str | None, kind: str | None, active: bool) -> Unit:
    """Rename, re-kind or (de)activate a unit; its history stays as it is."""
    _require(user)
    before = {"name": unit.name, "kind": unit.kind, "active": unit.active}
    unit.name = clean_text(name, "機関名", limit=150)
    unit.kind = clean_text(kind, "種別", required=False, limit=50) or unit.kind
    unit.active = bool(active)
    after = {"name": unit.name, "kind": unit.kind, "active": unit.active}
    if before != after:
        figure_cache.bump()  # names and order of the rankings
        record(
            "organisation.unit_updated",
            actor=user,
            obj=unit,
            before=before,
            after=after,
            summary=f"機関 {unit.name} を更新しました",
        )
    return unit
