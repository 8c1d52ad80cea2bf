"""Which questions apply, given the answers so far: the server's one rule."""


def clause_holds(clause, value):
    if value is None:
        return False
    if "in" in clause:
        return value in clause["in"]
    return value not in clause["not_in"]


def applicability(questions, values):
    """Map each question number to True when it applies.

    ``questions`` are in document order and carry ``number`` and ``conditions``
    (a list of clauses); ``values`` maps question numbers to answers (or None).
    A question whose controlling question is unanswered or itself switched off
    does not apply.
    """
    result = {}
    for question in questions:
        applies = True
        for clause in question.conditions or ():
            target = clause["question"]
            if not result.get(target, False) or not clause_holds(clause, values.get(target)):
                applies = False
                break
        result[question.number] = applies
    return result


def describe(conditions):
    """A short Japanese explanation of a condition list, for the page."""
    parts = []
    for clause in conditions or ():
        if "in" in clause:
            values = "・".join(str(v) for v in clause["in"])
            parts.append(f"設問{clause['question']}で「{values}」と回答した場合")
        else:
            values = "・".join(str(v) for v in clause["not_in"])
            parts.append(f"設問{clause['question']}で「{values}」以外を回答した場合")
    return "、かつ".join(parts)
