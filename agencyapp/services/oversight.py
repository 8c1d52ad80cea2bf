"""Oversight for ministries (own units) and the center (all, with a ministry filter): read only."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, case, func, literal, select
from sqlalchemy.orm import joinedload

from agencyapp import policy, scoring
from agencyapp.actions import Action
from agencyapp.extensions import db
from agencyapp.formatting import today_tokyo
from agencyapp.lifecycles import HEARING_VISIBLE_OUTSIDE_CENTER, POINT_OPEN, SUBMISSION, HearingState, PointState
from agencyapp.models import (
    Cycle,
    Hearing,
    ImprovementPoint,
    ImprovementRequest,
    Ministry,
    ReadLog,
    Submission,
    SubmissionFigure,
    Unit,
    User,
)
from agencyapp.models.user import ROLE_LABELS
from agencyapp.services import figure_cache
from agencyapp.services.audit import record
from agencyapp.services.selfcheck import load_submissions

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


# Which units a figure covers: a SQL condition on a unit-id column (``policy.unit_scope`` for a user;
# for the center's whole nation it is no condition at all, not an IN over every unit).
InScope = Callable[[ColumnElement[int]], ColumnElement[bool]]


def _point_counts(in_scope: InScope, today):
    """Per unit of ``units``: points still open wherever they were issued (those of earlier years are
    carried until closed), and those issued and past their due date. A grouped subquery."""
    overdue = (ImprovementPoint.status == PointState.ISSUED) & (ImprovementRequest.due_on < today)
    return (
        select(
            Submission.unit_id.label("unit_id"),
            func.count().label("open_points"),
            func.sum(case((overdue, 1), else_=0)).label("overdue_points"),
        )
        .select_from(ImprovementPoint)
        .join(ImprovementRequest, ImprovementRequest.id == ImprovementPoint.request_id)
        .join(Submission, Submission.id == ImprovementPoint.submission_id)
        .where(in_scope(Submission.unit_id), ImprovementPoint.status.in_(POINT_OPEN))
        .group_by(Submission.unit_id)
        .subquery()
    )


class _Overview:
    """The overseen units of a cycle as one SQL statement: the attention rules are here, once, both as
    SQL (to order, count and page every unit) and as the labels shown for the rows of a page."""

    def __init__(self, user: User, cycle: Cycle, ministry_id: int | None):
        _require(user)
        self.cycle = cycle
        self.today = today_tokyo()
        self.in_scope = scope_of(user, ministry_id)
        counts = _point_counts(self.in_scope, self.today)
        self.open = func.coalesce(counts.c.open_points, 0)
        self.overdue = func.coalesce(counts.c.overdue_points, 0)
        self.late = self.cycle.due_on < self.today
        self.rules = [
            (
                Submission.status.in_(SUBMISSION.states_allowing("save")) & literal(self.late),
                lambda row: "提出期限超過",
            ),
            (Submission.important_met.is_(False), lambda row: "今年度の重要点検項目 未達成"),
            (
                Submission.earlier_met.is_(False),
                lambda row: f"過年度の重要点検項目 未維持（{row.submission.earlier_below}項目）",
            ),
            (self.overdue > 0, lambda row: f"期限超過の改善点 {row.overdue_points}件"),
            (self.open >= MANY_OPEN_POINTS, lambda row: f"未完了の改善点 {row.open_points}件"),
        ]
        self.attention = sum((case((condition, 1), else_=0) for condition, _ in self.rules), literal(0))
        self.base = (
            select(Submission)
            .join(Unit, Unit.id == Submission.unit_id)
            .join(Ministry, Ministry.id == Unit.ministry_id)
            .outerjoin(counts, counts.c.unit_id == Submission.unit_id)
            .where(Submission.cycle_id == cycle.id, self.in_scope(Submission.unit_id))
        )

    def labels(self, row: UnitRow) -> list[str]:
        late = self.late and row.submission.editable
        flags = (
            late,
            row.submission.important_met is False,
            row.submission.earlier_met is False,
            row.overdue_points > 0,
            row.open_points >= MANY_OPEN_POINTS,
        )
        return [label(row) for flag, (_, label) in zip(flags, self.rules, strict=True) if flag]


def unit_rows(
    user: User, cycle: Cycle, ministry_id: int | None = None, *, limit: int | None = None, offset: int = 0
) -> list[UnitRow]:
    """The overseen units of the cycle, units needing attention first (all of them, or one page).

    The order over every unit is ranked in SQL once per change of the data (figure_cache); a page then
    reads only its own units: two statements."""
    view = _Overview(user, cycle, ministry_id)

    def rank():
        stmt = view.base.with_only_columns(Submission.id, view.open, view.overdue).order_by(
            view.attention.desc(), (view.open + view.overdue).desc(), Ministry.position, Unit.position, Unit.id
        )
        return [(sid, int(open_), int(overdue)) for sid, open_, overdue in db.session.execute(stmt)]

    ranking = figure_cache.cached(("oversight.ranking", cycle.id, policy.scope_key(user, ministry_id)), rank)
    chosen = ranking[offset : offset + limit] if limit is not None else ranking[offset:]
    loaded = load_submissions([sid for sid, _, _ in chosen])
    rows = [UnitRow(loaded[sid], open_, overdue) for sid, open_, overdue in chosen if sid in loaded]
    if rows:
        hearings = db.session.scalars(
            policy.scope_hearings(user, select(Hearing)).where(
                Hearing.cycle_id == cycle.id,
                Hearing.status != HearingState.CANCELLED,
                Hearing.unit_id.in_([r.submission.unit_id for r in rows]),
            )
        )
        by_unit = {h.unit_id: h for h in hearings}
        for row in rows:
            row.hearing = by_unit.get(row.submission.unit_id)
            row.attention = view.labels(row)
    return rows


def totals(user: User, cycle: Cycle, ministry_id: int | None = None) -> dict[str, int | float | None]:
    """The scope's figures over every unit (not just a page), in one aggregate statement per change."""
    return figure_cache.cached(
        ("oversight.totals", cycle.id, policy.scope_key(user, ministry_id)), lambda: _totals(user, cycle, ministry_id)
    )


def _totals(user: User, cycle: Cycle, ministry_id: int | None) -> dict[str, int | float | None]:
    view = _Overview(user, cycle, ministry_id)
    figures = view.base.with_only_columns(
        func.count(),
        func.count(Submission.score_mean),
        func.avg(Submission.score_mean),
        func.sum(case((Submission.important_met.is_(False), 1), else_=0)),
        func.sum(case((Submission.earlier_met.is_(False), 1), else_=0)),
        func.sum(view.open),
        func.sum(view.overdue),
        func.sum(case((view.attention > 0, 1), else_=0)),
    )
    units, submitted, mean, not_met, earlier_not_met, open_points, overdue_points, attention = db.session.execute(
        figures
    ).one()
    return {
        "units": units,
        "submitted": submitted,
        "mean": round(float(mean), 2) if mean is not None else None,
        "important_not_met": int(not_met or 0),
        "earlier_not_met": int(earlier_not_met or 0),
        "open_points": int(open_points or 0),
        "overdue_points": int(overdue_points or 0),
        "attention": int(attention or 0),
    }


def scope_of(user: User, ministry_id: int | None = None) -> InScope:
    """The units ``user`` oversees (center and admin: all, or one ministry's) as an ``InScope``."""
    return lambda column: policy.unit_scope(user, column, ministry_id)


def category_means(cycle_id: int, in_scope: InScope | None = None, key: tuple | None = None) -> dict[str, float]:
    """Per 大分類: the mean over every scored answer of the submitted units (all, or those of ``units``),
    summed in SQL from the figures stored with each snapshot; the scoring module divides. With ``key``
    (what ``in_scope`` covers) the result is kept until the data changes."""
    if key is not None:
        return figure_cache.cached(("means", cycle_id, key), lambda: category_means(cycle_id, in_scope))
    means = {code: scoring.pooled(sums).mean for code, sums in category_sums(cycle_id, in_scope).items()}
    return {code: mean for code, mean in means.items() if mean is not None}


def category_sums(cycle_id: int, in_scope: InScope | None = None) -> dict[str, tuple]:
    """Per 大分類: (answered, points, full) summed over the submitted units' stored figures; one statement."""
    stmt = (
        select(
            SubmissionFigure.category_code,
            func.sum(SubmissionFigure.answered),
            func.sum(SubmissionFigure.points),
            func.sum(SubmissionFigure.full),
        )
        .join(Submission, Submission.id == SubmissionFigure.submission_id)
        .where(Submission.cycle_id == cycle_id, Submission.score_mean.is_not(None))
        .group_by(SubmissionFigure.category_code)
    )
    if in_scope is not None:
        stmt = stmt.where(in_scope(Submission.unit_id))
    return {code: tuple(sums) for code, *sums in db.session.execute(stmt)}


def category_comparison(
    user: User, cycle: Cycle, ministry_id: int | None = None
) -> tuple[dict[str, float], dict[str, float]]:
    """(ministry or filtered means, national means) per 大分類; two statements."""
    return (
        category_means(cycle.id, scope_of(user, ministry_id), policy.scope_key(user, ministry_id)),
        category_means(cycle.id, key=("nation",)),
    )


def year_over_year(in_scope: InScope, edition: str, key: tuple | None = None) -> list[tuple[int, float, int]]:
    """[(fiscal year, mean of the units' submitted means, units)] over every cycle of the edition
    (kept until the data changes when ``key`` names what ``in_scope`` covers)."""
    from agencyapp.models import ChecklistVersion

    if key is not None:
        return figure_cache.cached(("trend", edition, key), lambda: year_over_year(in_scope, edition))
    rows = db.session.execute(
        select(Cycle.fiscal_year, func.avg(Submission.score_mean), func.count(Submission.id))
        .join(Submission, Submission.cycle_id == Cycle.id)
        .join(ChecklistVersion, ChecklistVersion.id == Cycle.version_id)
        .where(in_scope(Submission.unit_id), Submission.score_mean.is_not(None), ChecklistVersion.edition == edition)
        .group_by(Cycle.fiscal_year)
        .order_by(Cycle.fiscal_year)
    ).all()
    return [(year, round(float(mean), 2), count) for year, mean, count in rows]


@dataclass
class HistoryCell:
    value: int | None
    change: str = ""  # how the question differed in that year's version from this year's ("" when the same)


@dataclass
class UnitHistory:
    """One unit's answers question by question over its last years, each year's answer shown on this year's
    question through the checklist versions' mapping (not by 設問番号)."""

    cycles: list  # oldest first, ending with this year's
    revised: set  # ids of the cycles whose version differs from the previous column's
    rows: list  # [(QuestionInfo, [HistoryCell per cycle])]
    codes: dict  # version id: its code


def unit_history(unit_id: int, cycle: Cycle, years: int = 5) -> UnitHistory:
    """The unit's answers in ``cycle`` and its edition's earlier cycles (at most ``years`` in all), through
    the mapping. Two statements, plus one per distinct earlier version (its mapping)."""
    from agencyapp.models import Answer, ChecklistVersion
    from agencyapp.services import revisions
    from agencyapp.services.checklists import load_structure

    submissions = db.session.execute(
        select(Submission.id, Cycle)
        .join(Cycle, Cycle.id == Submission.cycle_id)
        .join(ChecklistVersion, ChecklistVersion.id == Cycle.version_id)
        .where(
            Submission.unit_id == unit_id,
            ChecklistVersion.edition == cycle.version.edition,
            Cycle.fiscal_year <= cycle.fiscal_year,
            Cycle.fiscal_year > cycle.fiscal_year - years,
            (Submission.score_mean.is_not(None)) | (Submission.cycle_id == cycle.id),
        )
        .order_by(Cycle.fiscal_year, Cycle.id)
    ).all()
    values = {}
    if submissions:
        for submission_id, question_id, value in db.session.execute(
            select(Answer.submission_id, Answer.question_id, Answer.value).where(
                Answer.submission_id.in_([s for s, _ in submissions])
            )
        ):
            values.setdefault(submission_id, {})[question_id] = value
    structure = load_structure(cycle.version)
    columns, lines, revised = [], {}, set()
    for index, (submission_id, past) in enumerate(submissions):
        if past.version_id not in lines:
            lines[past.version_id] = revisions.lineage(past.version_id, cycle.version)
        if index and submissions[index - 1][1].version_id != past.version_id:
            revised.add(past.id)
        by_key = {q.key: values.get(submission_id, {}).get(q.id) for q in load_structure(past.version).questions}
        columns.append((past, by_key))
    rows = []
    for question in structure.questions:
        cells = []
        for past, by_key in columns:
            line = lines[past.version_id].get(question.key)
            if line is None:
                cells.append(HistoryCell(None, "" if past.version_id == cycle.version_id else "新設"))
                continue
            found = [by_key[k] for k in line.old_keys if by_key.get(k) is not None]
            cells.append(HistoryCell(min(found) if found else None, line.change_label if line.change != "same" else ""))
        rows.append((question, cells))
    codes = {past.version_id: past.version.code for past, _ in columns}
    return UnitHistory([past for past, _ in columns], revised, rows, codes)


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


@dataclass(frozen=True)
class View:
    """One opening of a submission from outside its unit, as the 閲覧の記録 shows it."""

    at: datetime
    page: str
    viewer: str
    role: str
    ministry: str | None

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)


def views_of(submission: Submission, limit: int = 20) -> tuple[list[View], int]:
    """The latest openings with who, and the total count; one statement of plain columns."""
    rows = db.session.execute(
        select(ReadLog.at, ReadLog.page, User.display_name, User.role, Ministry.name, func.count().over())
        .join(User, User.id == ReadLog.user_id)
        .outerjoin(Ministry, Ministry.id == User.ministry_id)
        .where(ReadLog.submission_id == submission.id)
        .order_by(ReadLog.id.desc())
        .limit(limit)
    ).all()
    return [View(*row[:5]) for row in rows], (rows[0][5] if rows else 0)


def record_export(user: User, kind: str, scope_label: str, rows: int) -> None:
    record(
        "export",
        actor=user,
        summary=f"{scope_label}の{kind}を出力しました（{rows}行）",
        after={"kind": kind, "scope": scope_label, "rows": rows},
    )
