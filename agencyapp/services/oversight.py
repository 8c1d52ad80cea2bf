"""Oversight for ministries (own units) and the center (all, with a ministry filter): read only."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Row, func, select
from sqlalchemy.orm import joinedload

from agencyapp import policy
from agencyapp.actions import Action
from agencyapp.extensions import db
from agencyapp.formatting import today_tokyo
from agencyapp.lifecycles import HEARING_VISIBLE_OUTSIDE_CENTER, POINT_OPEN, HearingState, PointState
from agencyapp.models import (
    Cycle,
    Hearing,
    ImprovementPoint,
    ImprovementRequest,
    ReadLog,
    Submission,
    SubmissionSnapshot,
    Unit,
    User,
)
from agencyapp.services.audit import record

MANY_OPEN_POINTS = 3


def _require(user):
    policy.require(user, Action.OVERSIGHT_VIEW)


@dataclass
class UnitRow:
    submission: Submission
    open_points: int = 0
    overdue_points: int = 0
    hearing: Hearing | None = None
    attention: list = field(default_factory=list)

    @property
    def unit(self) -> Unit:
        return self.submission.unit


def unit_rows(user: User, cycle: Cycle, ministry_id: int | None = None) -> list[UnitRow]:
    """Every overseen unit of the cycle, units needing attention first; four statements."""
    _require(user)
    units = policy.scoped_unit_ids(user, ministry_id)
    submissions = db.session.scalars(
        select(Submission)
        .where(Submission.cycle_id == cycle.id, Submission.unit_id.in_(units))
        .options(joinedload(Submission.unit).joinedload(Unit.ministry))
    ).all()
    today = today_tokyo()
    open_counts, overdue_counts = {}, {}
    # Open points count wherever they were issued: those of earlier years are carried until closed.
    for unit_id, status, due_on, count in db.session.execute(
        select(Submission.unit_id, ImprovementPoint.status, ImprovementRequest.due_on, func.count())
        .join(ImprovementRequest, ImprovementRequest.id == ImprovementPoint.request_id)
        .join(Submission, Submission.id == ImprovementPoint.submission_id)
        .where(Submission.unit_id.in_(units), ImprovementPoint.status.in_(POINT_OPEN))
        .group_by(Submission.unit_id, ImprovementPoint.status, ImprovementRequest.due_on)
    ):
        open_counts[unit_id] = open_counts.get(unit_id, 0) + count
        if status == PointState.ISSUED and due_on < today:
            overdue_counts[unit_id] = overdue_counts.get(unit_id, 0) + count
    hearing_stmt = select(Hearing).where(Hearing.cycle_id == cycle.id, Hearing.status != HearingState.CANCELLED)
    hearings = {h.unit_id: h for h in db.session.scalars(policy.scope_hearings(user, hearing_stmt))}
    rows = []
    for submission in submissions:
        row = UnitRow(
            submission,
            open_counts.get(submission.unit_id, 0),
            overdue_counts.get(submission.unit_id, 0),
            hearings.get(submission.unit_id),
        )
        if submission.editable and cycle.due_on < today:
            row.attention.append("提出期限超過")
        if submission.important_met is False:
            row.attention.append("重要点検項目 未達成")
        if row.overdue_points:
            row.attention.append(f"期限超過の改善点 {row.overdue_points}件")
        if row.open_points >= MANY_OPEN_POINTS:
            row.attention.append(f"未完了の改善点 {row.open_points}件")
        rows.append(row)
    rows.sort(
        key=lambda r: (
            -len(r.attention),
            -(r.overdue_points + r.open_points),
            r.unit.ministry.position,
            r.unit.position,
        )
    )
    return rows


def totals(rows: Sequence[UnitRow]) -> dict[str, int | float | None]:
    submitted = [r for r in rows if r.submission.score_mean is not None]
    return {
        "units": len(rows),
        "submitted": len(submitted),
        "mean": round(sum(r.submission.score_mean for r in submitted) / len(submitted), 2) if submitted else None,
        "important_not_met": sum(1 for r in rows if r.submission.important_met is False),
        "open_points": sum(r.open_points for r in rows),
        "overdue_points": sum(r.overdue_points for r in rows),
        "attention": sum(1 for r in rows if r.attention),
    }


def latest_scores(cycle_id: int, unit_ids: Sequence[int] | None = None) -> dict[int, dict]:
    """{unit_id: scores dict of the latest snapshot} for submitted units of the cycle; one statement."""
    latest = (
        select(SubmissionSnapshot.submission_id, func.max(SubmissionSnapshot.sequence).label("sequence"))
        .group_by(SubmissionSnapshot.submission_id)
        .subquery()
    )
    stmt = (
        select(Submission.unit_id, SubmissionSnapshot.scores)
        .join(latest, latest.c.submission_id == Submission.id)
        .join(
            SubmissionSnapshot,
            (SubmissionSnapshot.submission_id == latest.c.submission_id)
            & (SubmissionSnapshot.sequence == latest.c.sequence),
        )
        .where(Submission.cycle_id == cycle_id, Submission.score_mean.is_not(None))
    )
    if unit_ids is not None:
        stmt = stmt.where(Submission.unit_id.in_(unit_ids))
    return dict(db.session.execute(stmt).all())


def pooled_by_category(score_list: Iterable[Mapping]) -> dict[str, float]:
    """Per 大分類: the mean over every scored answer of the given units (weighted by their counts)."""
    sums, counts = {}, {}
    for scores in score_list:
        for code, entry in scores["by_category"].items():
            if entry["count"] and entry["mean"] is not None:
                sums[code] = sums.get(code, 0) + entry["mean"] * entry["count"]
                counts[code] = counts.get(code, 0) + entry["count"]
    return {code: round(sums[code] / counts[code], 2) for code in sums}


def category_comparison(
    user: User, cycle: Cycle, ministry_id: int | None = None
) -> tuple[dict[str, float], dict[str, float]]:
    """(ministry or filtered means, national means) per 大分類."""
    own_ids = list(db.session.scalars(policy.scoped_unit_ids(user, ministry_id)))
    everyone = latest_scores(cycle.id)
    own = [scores for unit_id, scores in everyone.items() if unit_id in set(own_ids)]
    return pooled_by_category(own), pooled_by_category(everyone.values())


def year_over_year(unit_ids: Sequence[int], edition: str) -> list[tuple[int, float, int]]:
    """[(fiscal year, mean of the units' submitted means)] over every cycle of the edition."""
    from agencyapp.models import ChecklistVersion

    rows = db.session.execute(
        select(Cycle.fiscal_year, func.avg(Submission.score_mean), func.count(Submission.id))
        .join(Submission, Submission.cycle_id == Cycle.id)
        .join(ChecklistVersion, ChecklistVersion.id == Cycle.version_id)
        .where(
            Submission.unit_id.in_(unit_ids), Submission.score_mean.is_not(None), ChecklistVersion.edition == edition
        )
        .group_by(Cycle.fiscal_year)
        .order_by(Cycle.fiscal_year)
    ).all()
    return [(year, round(float(mean), 2), count) for year, mean, count in rows]


def issued_points(user: User, cycle_id: int, unit_ids: Sequence[int]) -> dict[int, list[ImprovementPoint]]:
    """Issued points of the units in one cycle, plus those of earlier cycles still open (carried),
    by unit id; drafts never leave the center. One statement."""
    stmt = (
        policy.scope_points(user, select(ImprovementPoint, Submission.unit_id))
        .join(Submission, Submission.id == ImprovementPoint.submission_id)
        .where(
            Submission.unit_id.in_(unit_ids),
            ImprovementPoint.status != PointState.DRAFT,
            (Submission.cycle_id == cycle_id) | ImprovementPoint.status.in_(POINT_OPEN),
        )
        .options(
            joinedload(ImprovementPoint.request),
            joinedload(ImprovementPoint.question),
            joinedload(ImprovementPoint.submission),
        )
        .order_by(ImprovementPoint.id)
    )
    result = {unit_id: [] for unit_id in unit_ids}
    for point, unit_id in db.session.execute(stmt).unique():
        result[unit_id].append(point)
    return result


def unit_hearings(user: User, unit_id: int) -> Sequence[Hearing]:
    return db.session.scalars(
        policy.scope_hearings(user, select(Hearing))
        .where(Hearing.unit_id == unit_id)
        .where(Hearing.status.in_(HEARING_VISIBLE_OUTSIDE_CENTER))
        .order_by(Hearing.id.desc())
    ).all()


# --- who has looked ------------------------------------------------------------------------------


VIEW_WINDOW = timedelta(minutes=30)


def record_view(user: User, submission: Submission, page: str) -> None:
    """Log an opening of the submission by someone outside its unit (its own contacts are not logged).

    One view per person, submission and page per 30 minutes: reloads and the redirects after each action
    of a review are one look, not dozens (opening the answers after the summary is still another look).
    """
    if policy.belongs_to_unit(user, submission.unit_id):
        return
    now = datetime.now(UTC)
    recent = db.session.scalar(
        select(ReadLog.id)
        .where(
            ReadLog.submission_id == submission.id,
            ReadLog.user_id == user.id,
            ReadLog.page == page,
            ReadLog.at > now - VIEW_WINDOW,
        )
        .limit(1)
    )
    if recent is None:
        db.session.add(ReadLog(submission_id=submission.id, user_id=user.id, page=page, at=now))


def views_of(submission: Submission, limit: int = 20) -> tuple[Sequence[Row[ReadLog, User]], int]:
    """The latest openings with who, and the total count; two statements."""
    total = db.session.scalar(select(func.count()).select_from(ReadLog).where(ReadLog.submission_id == submission.id))
    rows = db.session.execute(
        select(ReadLog, User)
        .join(User, User.id == ReadLog.user_id)
        .where(ReadLog.submission_id == submission.id)
        .order_by(ReadLog.id.desc())
        .limit(limit)
    ).all()
    return rows, total


def record_export(user: User, kind: str, scope_label: str, rows: int) -> None:
    record(
        "export",
        actor=user,
        summary=f"{scope_label}の{kind}を出力しました（{rows}行）",
        after={"kind": kind, "scope": scope_label, "rows": rows},
    )
