"""Closing a fiscal year (年度の締め): late units recorded, open points carried, the report's figures frozen.

``preview`` says what closing would do (shown on the confirmation page); ``close`` does it in the caller's
transaction: each target unit's self-check is marked late or in time (``Submission.late_at_close``: not
submitted by the due date, or first submitted after it); every improvement point still open — issued in
this cycle, or carried into it from an earlier one — is carried into the next fiscal year's cycle of the
same edition, keeping its history, with a step in it that says so; the committee report's figures of the
nation and of every ministry are frozen (``CycleReport``). A closed cycle is not reopened.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, case, exists, func, insert, or_, select, update

from agencyapp.extensions import db
from agencyapp.formatting import date_wareki, fiscal_year_short, today_tokyo
from agencyapp.lifecycles import POINT_OPEN, CycleState
from agencyapp.models import ChecklistVersion, Cycle, CycleReport, ImprovementPoint, PointEvent, Submission, User
from agencyapp.services import DomainError, committee_report, workflow
from agencyapp.services.cycles import submission_deadline


@dataclass
class Closing:
    """What closing the cycle does, before it is done."""

    cycle: Cycle
    next_cycle: Cycle | None
    units: int
    late: int  # not submitted by the due date, or first submitted after it
    unsubmitted: int
    open_points: int  # to carry into ``next_cycle``

    @property
    def blocked(self) -> str:
        """Why the cycle cannot be closed now ("" when it can)."""
        if self.cycle.closed:
            return "この年度点検は既に締められています。"
        if not past_due(self.cycle):
            return (
                f"提出期限（{date_wareki(self.cycle.due_on)}）が過ぎていないため、まだ締められません"
                "（締めると、その時点で提出していない機関が遅延として記録されます）。"
            )
        if self.open_points and self.next_cycle is None:
            following = fiscal_year_short(self.cycle.fiscal_year + 1)
            return (
                f"未完了の改善点が{self.open_points}件あり、繰り越し先の{following}の年度点検がまだありません。"
                "先に翌年度の年度点検を開始してください。"
            )
        return ""


def past_due(cycle: Cycle) -> bool:
    """A cycle may be closed once its due date has passed (before it, a unit still answering would be late)."""
    return cycle.due_on < today_tokyo()


def awaiting_close(limit: int) -> list[Cycle]:
    """Open cycles past their due date with a later fiscal year already opened: the ones to close now."""
    newest = select(func.max(Cycle.fiscal_year)).correlate(None).scalar_subquery()
    return db.session.scalars(
        select(Cycle)
        .where(Cycle.status == CycleState.OPEN, Cycle.due_on < today_tokyo(), Cycle.fiscal_year < newest)
        .order_by(Cycle.fiscal_year)
        .limit(limit)
    ).all()


def next_cycle_of(cycle: Cycle) -> Cycle | None:
    """The next fiscal year's cycle of the same edition (where open points are carried)."""
    return db.session.scalar(
        select(Cycle)
        .join(ChecklistVersion, ChecklistVersion.id == Cycle.version_id)
        .where(ChecklistVersion.edition == cycle.version.edition, Cycle.fiscal_year == cycle.fiscal_year + 1)
        .order_by(Cycle.id)
        .limit(1)
    )


def _late_condition(cycle: Cycle):
    """SQL: the self-check was not submitted by the end of the due date (in Tokyo), or not at all."""
    first = committee_report.first_submitted(cycle)
    on_time = exists(
        select(first.c.submission_id).where(
            first.c.submission_id == Submission.id, first.c.first < submission_deadline(cycle)
        )
    )
    return ~on_time


def _open_points(cycle: Cycle):
    """SQL: the points still open of this cycle's self-checks, or carried into this cycle."""
    return and_(
        ImprovementPoint.status.in_(POINT_OPEN),
        or_(
            ImprovementPoint.submission_id.in_(select(Submission.id).where(Submission.cycle_id == cycle.id)),
            ImprovementPoint.carried_to_cycle_id == cycle.id,
        ),
    )


def preview(cycle: Cycle) -> Closing:
    late = _late_condition(cycle)
    units, late_n, unsubmitted = db.session.execute(
        select(
            func.count(),
            func.sum(case((late, 1), else_=0)),
            func.sum(case((Submission.score_mean.is_(None), 1), else_=0)),
        ).where(Submission.cycle_id == cycle.id)
    ).one()
    points = db.session.scalar(select(func.count()).select_from(ImprovementPoint).where(_open_points(cycle)))
    return Closing(cycle, next_cycle_of(cycle), units, int(late_n or 0), int(unsubmitted or 0), points or 0)


def close(user: User, cycle: Cycle) -> Closing:
    """Close the cycle (the center; confirmation is the page's). Returns what was done."""
    workflow.check(cycle, "close", user)
    closing = preview(cycle)
    if closing.blocked:
        raise DomainError(closing.blocked)
    now = datetime.now(UTC)
    db.session.execute(
        update(Submission)
        .where(Submission.cycle_id == cycle.id)
        .values(late_at_close=case((_late_condition(cycle), True), else_=False))
        .execution_options(synchronize_session=False)
    )
    carried = 0
    if closing.open_points:
        target = closing.next_cycle
        ids = list(db.session.scalars(select(ImprovementPoint.id).where(_open_points(cycle))))
        body = (
            f"{fiscal_year_short(cycle.fiscal_year)}の年度点検の締めにより、"
            f"{fiscal_year_short(target.fiscal_year)}の年度点検に繰り越しました（未完了のまま、経緯を引き継ぎます）。"
        )
        db.session.execute(
            insert(PointEvent),
            [{"point_id": i, "kind": "carried", "body": body, "actor_id": user.id, "at": now} for i in ids],
        )
        db.session.execute(
            update(ImprovementPoint)
            .where(ImprovementPoint.id.in_(ids))
            .values(carried_to_cycle_id=target.id, lock_version=ImprovementPoint.lock_version + 1)
            .execution_options(synchronize_session=False)
        )
        carried = len(ids)
    figures = committee_report.freeze_all(cycle)
    db.session.add(
        CycleReport(
            cycle_id=cycle.id,
            figures=figures,
            sha256=committee_report.digest(figures),
            frozen_at=now,
            frozen_by_id=user.id,
        )
    )
    cycle.closed_at, cycle.closed_by_id = now, user.id
    workflow.apply(
        cycle,
        "close",
        user,
        summary=(
            f"{cycle.title}（{fiscal_year_short(cycle.fiscal_year)}）を締めました：遅延 {closing.late}機関、"
            f"改善点の繰越 {carried}件、報告の数値を固定"
        ),
        after={
            "late": closing.late,
            "unsubmitted": closing.unsubmitted,
            "carried_points": carried,
            "carried_to": closing.next_cycle.id if carried else None,
        },
    )
    db.session.flush()
    db.session.expire_all()  # the self-checks and points were written by plain UPDATEs
    return closing
