"""The year's report to the 住基ネット調査委員会: what a cycle came to, nationally or for one ministry.

``figures`` computes the report from the stored figures in SQL (the same columns and the same functions
as the oversight pages, so the two never disagree), as plain JSON-ready data. When the center closes the
year (services/year_end.py) the figures of the nation and of every ministry are frozen in ``CycleReport``;
``report`` then reads them, so that later corrections do not change what was reported. An open cycle's
report is computed afresh and marked 暫定 (provisional).
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, case, func, literal, select, union_all

from agencyapp import policy, scoring
from agencyapp.actions import Action
from agencyapp.extensions import db
from agencyapp.formatting import today_tokyo
from agencyapp.lifecycles import HEARING_HELD, POINT_OPEN, HearingState, PointState, SubmissionState
from agencyapp.models import (
    Answer,
    Cycle,
    CycleReport,
    Hearing,
    HearingFinding,
    ImprovementPoint,
    ImprovementRequest,
    Ministry,
    QuestionFlag,
    Submission,
    SubmissionFigure,
    SubmissionSnapshot,
    Unit,
    User,
)
from agencyapp.models.hearing import KIND_HEARING, KIND_LABELS, KIND_VISIT
from agencyapp.services import figure_cache, important, oversight, question_stats
from agencyapp.services.checklists import load_structure
from agencyapp.services.cycles import submission_deadline

# Bands of a unit's mean for the distribution (lower bound inclusive), the last one exactly 3.00.
BANDS = (
    ("2.00未満", None, 2.0),
    ("2.00〜2.49", 2.0, 2.5),
    ("2.50〜2.74", 2.5, 2.75),
    ("2.75〜2.89", 2.75, 2.9),
    ("2.90〜2.99", 2.9, 3.0),
    ("3.00（満点）", 3.0, None),
)
MAX_FINDINGS = 50


def first_submitted(cycle: Cycle):
    """(submission_id, first) — when each self-check of the cycle was first submitted (its first snapshot)."""
    return (
        select(
            SubmissionSnapshot.submission_id.label("submission_id"),
            func.min(SubmissionSnapshot.created_at).label("first"),
        )
        .where(SubmissionSnapshot.submission_id.in_(select(Submission.id).where(Submission.cycle_id == cycle.id)))
        .group_by(SubmissionSnapshot.submission_id)
        .subquery()
    )


def _rate(part, whole):
    return round(100 * part / whole, 1) if whole else None


def _in_scope(ministry_id: int | None):
    """A condition on a unit-id column: every unit, or one ministry's."""
    if ministry_id is None:
        return lambda column: literal(True)
    return lambda column: column.in_(select(Unit.id).where(Unit.ministry_id == ministry_id))


def _response(cycle: Cycle, in_scope) -> dict:
    first = first_submitted(cycle)
    deadline = submission_deadline(cycle)
    submitted = Submission.score_mean.is_not(None)
    row = db.session.execute(
        select(
            func.count(),
            func.sum(case((submitted, 1), else_=0)),
            func.sum(case((and_(submitted, first.c.first < deadline), 1), else_=0)),
            func.sum(case((Submission.status == SubmissionState.ACCEPTED, 1), else_=0)),
            func.avg(Submission.score_mean),
            func.sum(case((Submission.important_met.is_(True), 1), else_=0)),
            func.sum(case((Submission.important_met.is_(False), 1), else_=0)),
            func.sum(case((Submission.earlier_met.is_(True), 1), else_=0)),
            func.sum(case((Submission.earlier_met.is_(False), 1), else_=0)),
            *[
                func.sum(
                    case(
                        (
                            and_(
                                submitted,
                                Submission.score_mean >= low if low is not None else literal(True),
                                Submission.score_mean < high if high is not None else literal(True),
                            ),
                            1,
                        ),
                        else_=0,
                    )
                )
                for _, low, high in BANDS
            ],
        )
        .select_from(Submission)
        .outerjoin(first, first.c.submission_id == Submission.id)
        .where(Submission.cycle_id == cycle.id, in_scope(Submission.unit_id))
    ).one()
    units, done, on_time, accepted, mean, met, not_met, kept, not_kept, *bands = (
        v if v is None or isinstance(v, float) else int(v) for v in row
    )
    done, on_time, accepted = done or 0, on_time or 0, accepted or 0
    return {
        "units": units,
        "submitted": done,
        "accepted": accepted,
        "on_time": on_time,
        "late": done - on_time,
        "not_submitted": units - done,
        "response_rate": _rate(done, units),
        "on_time_rate": _rate(on_time, units),
        "mean": round(float(mean), 2) if mean is not None else None,
        "important_met": met or 0,
        "important_not_met": not_met or 0,
        "earlier_kept": kept or 0,
        "earlier_not_kept": not_kept or 0,
        "distribution": [{"label": label, "units": n or 0} for (label, _, _), n in zip(BANDS, bands, strict=True)],
    }


def _categories(cycle: Cycle, in_scope) -> list[dict]:
    """Per 大分類 and overall: the pooled mean and 満点率 over every scored answer (oversight's means)."""
    structure = load_structure(cycle.version)
    sums = oversight.category_sums(cycle.id, in_scope)
    result = []
    total = [0, 0, 0]
    for node in structure.categories:
        code = node.section.code
        figures = sums.get(code, (0, 0, 0))
        score = scoring.pooled(figures)
        total = [a + int(b or 0) for a, b in zip(total, figures, strict=True)]
        result.append(
            {
                "code": code,
                "title": node.section.title,
                "answered": score.count,
                "mean": score.mean,
                "full_rate": score.full_rate,
            }
        )
    overall = scoring.pooled(total)
    result.append(
        {"code": "", "title": "全体", "answered": overall.count, "mean": overall.mean, "full_rate": overall.full_rate}
    )
    return result


def _units_at_top(cycle: Cycle, in_scope, groups: list[tuple[int, ...]], submitted: int) -> dict[tuple[int, ...], int]:
    """{question numbers: submitted units with none of those (applicable) questions below the top}, by the scoring
    module's rule: one statement. The failing answers of every group's questions are found once (a CTE, with the
    conditions applied once), then counted per group."""
    if not groups:
        return {}
    structure = load_structure(cycle.version)
    table = scoring.points_table(cycle.version.scale)
    top = max(p for p in table.values() if p is not None)
    below = [v for v, p in table.items() if p is not None and p < top]
    ids = {numbers: [structure.by_number[n].id for n in numbers if n in structure.by_number] for numbers in groups}
    every = sorted({i for group in ids.values() for i in group})
    found = (
        select(Answer.submission_id.label("sid"), Answer.question_id.label("qid"))
        .join(Submission, Submission.id == Answer.submission_id)
        .where(
            Submission.cycle_id == cycle.id,
            Submission.score_mean.is_not(None),
            in_scope(Submission.unit_id),
            Answer.question_id.in_(every),
            Answer.value.in_(below),
        )
    )
    failing = question_stats.applicable(found, structure, cycle.id).cte("failing")
    branches = [
        select(literal(index).label("g"), func.count(func.distinct(failing.c.sid)).label("n")).where(
            failing.c.qid.in_(ids[numbers])
        )
        for index, numbers in enumerate(groups)
    ]
    counts = {g: n for g, n in db.session.execute(union_all(*branches))}
    return {numbers: submitted - int(counts.get(index) or 0) for index, numbers in enumerate(groups)}


def _important(cycle: Cycle, in_scope, submitted: int) -> dict:
    structure = load_structure(cycle.version)
    this_year = []
    for goal in cycle.important_goals:
        node = structure.goals_by_number.get(goal.number)
        numbers = tuple(q.number for q in node.questions) if node else ()
        this_year.append({"goal_number": goal.number, "goal_text": goal.text, "questions": list(numbers)})
    earlier = important.earlier(cycle)
    past = [
        {
            "fiscal_year": item.fiscal_year,
            "goal_number": item.goal_number,
            "goal_text": item.goal_text,
            "questions": list(item.current),
            "withdrawn": item.withdrawn,
            "withdrawn_numbers": list(item.withdrawn_numbers),
            "changes": sorted({q.change for q in item.questions if q.change}),
        }
        for item in earlier.items
    ]
    groups = list(dict.fromkeys(tuple(row["questions"]) for row in this_year + past if row["questions"]))
    at_top = _units_at_top(cycle, in_scope, groups, submitted)
    for row in this_year + past:
        n = at_top.get(tuple(row["questions"])) if row["questions"] else None
        row["units_at_top"] = n
        row["share"] = _rate(n, submitted) if n is not None else None
    return {"label": cycle.important_label, "this_year": this_year, "earlier": past}


def _points(cycle: Cycle, in_scope) -> dict:
    today = today_tokyo()
    overdue = and_(ImprovementPoint.status == PointState.ISSUED, ImprovementRequest.due_on < today)
    this_cycle = Submission.cycle_id == cycle.id
    row = db.session.execute(
        select(
            func.sum(case((this_cycle, 1), else_=0)),
            func.sum(case((and_(this_cycle, ImprovementPoint.status == PointState.ANSWERED), 1), else_=0)),
            func.sum(case((and_(this_cycle, ImprovementPoint.status == PointState.CLOSED), 1), else_=0)),
            func.sum(case((and_(this_cycle, ImprovementPoint.status.in_(POINT_OPEN)), 1), else_=0)),
            func.sum(case((and_(this_cycle, overdue), 1), else_=0)),
            func.sum(case((ImprovementPoint.carried_to_cycle_id == cycle.id, 1), else_=0)),
            func.sum(
                case(
                    (
                        and_(ImprovementPoint.carried_to_cycle_id == cycle.id, ImprovementPoint.status.in_(POINT_OPEN)),
                        1,
                    ),
                    else_=0,
                )
            ),
        )
        .select_from(ImprovementPoint)
        .join(Submission, Submission.id == ImprovementPoint.submission_id)
        .join(ImprovementRequest, ImprovementRequest.id == ImprovementPoint.request_id)
        .where(
            ImprovementPoint.status != PointState.DRAFT,
            in_scope(Submission.unit_id),
            this_cycle | (ImprovementPoint.carried_to_cycle_id == cycle.id),
        )
    ).one()
    issued, answered, closed, open_, overdue_n, carried_in, carried_open = (int(v or 0) for v in row)
    return {
        "issued": issued,
        "answered": answered,
        "closed": closed,
        "open": open_,
        "overdue": overdue_n,
        "carried_in": carried_in,
        "carried_in_open": carried_open,
    }


def _hearings(cycle: Cycle, in_scope) -> dict:
    counts = dict(
        db.session.execute(
            select(Hearing.kind, func.count())
            .where(Hearing.cycle_id == cycle.id, Hearing.status.in_(HEARING_HELD), in_scope(Hearing.unit_id))
            .group_by(Hearing.kind)
        ).all()
    )
    rows = db.session.execute(
        select(Unit.name, Hearing.kind, HearingFinding.text, func.count().over())
        .join(Hearing, Hearing.id == HearingFinding.hearing_id)
        .join(Unit, Unit.id == Hearing.unit_id)
        .where(Hearing.cycle_id == cycle.id, Hearing.status == HearingState.REPORTED, in_scope(Hearing.unit_id))
        .order_by(Hearing.starts_at, HearingFinding.id)
        .limit(MAX_FINDINGS)
    ).all()
    return {
        "hearings": int(counts.get(KIND_HEARING, 0)),
        "visits": int(counts.get(KIND_VISIT, 0)),
        "findings_total": rows[0][3] if rows else 0,
        "findings": [{"unit": unit, "kind": KIND_LABELS.get(kind, kind), "text": text} for unit, kind, text, _ in rows],
    }


def _flags(cycle: Cycle) -> list[dict]:
    structure = load_structure(cycle.version)
    by_key = {q.key: q for q in structure.questions}
    flags = db.session.scalars(
        select(QuestionFlag).where(QuestionFlag.version_id == cycle.version_id).order_by(QuestionFlag.id)
    ).all()
    return [
        {"number": by_key[f.question_key].number, "text": by_key[f.question_key].text, "reason": f.reason}
        for f in flags
        if f.question_key in by_key
    ]


def _ministries(cycle: Cycle) -> list[dict]:
    """Per ministry: response, mean, the 大分類 means and important items (the national report's tables)."""
    first = first_submitted(cycle)
    submitted = Submission.score_mean.is_not(None)
    rows = db.session.execute(
        select(
            Ministry.id,
            Ministry.name,
            func.count(),
            func.sum(case((submitted, 1), else_=0)),
            func.sum(case((and_(submitted, first.c.first < submission_deadline(cycle)), 1), else_=0)),
            func.avg(Submission.score_mean),
            func.sum(case((Submission.important_met.is_(False), 1), else_=0)),
            func.sum(case((Submission.earlier_met.is_(False), 1), else_=0)),
        )
        .select_from(Submission)
        .join(Unit, Unit.id == Submission.unit_id)
        .join(Ministry, Ministry.id == Unit.ministry_id)
        .outerjoin(first, first.c.submission_id == Submission.id)
        .where(Submission.cycle_id == cycle.id)
        .group_by(Ministry.id, Ministry.name, Ministry.position)
        .order_by(Ministry.position, Ministry.id)
    ).all()
    by_category = {}
    for ministry_id, code, *sums in db.session.execute(
        select(
            Unit.ministry_id,
            SubmissionFigure.category_code,
            func.sum(SubmissionFigure.answered),
            func.sum(SubmissionFigure.points),
            func.sum(SubmissionFigure.full),
        )
        .join(Submission, Submission.id == SubmissionFigure.submission_id)
        .join(Unit, Unit.id == Submission.unit_id)
        .where(Submission.cycle_id == cycle.id, Submission.score_mean.is_not(None))
        .group_by(Unit.ministry_id, SubmissionFigure.category_code)
    ):
        by_category.setdefault(ministry_id, {})[code] = scoring.pooled(sums).mean
    result = []
    for ministry_id, name, units, done, on_time, mean, not_met, not_kept in rows:
        done, on_time = int(done or 0), int(on_time or 0)
        result.append(
            {
                "id": ministry_id,
                "name": name,
                "units": units,
                "submitted": done,
                "response_rate": _rate(done, units),
                "on_time_rate": _rate(on_time, units),
                "mean": round(float(mean), 2) if mean is not None else None,
                "important_not_met": int(not_met or 0),
                "earlier_not_kept": int(not_kept or 0),
                "categories": by_category.get(ministry_id, {}),
            }
        )
    return result


def compute(cycle: Cycle, ministry_id: int | None = None) -> dict:
    """The report's figures for the nation (``ministry_id`` None) or one ministry, as JSON-ready data."""
    in_scope = _in_scope(ministry_id)
    response = _response(cycle, in_scope)
    previous = question_stats.previous_cycle(cycle)
    last = None
    if previous is not None:  # last year's as reported when it was closed, else as it stands
        frozen = _frozen(previous)
        source = frozen.figures["scopes"].get(_scope_key(ministry_id)) if frozen is not None else None
        if source is None:
            source = {"response": _response(previous, in_scope), "categories": _categories(previous, in_scope)}
        last = {
            "fiscal_year": previous.fiscal_year,
            "response_rate": source["response"]["response_rate"],
            "on_time_rate": source["response"]["on_time_rate"],
            "mean": source["response"]["mean"],
            "categories": {c["code"]: c["mean"] for c in source["categories"]},
        }
    return {
        "response": response,
        "categories": _categories(cycle, in_scope),
        "last_year": last,
        "important": _important(cycle, in_scope, response["submitted"]),
        "points": _points(cycle, in_scope),
        "hearings": _hearings(cycle, in_scope),
        "flags": _flags(cycle),
        "ministries": _ministries(cycle) if ministry_id is None else [],
    }


def freeze_all(cycle: Cycle) -> dict:
    """Every scope's figures at this moment: the nation's and each ministry's with units in the cycle."""
    ministry_ids = db.session.scalars(
        select(Unit.ministry_id)
        .join(Submission, Submission.unit_id == Unit.id)
        .where(Submission.cycle_id == cycle.id)
        .distinct()
    ).all()
    scopes = {_scope_key(m): compute(cycle, m) for m in [None, *sorted(ministry_ids)]}
    return {"generated_at": datetime.now(UTC).isoformat(timespec="seconds"), "scopes": scopes}


def digest(figures: dict) -> str:
    return hashlib.sha256(json.dumps(figures, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def _frozen(cycle: Cycle) -> CycleReport | None:
    return db.session.scalar(select(CycleReport).where(CycleReport.cycle_id == cycle.id))


def _scope_key(ministry_id: int | None) -> str:
    """How a scope is named among the frozen figures."""
    return "nation" if ministry_id is None else str(ministry_id)


@dataclass
class Report:
    cycle: Cycle
    scope_name: str
    figures: dict  # the scope's
    nation: dict | None  # the national figures beside a ministry's (None: this is the national report)
    provisional: bool  # computed now from an open cycle
    frozen_at: datetime | None = None
    sha256: str = ""

    @property
    def categories_last(self) -> dict:
        return (self.figures.get("last_year") or {}).get("categories", {})

    @property
    def nation_categories(self) -> dict:
        return {c["code"]: c for c in (self.nation or {}).get("categories", [])}


def report(user: User, cycle: Cycle, ministry_id: int | None = None) -> Report:
    """The report ``user`` may see: a ministry's own (beside the national figures), or the center's national
    one (or one ministry's with ``ministry_id``). Frozen once the cycle is closed."""
    policy.require(user, Action.OVERSIGHT_VIEW)
    if not policy.can(user, Action.OVERSIGHT_ANY_MINISTRY):
        ministry_id = user.ministry_id  # a ministry's 統括課: its own bureaus only
    ministry = db.session.get(Ministry, ministry_id) if ministry_id is not None else None
    if ministry is None:  # none asked for, or an unknown one: the nation's, for those who may see it
        policy.require(user, Action.OVERSIGHT_ANY_MINISTRY)
        ministry_id = None
    scope = _scope_key(ministry_id)
    name = "全国" if ministry is None else ministry.name
    row = _frozen(cycle)
    if row is not None:
        scopes = row.figures["scopes"]
        figures = scopes.get(scope) or compute(cycle, ministry_id)  # a ministry with no units then
        nation = scopes["nation"] if ministry_id is not None else None
        return Report(cycle, name, figures, nation, False, row.frozen_at, row.sha256)
    key = ("committee-report", cycle.id, scope)
    figures = figure_cache.cached(key, lambda: compute(cycle, ministry_id))
    nation = (
        figure_cache.cached(("committee-report", cycle.id, "nation"), lambda: compute(cycle)) if ministry_id else None
    )
    return Report(cycle, name, figures, nation, True)
