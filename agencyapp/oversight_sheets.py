"""Oversight exports (.xlsx and .csv) of the scope the oversight pages show: the sheets, for the routes
(views/oversight_exports.py) and for the task queue (services/export_jobs.py), outside any request.

Nothing is built whole, whatever the scope (the whole nation is 2,000 units and about 250,000 answers a
year): each sheet is a generator of its own rows, a CSV builds only the sheet asked for and is encoded as
it is sent, the .xlsx is written row by row to a temporary file and sent from there. Answers are read as
plain columns in batches, never as ORM objects. The export is recorded (and committed) before the body
goes out, with the number of rows it holds."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice

from sqlalchemy import func, select

from agencyapp.exports import Column, Sheet, workbook_file
from agencyapp.extensions import db
from agencyapp.formatting import datetime_wareki, fiscal_year_label, now_utc, stamp_tokyo
from agencyapp.models import Answer, ChecklistQuestion, ChecklistVersion, Ministry, Submission, Unit, User
from agencyapp.services import oversight as service
from agencyapp.services.checklists import load_structure

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ANSWER_BATCH = 2000  # rows fetched at a time
UNITS_PER_STATEMENT = 500  # submissions (answers) or units (points) per statement


@dataclass(frozen=True)
class _Unit:
    """A unit in scope as plain values. A CSV is written after the request's session has closed (its
    objects detached), so the sheets read nothing from the ORM rows but these, and query afresh."""

    unit_id: int
    ministry: str
    name: str
    order: tuple  # 府省, 機関 (positions), submission
    submission_id: int
    frozen: bool
    summary: list
    hearing: list | None


@dataclass(frozen=True)
class _Scope:
    """What every sheet of one export reads: the units of the oversight page (``service.unit_rows``)."""

    user_id: int
    cycle_id: int
    fiscal_year: int
    version_id: int
    label: str  # 全府省 or the ministry's name
    code: str  # for the file name
    units: list[_Unit]


def _unit(r) -> _Unit:
    s, unit = r.submission, r.unit
    return _Unit(
        unit_id=unit.id,
        ministry=unit.ministry.name,
        name=unit.name,
        order=(unit.ministry.position, unit.position, s.id),
        submission_id=s.id,
        frozen=s.frozen,
        summary=[
            unit.ministry.name,
            unit.name,
            s.status_label,
            s.submitted_at,
            s.score_mean,
            s.score_full_rate,
            None if s.important_met is None else ("達成" if s.important_met else "未達成"),
            None if s.earlier_met is None else ("維持" if s.earlier_met else f"未維持（{s.earlier_below}項目）"),
            r.open_points,
            r.overdue_points,
            f"{r.hearing.kind_label}（{r.hearing.status_label}）" if r.hearing else "",
            "、".join(r.attention),
        ],
        hearing=None
        if r.hearing is None
        else [
            r.hearing.kind_label,
            r.hearing.status_label,
            r.hearing.starts_at,
            r.hearing.place,
            r.hearing.minutes if r.hearing.reported_at else "",
        ],
    )


def _chunks(items, size):
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


# --- 概要 -----------------------------------------------------------------------------------------

SUMMARY = (
    Column("府省", 16),
    Column("機関", 24),
    Column("状況", 12),
    Column("提出日時", 22),
    Column("平均点", 8),
    Column("満点率(%)", 10),
    Column("今年度の重要点検項目", 12),
    Column("過年度の重要点検項目", 14),
    Column("未完了の改善点", 8),
    Column("期限超過の改善点", 8),
    Column("ヒアリング・訪問", 24),
    Column("注意事項", 40),
)


def _summary_rows(scope: _Scope) -> Iterator[list]:
    for unit in scope.units:
        yield unit.summary


def _summary_count(scope: _Scope) -> int:
    return len(scope.units)


# --- 回答 -----------------------------------------------------------------------------------------

ANSWERS = (
    Column("府省", 16),
    Column("機関", 24),
    Column("設問番号", 8),
    Column("設問", 60),
    Column("回答", 6),
    Column("回答の意味", 24),
    Column("備考", 40),
)


def _answer_statements(scope: _Scope):
    """The answers of the frozen (submitted) submissions in scope as plain columns, in 府省, 機関, 設問
    order: one statement per batch of submissions, so no statement carries thousands of ids."""
    frozen = sorted((u for u in scope.units if u.frozen), key=lambda u: u.order)
    for chunk in _chunks(frozen, UNITS_PER_STATEMENT):
        yield (
            select(
                Ministry.name,
                Unit.name,
                Answer.question_id,
                ChecklistQuestion.number,
                ChecklistQuestion.text,
                Answer.value,
                Answer.note,
            )
            .select_from(Answer)
            .join(Submission, Submission.id == Answer.submission_id)
            .join(Unit, Unit.id == Submission.unit_id)
            .join(Ministry, Ministry.id == Unit.ministry_id)
            .join(ChecklistQuestion, ChecklistQuestion.id == Answer.question_id)
            .where(Answer.submission_id.in_([u.submission_id for u in chunk]))
            .order_by(Ministry.position, Unit.position, Submission.id, ChecklistQuestion.position)
        )


def _answer_rows(scope: _Scope, between=None) -> Iterator[list]:
    """``between()`` is called after each statement, when no cursor is open (a progress report may commit)."""
    version = db.session.get(ChecklistVersion, scope.version_id)
    questions = {q.id: q for q in load_structure(version).questions}
    for stmt in _answer_statements(scope):
        for ministry, unit, question_id, number, text, value, note in db.session.execute(
            stmt.execution_options(yield_per=ANSWER_BATCH)
        ):
            question = questions.get(question_id)  # its own names for its answers, else the scale's
            meaning = question.label(value) if question else version.scale_label(value)
            yield [ministry, unit, number, text, value, meaning if value is not None else "", note]
        if between is not None:
            between()


def _answer_count(scope: _Scope) -> int:
    return sum(
        db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
        for stmt in _answer_statements(scope)
    )


# --- 改善点 ---------------------------------------------------------------------------------------

POINTS = (
    Column("府省", 16),
    Column("機関", 24),
    Column("設問番号", 8),
    Column("指摘事項", 50),
    Column("改善を求める事項", 40),
    Column("状況", 12),
    Column("回答期限", 18),
    Column("改善計画", 40),
    Column("完了予定日", 18),
    Column("完了報告", 40),
    Column("センターのコメント", 40),
)


def _issued(scope: _Scope):
    """(unit, its issued points) for every unit in scope, the points read a batch of units at a time."""
    user = db.session.get(User, scope.user_id)
    for chunk in _chunks(scope.units, UNITS_PER_STATEMENT):
        issued = service.issued_points(user, scope.cycle_id, [u.unit_id for u in chunk])
        for unit in chunk:
            yield unit, issued[unit.unit_id]


def _point_rows(scope: _Scope) -> Iterator[list]:
    for unit, points in _issued(scope):
        for point in points:
            yield [
                unit.ministry,
                unit.name,
                point.question.number if point.question else None,
                point.finding,
                point.requested_action,
                point.status_label,
                point.request.due_on if point.request else None,
                point.plan,
                point.plan_due_on,
                point.report,
                point.center_comment,
            ]


def _point_count(scope: _Scope) -> int:
    return sum(len(points) for _, points in _issued(scope))


# --- ヒアリング・訪問 --------------------------------------------------------------------------------

HEARINGS = (
    Column("府省", 16),
    Column("機関", 24),
    Column("種別", 12),
    Column("状況", 14),
    Column("日時", 22),
    Column("場所", 24),
    Column("議事録（公開済みのみ）", 60),
)


def _hearing_rows(scope: _Scope) -> Iterator[list]:
    for unit in scope.units:
        if unit.hearing is not None:
            yield [unit.ministry, unit.name, *unit.hearing]


def _hearing_count(scope: _Scope) -> int:
    return sum(1 for u in scope.units if u.hearing is not None)


@dataclass(frozen=True)
class _View:
    title: str
    columns: tuple
    rows: Callable[[_Scope], Iterator[list]]
    count: Callable[[_Scope], int]


VIEWS = {
    "summary": _View("概要", SUMMARY, _summary_rows, _summary_count),
    "answers": _View("回答", ANSWERS, _answer_rows, _answer_count),
    "points": _View("改善点", POINTS, _point_rows, _point_count),
    "hearings": _View("ヒアリング・訪問", HEARINGS, _hearing_rows, _hearing_count),
}


# --- the scope and the files ---------------------------------------------------------------------


def scope_for(user: User, cycle, ministry: Ministry | None) -> _Scope:
    rows = service.unit_rows(user, cycle, ministry.id if ministry else None)
    return _Scope(
        user_id=user.id,
        cycle_id=cycle.id,
        fiscal_year=cycle.fiscal_year,
        version_id=cycle.version_id,
        label=ministry.name if ministry else "全府省",
        code=ministry.code if ministry else "all",
        units=[_unit(r) for r in rows],
    )


def heading(scope: _Scope, title: str, at, who: str) -> str:
    """The title line: 概要　年度：令和8年度（2026年度）　対象：全府省　出力日時：令和8年12月2日 10:05　出力者：…"""
    return "　".join(
        [
            title,
            f"年度：{fiscal_year_label(scope.fiscal_year)}",
            f"対象：{scope.label}",
            f"出力日時：{datetime_wareki(at)}",
            f"出力者：{who}",
        ]
    )


def sheet(scope: _Scope, view: _View, at, who: str, rows=None) -> Sheet:
    rows = view.rows(scope) if rows is None else rows
    return Sheet(view.title, heading(scope, view.title, at, who), view.columns, rows)


def filename(scope: _Scope, suffix: str) -> str:
    return f"oversight-{scope.fiscal_year}-{scope.code}-{stamp_tokyo()}.{suffix}"


def workbook(scope: _Scope, who: str, progress=None):
    """Every sheet in a temporary file: (file, size, data rows). ``progress(percent)`` is called after each
    sheet and each batch of answers, when no cursor is open."""
    at = now_utc()
    if progress is None:
        return workbook_file(sheet(scope, VIEWS[key], at, who) for key in VIEWS)
    total = max(sum(view.count(scope) for view in VIEWS.values()), 1)
    done = [0]

    def report():
        progress(min(99, 100 * done[0] // total))

    def counted(key):
        rows = _answer_rows(scope, between=report) if key == "answers" else VIEWS[key].rows(scope)
        for row in rows:
            done[0] += 1
            yield row
        report()

    return workbook_file(sheet(scope, VIEWS[key], at, who, counted(key)) for key in VIEWS)
