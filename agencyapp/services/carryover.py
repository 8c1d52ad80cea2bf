"""Last year's answers in this year's self-check.

A unit may start its self-check from its last accepted one: each answer is carried through the checklist
versions' old → new mapping as the mapping's carry rule says (copy the answer; show it for reference only;
start empty), and a copied answer stays marked 「前年度の回答・未確認」 — counted as unanswered for
submission — until the contact confirms it (one question, or a whole 大分類 after reading it) or changes
it. Beside every question the page shows last year's answer and the improvement points and hearing
findings on it, with their status (``last_year``).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import insert, select, update

from agencyapp.extensions import db
from agencyapp.formatting import fiscal_year_short
from agencyapp.lifecycles import HEARING_VISIBLE_OUTSIDE_CENTER, PointState, SubmissionState
from agencyapp.models import (
    Answer,
    ChecklistQuestion,
    ChecklistVersion,
    Cycle,
    Hearing,
    HearingFinding,
    ImprovementPoint,
    Submission,
    User,
)
from agencyapp.services import DomainError, revisions, workflow
from agencyapp.services.checklists import load_structure
from agencyapp.services.selfcheck import STALE

RISE_NOTE = "前年度は1点でした。3点とした理由（行った改善など）を備考に記入してください。"


def last_accepted(submission: Submission) -> Submission | None:
    """The unit's latest accepted self-check of an earlier fiscal year, with the same edition of the checklist."""
    return db.session.scalar(
        select(Submission)
        .join(Cycle, Cycle.id == Submission.cycle_id)
        .join(ChecklistVersion, ChecklistVersion.id == Cycle.version_id)
        .where(
            Submission.unit_id == submission.unit_id,
            Submission.status == SubmissionState.ACCEPTED,
            Cycle.fiscal_year < submission.cycle.fiscal_year,
            ChecklistVersion.edition == submission.cycle.version.edition,
        )
        .order_by(Cycle.fiscal_year.desc(), Cycle.id.desc())
        .limit(1)
    )


def _old_answers(previous: Submission) -> dict[str, tuple[int | None, str]]:
    """{question key: (value, note)} of an earlier self-check, as plain columns."""
    rows = db.session.execute(
        select(ChecklistQuestion.key, Answer.value, Answer.note)
        .join(ChecklistQuestion, ChecklistQuestion.id == Answer.question_id)
        .where(Answer.submission_id == previous.id)
    )
    return {key: (value, note) for key, value, note in rows}


def start_from_last_year(user: User, submission: Submission, lock_version: int | None) -> dict[str, int]:
    """Fill a self-check not yet started with its unit's last accepted answers, through the mapping; every
    copied answer is marked carried. Returns how many were copied and how many are shown for reference."""
    workflow.check(submission, "carry_over", user)
    workflow.check_lock(submission, lock_version, STALE)
    previous = last_accepted(submission)
    if previous is None:
        raise DomainError("引き継げる前年度以前の自己点検（センター確認済み）がありません。")
    if db.session.scalar(select(Answer.id).where(Answer.submission_id == submission.id).limit(1)) is not None:
        raise DomainError("すでに回答が入力されているため、前年度の回答は引き継げません。")
    structure = load_structure(submission.cycle.version)
    old = _old_answers(previous)
    lines = revisions.lineage(previous.cycle.version_id, submission.cycle.version)
    now = datetime.now(UTC)
    rows, reference = [], 0
    for question in structure.questions:
        line = lines.get(question.key)
        if line is None or line.carry == "empty":
            continue
        found = [old[k] for k in line.old_keys if k in old and old[k][0] is not None]
        if not found:
            continue
        if line.carry != "copy":
            reference += 1
            continue
        value = min(v for v, _ in found)  # several old answers feed one question: the worst counts
        if value not in question.allowed_values:
            continue
        note = "\n".join(dict.fromkeys(n for _, n in found if n))
        rows.append(
            {
                "submission_id": submission.id,
                "question_id": question.id,
                "value": value,
                "note": note,
                "carried": True,
                "version": 1,
                "updated_by_id": user.id,
                "updated_at": now,
            }
        )
    if rows:
        db.session.execute(insert(Answer), rows)
    submission.carried_from_id = previous.id
    year = fiscal_year_short(previous.cycle.fiscal_year)
    workflow.apply(
        submission,
        "carry_over",
        user,
        summary=f"{year}の回答から{len(rows)}問を引き継ぎました（未確認）",
        after={"from_submission": previous.id, "copied": len(rows), "reference": reference},
    )
    workflow.bump_lock(submission, updated_at=now)
    return {"copied": len(rows), "reference": reference}


def confirm(user: User, submission: Submission, numbers: Iterable[int]) -> int:
    """Confirm carried answers as they are (the contact has read them): they count as answered. Returns how
    many were still carried. Confirming nothing left to confirm is no change."""
    workflow.check(submission, "confirm_carried", user)
    structure = load_structure(submission.cycle.version)
    ids = [structure.by_number[n].id for n in numbers if n in structure.by_number]
    if not ids:
        return 0
    now = datetime.now(UTC)
    done = db.session.execute(
        update(Answer)
        .where(Answer.submission_id == submission.id, Answer.question_id.in_(ids), Answer.carried.is_(True))
        .values(carried=False, version=Answer.version + 1, updated_by_id=user.id, updated_at=now)
        .returning(Answer.question_id)
    ).all()
    if not done:
        return 0
    by_id = {q.id: q.number for q in structure.questions}
    confirmed = sorted(by_id[row[0]] for row in done)
    workflow.apply(
        submission,
        "confirm_carried",
        user,
        summary=f"前年度の回答{len(confirmed)}問を確認しました",
        after={"questions": confirmed},
    )
    workflow.bump_lock(submission, updated_at=now)
    return len(confirmed)


@dataclass
class LastYear:
    """What a question of this year's self-check shows about the year before."""

    value: int | None = None
    label: str = ""
    change: str = ""  # how the question changed since ("" when it did not)
    points: list = field(default_factory=list)  # ImprovementPoint on it, issued
    findings: list = field(default_factory=list)  # HearingFinding text on it, in a published report


@dataclass
class LastYearContext:
    submission: Submission | None
    by_number: dict  # this year's question number -> LastYear

    @property
    def year(self) -> str:
        return fiscal_year_short(self.submission.cycle.fiscal_year) if self.submission else ""


def last_year(submission: Submission) -> LastYearContext:
    """Last fiscal year's answer of every question of the unit's self-check, through the mapping, with the
    improvement points and the hearing findings (of a published report) on it. Four statements."""
    from agencyapp.services.review import previous_values

    previous, values = previous_values(submission)
    if previous is None:
        return LastYearContext(None, {})
    structure = load_structure(submission.cycle.version)
    old_structure = load_structure(previous.cycle.version)
    context = {n: LastYear(pv.value, structure.by_number[n].label(pv.value), pv.change) for n, pv in values.items()}
    # Old question id -> this year's numbers (a split question's points show on each part).
    numbers_of_key = {}
    for key, line in revisions.lineage(previous.cycle.version_id, submission.cycle.version).items():
        for old_key in line.old_keys:
            numbers_of_key.setdefault(old_key, []).append(key)
    new_number = {q.key: q.number for q in structure.questions}
    numbers = {
        q.id: [new_number[k] for k in numbers_of_key.get(q.key, []) if k in new_number] for q in old_structure.questions
    }
    points = db.session.scalars(
        select(ImprovementPoint)
        .where(
            ImprovementPoint.submission_id == previous.id,
            ImprovementPoint.question_id.is_not(None),
            ImprovementPoint.status != PointState.DRAFT,
        )
        .order_by(ImprovementPoint.id)
    )
    for point in points:
        for n in numbers.get(point.question_id, []):
            context.setdefault(n, LastYear()).points.append(point)
    findings = db.session.execute(
        select(HearingFinding.question_id, HearingFinding.text)
        .join(Hearing, Hearing.id == HearingFinding.hearing_id)
        .where(
            Hearing.unit_id == submission.unit_id,
            Hearing.cycle_id == previous.cycle_id,
            Hearing.status.in_(HEARING_VISIBLE_OUTSIDE_CENTER),
            Hearing.reported_at.is_not(None),
            HearingFinding.question_id.is_not(None),
        )
        .order_by(HearingFinding.id)
    )
    for question_id, text in findings:
        for n in numbers.get(question_id, []):
            context.setdefault(n, LastYear()).findings.append(text)
    return LastYearContext(previous, context)


def rises_without_note(context: LastYearContext, values: dict, notes: dict, applies: dict) -> list[int]:
    """This year's questions answered 3 that were answered 1 last year and have no note yet."""
    return sorted(
        n
        for n, last in context.by_number.items()
        if last.value == 1 and values.get(n) == 3 and applies.get(n) and not (notes.get(n) or "").strip()
    )
