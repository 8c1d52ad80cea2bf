"""Applicability rules and scoring: pure functions, no database."""

from dataclasses import dataclass, field

from agencyapp import scoring
from agencyapp.checklists.conditions import applicability, describe

SCALE = [
    {"value": 3, "label": "実施している", "points": 3},
    {"value": 2, "label": "一部実施している", "points": 2},
    {"value": 1, "label": "実施していない", "points": 1},
    {"value": 0, "label": "該当なし", "points": None},
]


@dataclass
class Q:
    number: int
    group_code: str = "1.1.1"
    goal_number: int = 1
    conditions: list = field(default_factory=list)


QUESTIONS = [
    Q(1, "1.1.1", 1),
    Q(2, "1.1.1", 1),
    Q(3, "2.1.1", 2),  # controller
    Q(4, "2.1.2", 3, [{"question": 3, "not_in": [0]}]),
    Q(5, "2.1.3", 4, [{"question": 3, "in": [0]}]),
    Q(6, "2.1.2", 3, [{"question": 4, "in": [3]}]),  # chained on a dependent
]


def test_dependent_questions_follow_the_controller():
    assert applicability(QUESTIONS, {3: 2}) == {1: True, 2: True, 3: True, 4: True, 5: False, 6: False}
    assert applicability(QUESTIONS, {3: 0})[4] is False
    assert applicability(QUESTIONS, {3: 0})[5] is True


def test_unanswered_controller_switches_dependents_off():
    applies = applicability(QUESTIONS, {})
    assert applies[4] is False and applies[5] is False


def test_switched_off_controller_switches_its_dependents_off():
    assert applicability(QUESTIONS, {3: 0, 4: 3})[6] is False
    assert applicability(QUESTIONS, {3: 3, 4: 3})[6] is True


def test_describe_says_when_a_question_applies():
    assert describe([{"question": 21, "in": [0]}]) == "設問21で「0」と回答した場合"
    assert describe([{"question": 21, "not_in": [0]}]) == "設問21で「0」以外を回答した場合"


def test_scores_mean_and_full_rate_per_level():
    values = {1: 3, 2: 1, 3: 2, 4: 3}
    applies = applicability(QUESTIONS, values)
    result = scoring.compute(QUESTIONS, values, applies, SCALE)
    assert result.overall.count == 4
    assert result.overall.mean == 2.25
    assert result.overall.full_rate == 50.0
    assert result.by_category["1"].mean == 2.0
    assert result.by_category["2"].mean == 2.5
    assert result.by_subcategory["2.1"].count == 2
    assert result.by_goal[1].full_rate == 50.0
    assert result.important_met is None


def test_zero_and_switched_off_answers_leave_the_denominator():
    values = {1: 3, 2: 3, 3: 0, 4: 1, 5: 0, 6: 1}  # 4 and 6 are switched off by Q3 = 0
    applies = applicability(QUESTIONS, values)
    result = scoring.compute(QUESTIONS, values, applies, SCALE)
    assert result.overall.count == 2
    assert result.overall.mean == 3.0
    assert result.overall.full_rate == 100.0


def test_important_items_met_only_when_every_applicable_question_scores_3():
    values = {1: 3, 2: 3, 3: 3, 4: 3, 6: 3}
    applies = applicability(QUESTIONS, values)
    assert scoring.compute(QUESTIONS, values, applies, SCALE, important_goals=[3]).important_met is True
    values[6] = 2
    result = scoring.compute(QUESTIONS, values, applicability(QUESTIONS, values), SCALE, important_goals=[3])
    assert result.important_met is False and result.important_failing == [6]


def test_important_items_not_met_while_unanswered_and_met_when_not_applicable():
    values = {3: 2}
    result = scoring.compute(QUESTIONS, values, applicability(QUESTIONS, values), SCALE, important_goals=[3])
    assert result.important_met is False and result.important_unanswered == [4]
    values = {3: 0, 5: 3}
    result = scoring.compute(QUESTIONS, values, applicability(QUESTIONS, values), SCALE, important_goals=[3])
    assert result.important_met is True  # goal 3's questions are switched off


def test_progress_counts_answered_among_applicable():
    values = {1: 3, 3: 0}
    assert scoring.progress(QUESTIONS, values, applicability(QUESTIONS, values)) == (2, 4)


def test_scores_serialise_for_snapshots():
    values = {1: 3}
    data = scoring.compute(QUESTIONS, values, applicability(QUESTIONS, values), SCALE).as_dict()
    assert data["overall"] == {"count": 1, "mean": 3.0, "full_rate": 100.0}
    assert data["by_goal"]["1"]["count"] == 1
