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


def waiting_on(questions, values, applies, question):
    """The controlling questions, still unanswered, that decide whether ``question`` applies.

    ``questions`` maps numbers to questions, ``applies`` is ``applicability``'s result. A question behind
    an unanswered (applicable) one is not 該当なし yet: the page says which answer it waits for. Behind a
    controlling question that is itself switched off by an answer, it is 該当なし for good.
    """
    waiting = []
    for clause in question.conditions or ():
        target = clause["question"]
        if values.get(target) is not None:
            continue
        if applies.get(target):
            waiting.append(target)
        elif target in questions:
            waiting.extend(waiting_on(questions, values, applies, questions[target]))
    return sorted(set(waiting))


def switched_by(questions, number):
    """For a controlling question: [(value, numbers of the questions that answer switches off)]."""
    controller = next((q for q in questions if q.number == number), None)
    if controller is None:
        return []
    dependents = [(q.number, c) for q in questions for c in (q.conditions or ()) if c["question"] == number]
    if not dependents:
        return []
    return [
        (value, [n for n, clause in dependents if not clause_holds(clause, value)])
        for value in controller.allowed_values
    ]


def number_ranges(numbers):
    """設問87〜108、110（23問） from a list of question numbers."""
    numbers = sorted(set(numbers))
    runs, start, prev = [], None, None
    for n in numbers:
        if start is None:
            start = prev = n
        elif n == prev + 1:
            prev = n
        else:
            runs.append((start, prev))
            start = prev = n
    if start is not None:
        runs.append((start, prev))
    text = "、".join(f"{a}" if a == b else f"{a}〜{b}" for a, b in runs)
    return f"設問{text}（{len(numbers)}問）" if numbers else ""
