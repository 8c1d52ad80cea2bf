"""Internal approval (決裁) before submission.

A unit with an approver (承認者) submits only what an approver approved: a contact sends the completed
self-check for approval, which freezes what was sent (canonical JSON and its SHA-256); the approver sees
exactly that and approves it, or returns it with a comment. Nobody approves what they prepared. Any change
to the answers after it was sent — while waiting or after approval — supersedes the approval and the
self-check goes back to 入力中. Once approved, the approver or a contact submits. Units without an approver
submit as before.
"""

import hashlib
from datetime import UTC, datetime

from sqlalchemy import exists, select

from agencyapp.extensions import db
from agencyapp.lifecycles import SubmissionState
from agencyapp.models import Answer, Submission, SubmissionApproval, User
from agencyapp.models.user import AGENCY
from agencyapp.services import DomainError, StaleError, workflow
from agencyapp.services.audit import record
from agencyapp.services.notifications import notify

COMMENT_MAX = 2000
WAITING = (SubmissionState.AWAITING_APPROVAL, SubmissionState.APPROVED)
STALE = (
    "承認を依頼された内容は、この画面を開いた後に変更されています。ページを再読み込みして、"
    "いまの内容を確かめてください。"
)


def approvers(unit_id: int) -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(
                User.role == AGENCY, User.unit_id == unit_id, User.active.is_(True), User.approver.is_(True)
            )
        )
    )


def required(unit_id: int) -> bool:
    """Whether the unit's self-checks need an approver's approval before submission."""
    return bool(approvers(unit_id))


def content_of(submission: Submission) -> tuple[str, str]:
    """(canonical JSON, SHA-256) of what would be submitted now: every question's answer, note and whether
    it applies, with the self-check and checklist it belongs to."""
    from agencyapp.services.selfcheck import canonical_json, load_state

    state = load_state(submission)
    document = {
        "submission_id": submission.id,
        "checklist": submission.cycle.version.code,
        "answers": [
            {
                "question": q.number,
                "value": state.values.get(q.number),
                "note": state.answers[q.number].note if q.number in state.answers else "",
                "applies": state.applies[q.number],
            }
            for q in state.structure.questions
        ],
    }
    text = canonical_json(document)
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()


def current(submission: Submission) -> SubmissionApproval | None:
    """The latest request for approval of the self-check, whatever became of it."""
    return db.session.scalar(
        select(SubmissionApproval)
        .where(SubmissionApproval.submission_id == submission.id)
        .order_by(SubmissionApproval.id.desc())
        .limit(1)
    )


def request_approval(user: User, submission: Submission, lock_version: int | None) -> SubmissionApproval:
    """Send the completed self-check to the unit's approvers, frozen with its hash."""
    from agencyapp.services.selfcheck import STALE as PAGE_STALE
    from agencyapp.services.selfcheck import check_complete, load_state

    workflow.check(submission, "request_approval", user)
    workflow.check_lock(submission, lock_version, PAGE_STALE)
    people = approvers(submission.unit_id)
    if not people:
        raise DomainError("この機関には承認者がいないため、承認を経ずにそのまま提出できます。")
    check_complete(submission, load_state(submission))
    text, sha = content_of(submission)
    now = datetime.now(UTC)
    row = SubmissionApproval(
        submission_id=submission.id, content=text, sha256=sha, requested_by_id=user.id, requested_at=now
    )
    db.session.add(row)
    workflow.apply(
        submission,
        "request_approval",
        user,
        summary=f"承認を依頼しました（内容の SHA-256：{sha[:16]}…）",
        after={"sha256": sha},
    )
    notify(
        [p for p in people if p.id != user.id],
        "approval_requested",
        f"{submission.cycle.title}の自己点検について、{user.display_name}さんから承認の依頼が届きました。",
        f"/submissions/{submission.id}/approval",
    )
    workflow.bump_lock(submission, updated_at=now)
    return row


def _pending(submission: Submission) -> SubmissionApproval:
    row = current(submission)
    if row is None or row.status != "pending":
        raise DomainError("承認を依頼された内容がありません。")
    return row


def _prepared_by(user: User, submission: Submission, row: SubmissionApproval) -> bool:
    """Whether ``user`` prepared what was sent: sent it, or wrote one of its answers."""
    if row.requested_by_id == user.id:
        return True
    return bool(
        db.session.scalar(
            select(exists().where(Answer.submission_id == submission.id, Answer.updated_by_id == user.id))
        )
    )


def approve(user: User, submission: Submission, sha256: str | None, lock_version: int | None) -> None:
    """The approver approves exactly what was sent (the hash the page showed); never their own preparation."""
    workflow.check(submission, "approve", user)
    row = _pending(submission)
    if sha256 != row.sha256 or lock_version != submission.lock_version:
        raise StaleError(STALE)
    if _prepared_by(user, submission, row):
        raise DomainError(
            "自分が作成した、または承認を依頼した自己点検は承認できません。別の承認者に依頼してください。"
        )
    if content_of(submission)[1] != row.sha256:  # nothing may have changed since it was sent
        raise StaleError(STALE)
    now = datetime.now(UTC)
    row.status, row.decided_by_id, row.decided_at = "approved", user.id, now
    workflow.apply(
        submission,
        "approve",
        user,
        summary=f"承認しました（SHA-256：{row.sha256[:16]}…）",
        after={"sha256": row.sha256},
    )
    notify(
        [row.requested_by],
        "approval_decided",
        f"{submission.cycle.title}の自己点検を{user.display_name}さんが承認しました。提出できます。",
        f"/submissions/{submission.id}",
    )
    workflow.bump_lock(submission, updated_at=now)


def return_internally(user: User, submission: Submission, comment: str | None, lock_version: int | None) -> None:
    """The approver returns what was sent, saying why; the self-check is 入力中 again."""
    workflow.check(submission, "return_internally", user)
    row = _pending(submission)
    if lock_version != submission.lock_version:
        raise StaleError(STALE)
    text = (comment or "").replace("\r\n", "\n").strip()
    if not text:
        raise DomainError("差し戻す理由を入力してください。", field="comment")
    if len(text) > COMMENT_MAX:
        raise DomainError(f"差し戻す理由は{COMMENT_MAX}文字以内で入力してください。", field="comment")
    now = datetime.now(UTC)
    row.status, row.decided_by_id, row.decided_at, row.comment = "returned", user.id, now, text
    workflow.apply(submission, "return_internally", user, summary="承認者が差し戻しました", after={"comment": text})
    notify(
        [row.requested_by],
        "approval_decided",
        f"{submission.cycle.title}の自己点検を{user.display_name}さんが差し戻しました：{text[:100]}",
        f"/submissions/{submission.id}",
    )
    workflow.bump_lock(submission, updated_at=now)


def superseded_by_change(submission: Submission, user: User) -> None:
    """A change to the answers while waiting for approval or after it: the approval no longer holds (the
    save that follows moves the self-check back to 入力中)."""
    if submission.status not in WAITING:
        return
    row = current(submission)
    if row is not None and row.status in ("pending", "approved"):
        before = row.status
        row.status = "superseded"
        record(
            "approval.superseded",
            actor=user,
            obj=submission,
            summary="回答が変更されたため、承認の依頼（または承認）を取り消しました",
            before={"approval": before, "sha256": row.sha256},
        )


def check_submittable(submission: Submission) -> None:
    """A unit with an approver submits only what was approved, unchanged since."""
    if not required(submission.unit_id):
        return
    row = current(submission)
    if submission.status != SubmissionState.APPROVED or row is None or row.status != "approved":
        raise DomainError("この機関では、承認者の承認を受けてから提出します。「承認を依頼する」を押してください。")
    if content_of(submission)[1] != row.sha256:
        raise StaleError(STALE)
