"""Priority score for choosing hearings and visits: transparent, pure, documented.

Each reason adds ``weight × amount`` to the score, and every contribution is
shown on the page. The default weights (center staff may change them for
their session):

| reason | amount | default weight |
|---|---|---|
| 今年度の重要点検項目で3点未満の設問 | number of such questions | 3 |
| 過年度の重要点検項目で3点を維持していない設問 | number of such questions (services/important.py) | 2 |
| 平均点の低さ | 3 − mean (0 when not submitted) | 10 |
| 前年度からの低下 | last year's mean − this year's (when positive) (*) | 10 |
| 回答期限を過ぎた未回答の改善点 | number of issued points past their due date | 2 |
| 回答期限前の未回答の改善点 | number of issued points not yet due | 0.5 |
| 提出の遅れ・未提出 | 1 when not submitted by the due date or submitted late | 5 |
| 前回のヒアリング・訪問からの年数 | years since the last one (5 when never), at most 5 | 1 |

(*) When the checklist changed since last year, both means are over the questions that follow each
other through the versions' mapping (``compared_mean`` and ``last_year_mean``), so that a question added
or withdrawn by the revision is not read as a drop.
"""

from dataclasses import dataclass, field

WEIGHTS = {
    "important_below": 3.0,
    "earlier_below": 2.0,
    "low_mean": 10.0,
    "drop": 10.0,
    "open_points": 2.0,
    "waiting_points": 0.5,
    "late": 5.0,
    "years_since": 1.0,
}
LABELS = {
    "important_below": "今年度の重要点検項目で3点未満の設問",
    "earlier_below": "過年度の重要点検項目で3点を維持していない設問",
    "low_mean": "平均点の低さ（3 − 平均点）",
    "drop": "前年度からの平均点の低下",
    "open_points": "回答期限を過ぎた未回答の改善点",
    "waiting_points": "回答期限前の未回答の改善点",
    "late": "提出の遅れ・未提出",
    "years_since": "前回のヒアリング・訪問からの年数",
}
NEVER_YEARS = 5
MAX_YEARS = 5


@dataclass
class UnitFacts:
    """What the data says about one unit in one cycle."""

    important_below: int = 0
    earlier_below: int = 0  # earlier years' important-item questions not kept at the top
    mean: float | None = None  # None: not submitted
    last_year_mean: float | None = None
    open_points: int = 0  # issued, not answered, past the due date
    late: bool = False
    years_since_last: int | None = None  # None: never heard or visited
    waiting_points: int = 0  # issued, not answered, not yet due (shown apart: a fresh point is not overdue)
    # When the checklist changed since last year: this year's mean over the questions that follow last year's
    # through the mapping (``last_year_mean`` is then over their old counterparts); None: ``mean`` is compared.
    compared_mean: float | None = None


@dataclass
class Reason:
    key: str
    label: str
    amount: float
    weight: float

    @property
    def points(self):
        return round(self.amount * self.weight, 2)


@dataclass
class Priority:
    score: float
    reasons: list = field(default_factory=list)  # only those that contribute

    def as_list(self):
        return [
            {"key": r.key, "label": r.label, "amount": r.amount, "weight": r.weight, "points": r.points}
            for r in self.reasons
        ]


def amounts(facts):
    """The raw amount of each reason."""
    years = NEVER_YEARS if facts.years_since_last is None else min(max(facts.years_since_last, 0), MAX_YEARS)
    drop = 0.0
    current = facts.mean if facts.compared_mean is None else facts.compared_mean
    if facts.mean is not None and current is not None and facts.last_year_mean is not None:
        drop = max(0.0, round(facts.last_year_mean - current, 2))
    return {
        "important_below": float(facts.important_below),
        "earlier_below": float(facts.earlier_below),
        "low_mean": round(3 - facts.mean, 2) if facts.mean is not None else 0.0,
        "drop": drop,
        "open_points": float(facts.open_points),
        "waiting_points": float(facts.waiting_points),
        "late": 1.0 if facts.late else 0.0,
        "years_since": float(years),
    }


def sql_amounts(facts):
    """The same amounts as ``amounts`` as SQL expressions, so that every unit is scored, filtered and
    ordered in the database. ``facts``: a mapping of the UnitFacts field names to SQL expressions
    (``late`` a boolean condition, ``years_since_last`` already bounded to 0–5 and 5 when never)."""
    from sqlalchemy import and_, case, func

    mean, last = facts["mean"], facts["last_year_mean"]
    current = func.coalesce(facts["compared_mean"], mean) if "compared_mean" in facts else mean
    return {
        "important_below": func.coalesce(facts["important_below"], 0),
        "earlier_below": func.coalesce(facts["earlier_below"], 0),
        "low_mean": case((mean.is_not(None), _round2(3 - mean)), else_=0),
        "drop": case(
            (and_(mean.is_not(None), current.is_not(None), last.is_not(None), last > current), _round2(last - current)),
            else_=0,
        ),
        "open_points": func.coalesce(facts["open_points"], 0),
        "waiting_points": func.coalesce(facts["waiting_points"], 0),
        "late": case((facts["late"], 1), else_=0),
        "years_since": facts["years_since_last"],
    }


def _round2(expression):
    """SQL ``round(x, 2)`` on both databases (PostgreSQL rounds numeric, not double precision)."""
    from sqlalchemy import Numeric, cast, func

    return func.round(cast(expression, Numeric), 2)


def sql_score(facts, weights=None):
    """The priority score as one SQL expression, rounded term by term as ``score`` rounds them, so that
    filtering and ordering in SQL agree with the figures shown."""
    from sqlalchemy import literal

    weights = {**WEIGHTS, **(weights or {})}
    terms = [_round2(amount * weights[key]) for key, amount in sql_amounts(facts).items() if weights[key]]
    return _round2(sum(terms[1:], terms[0])) if terms else literal(0)


def score(facts, weights=None):
    """The priority of one unit with the reasons that make it up."""
    weights = {**WEIGHTS, **(weights or {})}
    reasons = [
        Reason(key, LABELS[key], amount, weights[key])
        for key, amount in amounts(facts).items()
        if amount and weights[key]
    ]
    return Priority(round(sum(r.points for r in reasons), 2), reasons)


def parse_weights(values):
    """Weights from form or query values; anything missing or invalid keeps its default (0–100)."""
    return check_weights(values)[0]


def check_weights(values):
    """(weights, {key: Japanese message}): an invalid weight keeps its default and says why."""
    result, problems = dict(WEIGHTS), {}
    for key in WEIGHTS:
        raw = values.get(f"w_{key}")
        if raw in (None, ""):
            continue
        try:
            number = float(str(raw).strip())
        except (TypeError, ValueError):
            problems[key] = f"「{raw}」は数値ではないため、既定値 {WEIGHTS[key]:g} のままにしました。"
            continue
        if not 0 <= number <= 100:
            problems[key] = f"重みは0〜100で指定してください（既定値 {WEIGHTS[key]:g} のままにしました）。"
            continue
        result[key] = number
    return result, problems
