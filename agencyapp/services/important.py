"""重要点検項目 across years: this year's, and every earlier year's kept at 3 points.

The source document's goal: each year's important items are to reach 3 points, 「当該年度以前の重要点検項目
についても、引き続き、3点満点を維持することを目標」. Each cycle remembers its important goals
(``cycle_important_goal``); a self-check is judged on this year's and on every earlier cycle's of the same
edition, whose questions are followed into this year's checklist through the versions' mapping
(``revisions.lineage``). An earlier question the checklist no longer has is listed as withdrawn (廃止) and
judged on nothing. A question that is also one of this year's important items counts once, as this year's.
The judging itself is the scoring module's (``scoring.compute``'s ``earlier_questions``).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from flask import g, has_request_context
from sqlalchemy import select

from agencyapp.extensions import db
from agencyapp.formatting import fiscal_year_short
from agencyapp.models import ChecklistGoal, ChecklistVersion, Cycle
from agencyapp.models.cycle import cycle_important_goal
from agencyapp.services import revisions
from agencyapp.services.checklists import load_structure


@dataclass(frozen=True)
class EarlierQuestion:
    old_number: int  # 設問番号 in that year's checklist
    current: tuple[int, ...]  # 設問番号 in this year's checklist it became; () withdrawn
    change: str  # how it changed on the way ("" when the same)


@dataclass(frozen=True)
class EarlierItem:
    """One earlier year's important goal, as this year's checklist has it."""

    fiscal_year: int
    goal_number: int  # in that year's checklist
    goal_text: str
    questions: tuple[EarlierQuestion, ...]
    current: tuple[int, ...]  # this year's 設問番号 it is judged on (sorted); () when withdrawn whole
    withdrawn_numbers: tuple[int, ...]  # that year's 設問番号 of its questions the checklist no longer has
    again_this_year: bool  # every question left of it is one of this year's important items too

    @property
    def withdrawn(self) -> bool:
        """Nothing of it is left in this year's checklist."""
        return not self.current


@dataclass(frozen=True)
class Earlier:
    """Every earlier year's important items of a cycle, and the question numbers they are judged on."""

    items: tuple[EarlierItem, ...]
    numbers: frozenset[int]  # this year's questions carrying an earlier item and not one of this year's
    years_of: dict  # {this year's question number: (fiscal years it was important in)}
    goal_years: dict = field(default_factory=dict)  # {this year's goal number: 「令和5年度・令和6年度」}

    def years_label(self, numbers) -> str:
        """「令和5年度・令和6年度」: the earlier years any of ``numbers`` was important in ("" when none)."""
        years = sorted({y for n in numbers for y in self.years_of.get(n, ())})
        return "・".join(fiscal_year_short(y) for y in years)

    def labels(self, numbers) -> list[str]:
        """「設問12（令和5年度・令和6年度）」 for each of ``numbers``."""
        return [
            f"設問{n}（{'・'.join(fiscal_year_short(y) for y in self.years_of.get(n, ()))}）" for n in sorted(numbers)
        ]


NONE = Earlier((), frozenset(), {}, {})


def goal_rows(cycle: Cycle) -> tuple[tuple[int, int, int, int], ...]:
    """(cycle id, fiscal year, version id, goal number) of the important goals of this cycle and of every earlier
    one of its edition, oldest first: one statement, kept for the rest of the request (the self-check page reads
    this year's goals and the earlier years' from it)."""
    memo = g.setdefault("important_goal_rows", {}) if has_request_context() else {}
    if cycle.id not in memo:
        memo[cycle.id] = tuple(
            tuple(row)
            for row in db.session.execute(
                select(Cycle.id, Cycle.fiscal_year, Cycle.version_id, ChecklistGoal.number)
                .join(cycle_important_goal, cycle_important_goal.c.cycle_id == Cycle.id)
                .join(ChecklistGoal, ChecklistGoal.id == cycle_important_goal.c.goal_id)
                .join(ChecklistVersion, ChecklistVersion.id == Cycle.version_id)
                .where(
                    ChecklistVersion.edition == cycle.version.edition,
                    (Cycle.fiscal_year < cycle.fiscal_year) | (Cycle.id == cycle.id),
                )
                .order_by(Cycle.fiscal_year, Cycle.id, ChecklistGoal.position)
            )
        )
    return memo[cycle.id]


def this_year_goals(cycle: Cycle) -> list[int]:
    """The cycle's own important goal numbers, in the checklist's order."""
    return [number for cycle_id, _, _, number in goal_rows(cycle) if cycle_id == cycle.id]


def earlier(cycle: Cycle, this_year: Iterable[int] | None = None) -> Earlier:
    """The cycle's earlier important items (``this_year``: the cycle's own important goal numbers, when the
    caller has them). Built once per process for what decides them (``_built``)."""
    goals = frozenset(this_year_goals(cycle) if this_year is None else this_year)
    rows = tuple(
        (year, version, number) for cycle_id, year, version, number in goal_rows(cycle) if cycle_id != cycle.id
    )
    key = (cycle.id, cycle.version_id, goals, rows)
    if key not in _built:
        if len(_built) > 64:
            _built.clear()
        _built[key] = _build(cycle, set(goals), rows)
    return _built[key]


# Earlier important items built per process, keyed by what decides them: the cycle, its important goals and
# the earlier cycles' goals (published versions and their mappings never change).
_built: dict[tuple, Earlier] = {}


def _build(cycle: Cycle, this_year: set[int], rows: tuple) -> Earlier:
    current = load_structure(cycle.version)
    this_year_questions = {q.number for q in current.questions if q.goal_number in this_year}
    by_key = {q.key: q.number for q in current.questions}
    followed: dict[int, dict[str, tuple[tuple[int, ...], str]]] = {}
    items, years_of = [], {}
    for fiscal_year, version_id, goal_number in rows:
        if version_id not in followed:
            followed[version_id] = _follow(version_id, cycle.version, by_key)
        old = load_structure(db.session.get(ChecklistVersion, version_id))
        node = old.goals_by_number.get(goal_number)
        if node is None:
            continue
        questions = []
        for question in node.questions:
            now, change = followed[version_id].get(question.key, ((), "廃止"))
            questions.append(EarlierQuestion(question.number, now, change))
            for number in now:
                if number not in this_year_questions:
                    years_of.setdefault(number, []).append(fiscal_year)
        now_numbers = tuple(sorted({n for q in questions for n in q.current}))
        items.append(
            EarlierItem(
                fiscal_year,
                goal_number,
                node.goal.text,
                tuple(questions),
                now_numbers,
                tuple(q.old_number for q in questions if not q.current),
                bool(now_numbers) and all(n in this_year_questions for n in now_numbers),
            )
        )
    years = {n: tuple(dict.fromkeys(ys)) for n, ys in years_of.items()}
    earlier = Earlier(tuple(items), frozenset(years), years)
    goal_of = {q.number: q.goal_number for q in current.questions}
    for goal_number in {goal_of[n] for n in years}:
        earlier.goal_years[goal_number] = earlier.years_label(n for n in years if goal_of[n] == goal_number)
    return earlier


def _follow(old_version_id: int, version: ChecklistVersion, by_key: dict) -> dict[str, tuple[tuple[int, ...], str]]:
    """{old question key: (this year's question numbers, change label)} along the mapping."""
    result: dict[str, tuple[list[int], str]] = {}
    for new_key, line in revisions.lineage(old_version_id, version).items():
        number = by_key.get(new_key)
        if number is None:
            continue
        for old_key in line.old_keys:
            numbers, _ = result.setdefault(old_key, ([], ""))
            numbers.append(number)
            result[old_key] = (numbers, "" if line.change == "same" else line.change_label)
    return {key: (tuple(sorted(numbers)), change) for key, (numbers, change) in result.items()}
