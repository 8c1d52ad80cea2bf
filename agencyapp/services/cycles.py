"""Opening a fiscal year's self-check cycle for its target units."""

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from agencyapp import policy
from agencyapp.actions import Action
from agencyapp.extensions import db
from agencyapp.formatting import TOKYO
from agencyapp.lifecycles import VersionState
from agencyapp.models import ChecklistGoal, ChecklistVersion, Cycle, Submission, Unit, User
from agencyapp.services import DomainError, figure_cache
from agencyapp.services.audit import record


def open_cycle(
    *,
    fiscal_year: int | None,
    version: ChecklistVersion | None,
    title: str | None,
    opens_on: date | None,
    due_on: date | None,
    important_goal_numbers: Sequence[int],
    important_label: str,
    units: Sequence[Unit],
    actor: User | None = None,
) -> Cycle:
    """Create the cycle and an untouched submission for each target unit (``actor`` None: the CLI)."""
    if actor is not None:
        policy.require(actor, Action.CYCLE_MANAGE)
    if version is None:
        raise DomainError("チェックリストを選んでください。")
    if version.status != VersionState.PUBLISHED:
        raise DomainError(
            f"チェックリスト {version.code} は公開されていないため、年度点検に使えません"
            f"（状況「{version.status_label}」）。"
        )
    if not fiscal_year or not 2000 <= fiscal_year <= 2100:
        raise DomainError("年度を西暦で入力してください（例：2027）。")
    if opens_on is None or due_on is None:
        raise DomainError("開始日と提出期限を入力してください。")
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise DomainError("名称を200文字以内で入力してください。")
    if db.session.scalar(select(Cycle.id).where(Cycle.fiscal_year == fiscal_year, Cycle.version_id == version.id)):
        raise DomainError("この年度・チェックリストの点検は既にあります。")
    if due_on < opens_on:
        raise DomainError("提出期限は開始日より後の日付にしてください。")
    if not units:
        raise DomainError("対象機関を1つ以上選んでください。")
    goals = db.session.scalars(
        select(ChecklistGoal).where(
            ChecklistGoal.version_id == version.id, ChecklistGoal.number.in_(important_goal_numbers)
        )
    ).all()
    missing = set(important_goal_numbers) - {g.number for g in goals}
    if missing:
        raise DomainError(f"管理目標 {', '.join(map(str, sorted(missing)))} はこのチェックリストにありません。")
    cycle = Cycle(
        fiscal_year=fiscal_year,
        version_id=version.id,
        title=title,
        opens_on=opens_on,
        due_on=due_on,
        important_label=important_label,
        important_goals=list(goals),
    )
    db.session.add(cycle)
    figure_cache.bump()
    db.session.flush()
    for unit in units:
        db.session.add(Submission(cycle_id=cycle.id, unit_id=unit.id))
    record(
        "cycle.opened",
        actor=actor,
        obj=cycle,
        actor_login=None if actor else "cli",
        summary=f"{title} を開始しました（対象 {len(units)} 機関）",
        after={
            "fiscal_year": fiscal_year,
            "version": version.code,
            "due_on": due_on.isoformat(),
            "important_goals": sorted(important_goal_numbers),
        },
    )
    return cycle


def add_targets(cycle: Cycle, units: Iterable[Unit], actor: User | None = None) -> list[Unit]:
    """Open the cycle for further units (those already targeted are left alone)."""
    have = set(db.session.scalars(select(Submission.unit_id).where(Submission.cycle_id == cycle.id)))
    added = [u for u in units if u.id not in have]
    for unit in added:
        db.session.add(Submission(cycle_id=cycle.id, unit_id=unit.id))
    if added:
        figure_cache.bump()
        record(
            "cycle.targets_added",
            actor=actor,
            obj=cycle,
            actor_login=None if actor else "cli",
            summary=f"対象機関を {len(added)} 件追加しました",
        )
    return added


def cycles_to_choose() -> Sequence[Cycle]:
    """Every cycle, newest fiscal year first: what a page's cycle selector offers."""
    return db.session.scalars(select(Cycle).order_by(Cycle.fiscal_year.desc(), Cycle.id.desc())).all()


def submission_deadline(cycle: Cycle) -> datetime:
    """The end of the cycle's due date in Tokyo, as a UTC instant: a self-check submitted before it was in time."""
    return datetime.combine(cycle.due_on + timedelta(days=1), time(), tzinfo=TOKYO).astimezone(UTC)
