"""The center's review of submissions: queue, validated scores, notes, return and accept."""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Row, and_, asc, desc, func, select
from sqlalchemy.orm import contains_eager, joinedload

from agencyapp import policy, scoring
from agencyapp.actions import Action
from agencyapp.extensions import db
from agencyapp.formatting import today_tokyo
from agencyapp.lifecycles import POINT_OPEN, SUBMISSION
from agencyapp.models import (
    Answer,
    AuditEvent,
    CenterAssessment,
    ChecklistQuestion,
    Cycle,
    ImprovementPoint,
    Ministry,
    ReviewNote,
    Submission,
    SubmissionSnapshot,
    Unit,
    User,
)
from agencyapp.services import DomainError, matches, revisions, workflow
from agencyapp.services.checklists import QuestionInfo, load_structure
from agencyapp.services.notifications import notify, unit_users
from agencyapp.services.selfcheck import SelfCheckState, load_state, parse_value

REASON_MAX = 2000

open_points = (
    select(func.count(ImprovementPoint.id))
    .where(ImprovementPoint.submission_id == Submission.id, ImprovementPoint.status.in_(POINT_OPEN))
    .correlate(Submission)
    .scalar_subquery()
    .label("open_points")
)

SORTS = {
    "unit": Unit.name,
    "ministry": Ministry.position,
    "status": Submission.status,
    "submitted_at": Submission.submitted_at,
    "mean": Submission.score_mean,
    "full_rate": Submission.score_full_rate,
    "important": Submission.important_met,
    "earlier": Submission.earlier_below,
    "open_points": open_points,
}


@dataclass
class QueueFilters:
    search: str = ""
    status: str = ""
    ministry_id: int | None = None
    important_not_met: bool = False
    overdue: bool = False
    sort: str = "ministry"
    direction: str = "asc"
    page: int = 1


def overdue_clause(cycle: Cycle) -> ColumnElement[bool]:
    """Not submitted by the due date (derived, never stored)."""
    return and_(Submission.status.in_(SUBMISSION.states_allowing("save")), cycle.due_on < today_tokyo())


def review_queue(
    user: User, cycle: Cycle, filters: QueueFilters, per_page: int = 25
) -> tuple[Sequence[Row[Submission, int]], dict[str, int], int]:
    """One page of the cycle's submissions with counts per status; a fixed number of statements."""
    policy.require(user, Action.SUBMISSION_REVIEW)
    base = (
        select(Submission, open_points)
        .join(Unit, Unit.id == Submission.unit_id)
        .join(Ministry, Ministry.id == Unit.ministry_id)
        .where(Submission.cycle_id == cycle.id)
    )
    if filters.search:
        base = base.where(matches(filters.search, Unit.name, Ministry.name))
    if filters.ministry_id:
        base = base.where(Unit.ministry_id == filters.ministry_id)
    if filters.important_not_met:
        base = base.where(Submission.important_met.is_(False))
    if filters.overdue:
        base = base.where(overdue_clause(cycle))
    counts = dict(
        db.session.execute(base.with_only_columns(Submission.status, func.count()).group_by(Submission.status)).all()
    )
    if filters.status:
        base = base.where(Submission.status == filters.status)
    total = counts.get(filters.status, 0) if filters.status else sum(counts.values())
    column = SORTS.get(filters.sort, SORTS["ministry"])
    order = desc(column) if filters.direction == "desc" else asc(column)
    rows = db.session.execute(
        base.options(contains_eager(Submission.unit).contains_eager(Unit.ministry))
        .order_by(order.nulls_last(), Ministry.position, Unit.position, Submission.id)
        .offset((max(filters.page, 1) - 1) * per_page)
        .limit(per_page)
    ).all()
    return rows, counts, total


def assessments(submission: Submission) -> dict[int, CenterAssessment]:
    """{question number: CenterAssessment}."""
    rows = db.session.execute(
        select(CenterAssessment, ChecklistQuestion.number)
        .join(ChecklistQuestion, ChecklistQuestion.id == CenterAssessment.question_id)
        .where(CenterAssessment.submission_id == submission.id)
        .options(joinedload(CenterAssessment.assessed_by))
    ).all()
    return {number: row for row, number in rows}


def validated_scores(state: SelfCheckState, assessed: Mapping[int, CenterAssessment]) -> scoring.Scores:
    """Scores with the center's values where it disagreed (the agency's answers stay as they are)."""
    values = dict(state.values)
    for number, assessment in assessed.items():
        values[number] = assessment.value
    return scoring.compute(
        state.structure.questions,
        values,
        state.applies,
        state.structure.version.scale,
        state.important_goals,
        state.earlier.numbers,
    )


@dataclass(frozen=True)
class PreviousAnswer:
    value: int
    change: str = ""  # how the question changed since (文言修正, 統合, …); "" when it did not


def previous_values(submission: Submission) -> tuple[Submission | None, dict[int, PreviousAnswer]]:
    """Last fiscal year's answers of the same unit, by this year's question number: through the checklist
    versions' old → new mapping, so a renumbered or reworded question keeps its history."""
    previous = db.session.scalar(
        select(Submission)
        .join(Cycle, Cycle.id == Submission.cycle_id)
        .where(
            Submission.unit_id == submission.unit_id,
            Cycle.fiscal_year == submission.cycle.fiscal_year - 1,
            Submission.status.in_(SUBMISSION.states_allowing("assess")),
        )
        .order_by(Cycle.id.desc())
        .limit(1)
        .options(contains_eager(Submission.cycle))  # the page names its year
    )
    if previous is None:
        return None, {}
    values = db.session.execute(  # plain columns: only the values are shown
        select(ChecklistQuestion.key, Answer.value)
        .join(ChecklistQuestion, ChecklistQuestion.id == Answer.question_id)
        .where(Answer.submission_id == previous.id)
    )
    current = submission.cycle.version
    followed = revisions.follow_values(previous.cycle.version_id, current, dict(values.all()))
    numbers = {q.key: q.number for q in load_structure(current).questions}
    return previous, {
        numbers[key]: PreviousAnswer(value, "" if line.change == "same" else line.change_label)
        for key, (value, line) in followed.items()
        if key in numbers
    }


STALE = "この自己点検はほかの操作で更新されています。ページを再読み込みしてから操作してください。"


def _reason(text: str | None, missing: str) -> str:
    text = (text or "").strip()
    if not text:
        raise DomainError(missing)
    if len(text) > REASON_MAX:
        raise DomainError(f"理由は{REASON_MAX}文字以内で入力してください。")
    return text


def assessable_question(user: User, submission: Submission, number: int) -> QuestionInfo:
    """The question the center may score now: the lifecycle allows it, and it exists and applies."""
    return _assessable(user, submission, number)[1]


def _assessable(user: User, submission: Submission, number: int) -> tuple[SelfCheckState, QuestionInfo]:
    workflow.check(submission, "assess", user)
    state = load_state(submission, plain=True)
    question = state.structure.by_number.get(number)
    if question is None:
        raise DomainError(f"設問番号 {number} はこのチェックリストにありません。")
    if not state.applies[number]:
        raise DomainError(f"設問{number}は該当なしのため、確認点をつけられません。")
    return state, question


def set_assessment(
    user: User, submission: Submission, number: int, raw_value: str | None, reason: str | None
) -> CenterAssessment | None:
    """Record the center's score for one question; the same value as the agency's removes it."""
    state, question = _assessable(user, submission, number)
    value = parse_value(raw_value, question)
    existing = assessments(submission).get(number)
    before = {"value": existing.value, "reason": existing.reason} if existing else None
    if value is None or value == state.values.get(number):
        if existing:
            db.session.delete(existing)
            workflow.apply(
                submission, "unassess", user, before=before, summary=f"設問{number}のセンター確認点を取り消しました"
            )
        return None
    reason = _reason(reason, "自己評価と異なる確認点をつけるときは、理由を入力してください。")
    if existing is None:
        existing = CenterAssessment(
            submission_id=submission.id, question_id=question.id, value=value, reason=reason, assessed_by_id=user.id
        )
        db.session.add(existing)
    else:
        existing.value, existing.reason, existing.assessed_by_id = value, reason, user.id
        existing.assessed_at = datetime.now(UTC)
    workflow.apply(
        submission,
        "assess",
        user,
        before=before,
        after={"question": number, "value": value, "reason": reason},
        summary=f"設問{number}のセンター確認点を{value}としました",
    )
    return existing


def add_note(user: User, submission: Submission, body: str | None) -> ReviewNote:
    workflow.check(submission, "note", user)
    body = (body or "").strip()
    if not body:
        raise DomainError("メモの内容を入力してください。")
    if len(body) > REASON_MAX:
        raise DomainError(f"メモは{REASON_MAX}文字以内で入力してください。")
    note = ReviewNote(submission_id=submission.id, body=body, author_id=user.id)
    db.session.add(note)
    workflow.apply(submission, "note", user, summary="内部メモを追加しました", after={"body": body})
    return note


def notes(submission: Submission) -> Sequence[ReviewNote]:
    return db.session.scalars(
        select(ReviewNote)
        .where(ReviewNote.submission_id == submission.id)
        .options(joinedload(ReviewNote.author))
        .order_by(ReviewNote.id.desc())
    ).all()


def return_submission(user: User, submission: Submission, reason: str | None, lock_version: int | None) -> None:
    """差戻し: the agency may edit again and resubmit; the snapshots stay."""
    workflow.check(submission, "return", user, lock_version=lock_version, stale=STALE)
    reason = _reason(reason, "差戻しの理由を入力してください。")
    submission.return_reason = reason
    _decide(
        user,
        submission,
        "return",
        "自己点検を差し戻しました",
        "submission_returned",
        f"が差し戻されました。理由：{reason}",
        reason,
    )


def accept_submission(user: User, submission: Submission, lock_version: int | None) -> None:
    """確認済."""
    workflow.check(submission, "accept", user, lock_version=lock_version, stale=STALE)
    _decide(
        user,
        submission,
        "accept",
        "自己点検を確認済にしました",
        "submission_accepted",
        "がセンターで確認済となりました。",
    )


def reopen_submission(user: User, submission: Submission, reason: str | None, lock_version: int | None) -> None:
    """確認済の取消し: back to 提出済 with a reason, so that the center can review it again (or return it)."""
    workflow.check(submission, "reopen", user, lock_version=lock_version, stale=STALE)
    reason = _reason(reason, "確認済を取り消す理由を入力してください。")
    message = f"の確認済が取り消され、センターが再確認します。理由：{reason}"
    _decide(user, submission, "reopen", "確認済を取り消しました", "submission_reopened", message, reason)


def _decide(user, submission, transition, summary, kind, message, reason=None):
    """A decision of the center on a submission: who and when, the lifecycle step, the unit told."""
    submission.reviewed_at = datetime.now(UTC)
    submission.reviewed_by_id = user.id
    after = {"reason": reason} if reason else None
    workflow.apply(submission, transition, user, after=after, summary=summary)
    notify(
        unit_users(submission.unit_id),
        kind,
        f"{submission.cycle.title}の自己点検{message}",
        f"/submissions/{submission.id}",
    )


DECISIONS = {
    "submission.submitted": "提出",
    "submission.returned": "差戻し",
    "submission.accepted": "確認済",
    "submission.reopened": "確認済の取消し",
}


def decisions(submission: Submission) -> list[tuple[str, AuditEvent, str]]:
    """The submission's record of submits and the center's decisions: (what, event, who), newest first."""
    rows = db.session.execute(
        select(AuditEvent, User.display_name)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(
            AuditEvent.object_type == "submission",
            AuditEvent.object_id == submission.id,
            AuditEvent.action.in_(list(DECISIONS)),
        )
        .order_by(AuditEvent.id.desc())
        .limit(20)
    ).all()
    return [(DECISIONS[event.action], event, name or event.actor_login) for event, name in rows]


def snapshot_changes(
    submission: Submission,
) -> tuple[Sequence[SubmissionSnapshot] | None, list[dict[str, object]]]:
    """What changed between the last two frozen snapshots: [(number, old, new)] with value and note."""
    snapshots = db.session.scalars(
        select(SubmissionSnapshot)
        .where(SubmissionSnapshot.submission_id == submission.id)
        .order_by(SubmissionSnapshot.sequence.desc())
        .limit(2)
    ).all()
    if len(snapshots) < 2:
        return None, []
    new, old = (json.loads(s.content) for s in snapshots)
    old_answers = {a["question"]: a for a in old["answers"]}
    changes = []
    for answer in new["answers"]:
        before = old_answers.get(answer["question"], {})
        if (before.get("value"), before.get("note", "")) != (answer["value"], answer["note"]):
            changes.append(
                {
                    "question": answer["question"],
                    "old_value": before.get("value"),
                    "new_value": answer["value"],
                    "old_note": before.get("note", ""),
                    "new_note": answer["note"],
                }
            )
    return snapshots, changes
