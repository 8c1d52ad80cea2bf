"""督促: the center reminds chosen units — those not started or still entering a week before the deadline,
those returned and not resubmitted, those with improvement points past their due date — in the app and
by mail, from a phrase. Each reminder is a row per unit (its history); the same text reaches a unit at most
once a Japan day, however often it is sent (the row's unique key decides, so two sends at once agree)."""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite

from agencyapp import policy
from agencyapp.actions import Action
from agencyapp.extensions import db
from agencyapp.formatting import today_tokyo
from agencyapp.lifecycles import SubmissionState
from agencyapp.models import (
    Cycle,
    ImprovementPoint,
    ImprovementRequest,
    Ministry,
    Phrase,
    Reminder,
    Submission,
    Unit,
    User,
)
from agencyapp.models.user import AGENCY
from agencyapp.services import DomainError, clean_text, matches
from agencyapp.services.audit import record
from agencyapp.services.improvements import overdue_points_clause
from agencyapp.services.notifications import notify_each

MESSAGE_MAX = 1000
SELECTIONS = {
    "not_started": "未着手",
    "draft": "入力中",
    "unsubmitted": "未提出（未着手・入力中・差戻し）",
    "returned": "差し戻されて未再提出",
    "overdue_points": "回答期限を過ぎた改善点がある",
}
_STATES = {
    "not_started": (SubmissionState.NOT_STARTED,),
    "draft": (SubmissionState.DRAFT,),
    "unsubmitted": (SubmissionState.NOT_STARTED, SubmissionState.DRAFT, SubmissionState.RETURNED),
    "returned": (SubmissionState.RETURNED,),
}


def _selected(cycle: Cycle, selection: str, ministry_id: int | None, search: str) -> Select:
    """The cycle's target units that the selection names, as (Submission, Unit) rows."""
    if selection not in SELECTIONS:
        raise DomainError("督促する機関の条件を選んでください。", field="selection")
    stmt = (
        select(Submission, Unit)
        .join(Unit, Unit.id == Submission.unit_id)
        .join(Ministry, Ministry.id == Unit.ministry_id)
        .where(Submission.cycle_id == cycle.id)
    )
    if selection in _STATES:
        stmt = stmt.where(Submission.status.in_([str(s) for s in _STATES[selection]]))
    else:  # a point of this unit, of any year, issued and past its due date
        owner = Submission.__table__.alias("owner")
        overdue = (
            select(ImprovementPoint.id)
            .join(ImprovementRequest, ImprovementRequest.id == ImprovementPoint.request_id)
            .join(owner, owner.c.id == ImprovementPoint.submission_id)
            .where(owner.c.unit_id == Submission.unit_id, overdue_points_clause())
        )
        stmt = stmt.where(exists(overdue))
    if ministry_id:
        stmt = stmt.where(Unit.ministry_id == ministry_id)
    if search:
        stmt = stmt.where(matches(search, Unit.name))
    return stmt


@dataclass
class Target:
    submission: Submission
    unit: Unit
    last_reminded: object  # when this unit was last reminded in the cycle (UTC), or None


def targets(
    user: User, cycle: Cycle, selection: str, ministry_id: int | None = None, search: str = "", limit=50, offset=0
) -> tuple[list[Target], int]:
    """One page of the units the selection names, with when each was last reminded; and how many in all."""
    policy.require(user, Action.REMINDER_SEND)
    stmt = _selected(cycle, selection, ministry_id, search)
    total = db.session.scalar(select(func.count()).select_from(stmt.with_only_columns(Submission.id).subquery()))
    rows = db.session.execute(
        stmt.order_by(Ministry.position, Unit.position, Unit.id).limit(limit).offset(offset)
    ).all()
    last = dict(
        db.session.execute(
            select(Reminder.unit_id, func.max(Reminder.sent_at))
            .where(Reminder.cycle_id == cycle.id, Reminder.unit_id.in_([u.id for _, u in rows]))
            .group_by(Reminder.unit_id)
        ).all()
    )
    return [Target(s, u, last.get(u.id)) for s, u in rows], total


def _insert_once(dialect: str):
    """INSERT of a reminder that does nothing when the unit already had the same text today."""
    module = {"postgresql": postgresql, "sqlite": sqlite}[dialect]
    table = Reminder.__table__
    return (
        module.insert(table)
        .on_conflict_do_nothing(index_elements=["unit_id", "message_sha", "sent_on"])
        .returning(table.c.unit_id)
    )


def send(
    user: User,
    cycle: Cycle,
    selection: str,
    message: str | None,
    unit_ids: Sequence[int] | None = None,
    ministry_id: int | None = None,
    search: str = "",
) -> tuple[int, int]:
    """Remind the units the selection names (only ``unit_ids`` among them, when given): a notification with
    mail to each of their contacts, a reminder row on each unit's history. Returns (reminded, skipped: had
    the same reminder today)."""
    policy.require(user, Action.REMINDER_SEND)
    if not (message or "").strip():
        raise DomainError("督促の文面を入力するか、定型文を選んでください。", field="message")
    text = clean_text(message, "督促の文面", limit=MESSAGE_MAX)
    stmt = _selected(cycle, selection, ministry_id, search).with_only_columns(Submission.id, Unit.id, Unit.name)
    if unit_ids is not None:
        if not unit_ids:
            raise DomainError("督促する機関を1つ以上選んでください。", field="unit_ids")
        stmt = stmt.where(Unit.id.in_(list(unit_ids)))
    chosen = db.session.execute(stmt.order_by(Unit.id)).all()
    if not chosen:
        raise DomainError("条件に合う機関がありません。", field="selection")
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    today = today_tokyo()
    contacts = {}
    for contact in db.session.scalars(
        select(User).where(User.role == AGENCY, User.active.is_(True), User.unit_id.in_([u for _, u, _ in chosen]))
    ):
        contacts.setdefault(contact.unit_id, []).append(contact)
    statement = _insert_once(db.session.get_bind().dialect.name)
    reminded = set()
    for _, unit_id, _ in chosen:  # one by one: RETURNING names the units reminded, not those skipped
        row = {
            "unit_id": unit_id,
            "cycle_id": cycle.id,
            "selection": selection,
            "message": text,
            "message_sha": sha,
            "sent_on": today,
            "sent_by_id": user.id,
            "recipients": len(contacts.get(unit_id, [])),
        }
        if db.session.execute(statement, row).scalar_one_or_none() is not None:
            reminded.add(unit_id)
    notify_each(
        (
            (contact, f"【督促】{text}", f"/submissions/{submission_id}")
            for submission_id, unit_id, _ in chosen
            if unit_id in reminded
            for contact in contacts.get(unit_id, [])
        ),
        "reminder",
    )
    skipped = len(chosen) - len(reminded)
    record(
        "reminder.sent",
        actor=user,
        obj=cycle,
        summary=f"{len(reminded)}機関に督促しました（{SELECTIONS[selection]}）"
        + (f"。本日すでに同じ督促を受けた{skipped}機関には送っていません" if skipped else ""),
        after={"selection": selection, "units": sorted(reminded), "skipped": skipped, "message": text},
    )
    return len(reminded), skipped


def history(cycle: Cycle, limit: int = 50, offset: int = 0) -> tuple[list[tuple[Reminder, str, str]], int]:
    """The cycle's reminders, newest first, with the unit's and the sender's names; and how many."""
    total = db.session.scalar(select(func.count()).select_from(Reminder).where(Reminder.cycle_id == cycle.id))
    rows = db.session.execute(
        select(Reminder, Unit.name, User.display_name)
        .join(Unit, Unit.id == Reminder.unit_id)
        .join(User, User.id == Reminder.sent_by_id)
        .where(Reminder.cycle_id == cycle.id)
        .order_by(Reminder.sent_at.desc(), Reminder.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [tuple(row) for row in rows], total


def unit_reminders(unit_id: int, limit: int = 20) -> list[Reminder]:
    """A unit's reminders, newest first (its history of them)."""
    return list(
        db.session.scalars(
            select(Reminder).where(Reminder.unit_id == unit_id).order_by(Reminder.sent_at.desc()).limit(limit)
        )
    )


def message_of(text: str | None, phrase_id: int | None) -> str:
    """The text typed, or when none the body of the chosen reminder phrase."""
    if (text or "").strip() or not phrase_id:
        return text or ""
    phrase = db.session.get(Phrase, phrase_id)
    return phrase.body if phrase is not None and phrase.active and phrase.kind == "reminder" else ""


def phrases() -> list[Phrase]:
    return list(
        db.session.scalars(
            select(Phrase).where(Phrase.kind == "reminder", Phrase.active.is_(True)).order_by(Phrase.title)
        )
    )
