"""Scores of a self-check (DESIGN §6): pure functions, the only place they are computed.

Each applicable question answered with a scored value (1–3) counts; 0 and
questions switched off by a condition are 該当なし and leave the denominator.
Means are out of the scale's top points; 満点率 is the share answered at the top.
Important items: this year's (the cycle's important goals) are met when each of their applicable
questions is at the top; earlier years' (their questions as they are in this year's checklist,
services/important.py) are maintained on the same rule.
"""

from dataclasses import dataclass, field


@dataclass
class Score:
    """Mean and 満点率 over a set of scored answers."""

    count: int = 0
    points: int = 0
    full: int = 0
    max_points: int = 3

    def add(self, points):
        self.count += 1
        self.points += points
        if points == self.max_points:
            self.full += 1

    @property
    def mean(self):
        return round(self.points / self.count, 2) if self.count else None

    @property
    def full_rate(self):
        return round(100 * self.full / self.count, 1) if self.count else None

    def as_dict(self):
        return {"count": self.count, "mean": self.mean, "full_rate": self.full_rate}


@dataclass
class Scores:
    overall: Score
    by_category: dict  # 大分類 code -> Score
    by_subcategory: dict  # 中分類 code -> Score
    by_goal: dict  # 管理目標 number -> Score
    important_met: bool | None  # None when the cycle names no important goals
    important_failing: list = field(default_factory=list)  # question numbers below the top
    important_unanswered: list = field(default_factory=list)
    earlier_met: bool | None = None  # earlier years' important items maintained; None when there are none
    earlier_failing: list = field(default_factory=list)
    earlier_unanswered: list = field(default_factory=list)

    def as_dict(self):
        return {
            "overall": self.overall.as_dict(),
            "by_category": {k: v.as_dict() for k, v in self.by_category.items()},
            "by_subcategory": {k: v.as_dict() for k, v in self.by_subcategory.items()},
            "by_goal": {str(k): v.as_dict() for k, v in self.by_goal.items()},
            "important_met": self.important_met,
            "important_failing": self.important_failing,
            "important_unanswered": self.important_unanswered,
            "earlier_met": self.earlier_met,
            "earlier_failing": self.earlier_failing,
            "earlier_unanswered": self.earlier_unanswered,
        }


def figures(scores):
    """The per 大分類 sums a submission stores with its snapshot: [{category_code, answered, points, full}]."""
    return [
        {"category_code": code, "answered": s.count, "points": s.points, "full": s.full}
        for code, s in scores.by_category.items()
        if s.count
    ]


def pooled(sums, max_points=3):
    """Mean and 満点率 over several submissions from their summed figures (answered, points, full)."""
    answered, points, full = sums
    return Score(count=int(answered or 0), points=int(points or 0), full=int(full or 0), max_points=max_points)


def points_table(scale):
    """Answer value -> points (None for 該当なし) from a version's scale."""
    return {entry["value"]: entry["points"] for entry in scale}


def compute(questions, values, applies, scale, important_goals=(), earlier_questions=()):
    """Score the answers.

    ``questions``: objects with ``number``, ``group_code`` (小分類 code) and ``goal_number``;
    ``values``: question number -> answer value or None; ``applies``: question number -> bool;
    ``important_goals``: the cycle's important goal numbers; ``earlier_questions``: the numbers of this
    year's questions that carry an earlier year's important item (and not this year's).
    """
    table = points_table(scale)
    top = max(p for p in table.values() if p is not None)
    overall = Score(max_points=top)
    by_category, by_subcategory, by_goal = {}, {}, {}
    important = set(important_goals)
    earlier = set(earlier_questions)
    failing, unanswered = [], []
    earlier_failing, earlier_unanswered = [], []
    for question in questions:
        if not applies.get(question.number, False):
            continue
        value = values.get(question.number)
        points = table.get(value) if value is not None else None
        if question.goal_number in important:
            if value is None:
                unanswered.append(question.number)
            elif points is not None and points < top:
                failing.append(question.number)
        elif question.number in earlier:
            if value is None:
                earlier_unanswered.append(question.number)
            elif points is not None and points < top:
                earlier_failing.append(question.number)
        if points is None:
            continue
        parts = question.group_code.split(".")
        for bucket, key in (
            (by_category, parts[0]),
            (by_subcategory, ".".join(parts[:2])),
            (by_goal, question.goal_number),
        ):
            bucket.setdefault(key, Score(max_points=top)).add(points)
        overall.add(points)
    met = None if not important else not failing and not unanswered
    kept = None if not earlier else not earlier_failing and not earlier_unanswered
    return Scores(
        overall,
        by_category,
        by_subcategory,
        by_goal,
        met,
        failing,
        unanswered,
        kept,
        earlier_failing,
        earlier_unanswered,
    )


def progress(questions, values, applies):
    """(answered, applicable) counts over ``questions``."""
    applicable = [q for q in questions if applies.get(q.number, False)]
    answered = sum(1 for q in applicable if values.get(q.number) is not None)
    return answered, len(applicable)
