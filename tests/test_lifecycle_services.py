"""Every lifecycle through the services users call: for each transition the service that performs it, with inputs
that would be valid, from every state and as every role, either succeeds exactly as the table says (the table's
target state and the transition's audit event) or is refused (Forbidden, or a DomainError with a Japanese message)
and leaves every table as it was.

tests/test_lifecycles.py holds ``workflow.apply`` to the tables; this file holds the services above it. Each state is
set up with the data that would make every call valid (all applicable questions answered, open slots, minutes, a
completion report, a finding, a draft point...), so that only the state and the role can decide the outcome.
"""

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import delete, func, insert, select

from agencyapp.errors import DomainError, Forbidden, StaleError
from agencyapp.extensions import db
from agencyapp.formatting import TOKYO, today_tokyo
from agencyapp.lifecycles import HEARING, HEARING_DATED, POINT, SUBMISSION, HearingState, PointState, SubmissionState
from agencyapp.models import (
    Answer,
    AuditEvent,
    CenterAssessment,
    ChecklistQuestion,
    Hearing,
    HearingFinding,
    HearingSlot,
    ImprovementPoint,
    ImprovementRequest,
    Submission,
    SubmissionApproval,
    WorkbookImport,
)
from agencyapp.models.base import Base
from agencyapp.services import approvals, carryover, hearings, improvements, review, selfcheck, workbooks
from tests.factories import act
from tests.test_lifecycles import JAPANESE, MAY, ROLES
from tests.test_selfcheck import all_threes

SUGGESTED = 1  # answered 1: "suggest" proposes a draft point for it
SAVED, ASSESSED, UNASSESSED = 2, 3, 4  # answered 3 (save alternates 2 and 3); assessed 2; an assessment of 2 to remove


def _future(days):
    return today_tokyo() + timedelta(days=days)


def _at(days, hour):
    """An aware UTC moment ``days`` from today at ``hour``:00 Japan time."""
    return datetime.combine(_future(days), time(hour), TOKYO).astimezone(UTC)


def row_counts() -> tuple:
    """The number of rows of every table, in one statement."""
    tables = Base.metadata.sorted_tables
    counts = db.session.execute(select(*(select(func.count()).select_from(t).scalar_subquery() for t in tables))).one()
    return tuple(zip((t.name for t in tables), counts, strict=True))


def last_audit_id() -> int:
    return db.session.scalar(select(func.max(AuditEvent.id))) or 0


class Bench:
    """One lifecycle's object in a reusable world: ``prepare`` puts it into a state, ``call`` runs a transition's
    service in a unit of work (``act``)."""

    lifecycle = None
    model = None
    gone = frozenset()  # transitions that remove the object

    def __init__(self, world):
        self.world = world

    def prepare(self, state, name=""):
        """Put the object into ``state``, with what transition ``name`` needs to be valid there."""
        raise NotImplementedError

    def call(self, name, user, obj):
        getattr(self, f"do_{name}")(user, obj)

    def transitions(self):
        return {name.removeprefix("do_") for name in dir(self) if name.startswith("do_")}

    def status_of(self, obj_id):
        """The stored status (None: the row is gone)."""
        db.session.expire_all()
        return db.session.scalar(select(self.model.status).where(self.model.id == obj_id))


class SubmissionBench(Bench):
    lifecycle = SUBMISSION
    model = Submission

    def __init__(self, world):
        super().__init__(world)
        sub = world.submission_a
        form = all_threes(sub) | {f"answer-{SUGGESTED}": "1"}
        act(selfcheck.save_all, world.agency, sub, form, sub.lock_version)
        self.answers = [
            {k: v for k, v in row._mapping.items() if k != "id"}
            for row in db.session.execute(select(Answer.__table__).where(Answer.submission_id == sub.id))
        ]
        # Last year's self-check of the unit, accepted: what "carry_over" starts from.
        from tests.factories import make_cycle, submission_of

        earlier = make_cycle([world.unit_a], fiscal_year=world.cycle.fiscal_year - 1)
        past = submission_of(earlier, world.unit_a)
        past.status = SubmissionState.ACCEPTED.value
        db.session.execute(insert(Answer), [{**a, "submission_id": past.id} for a in self.answers])
        db.session.commit()
        self.question_ids = dict(
            db.session.execute(
                select(ChecklistQuestion.number, ChecklistQuestion.id).where(
                    ChecklistQuestion.version_id == world.cycle.version_id
                )
            ).all()
        )
        draft = ImprovementPoint(
            submission_id=sub.id, finding="試験の指摘", status=PointState.DRAFT.value, created_by_id=world.center.id
        )
        db.session.add(draft)
        db.session.commit()
        self.sub_id, self.draft_id = sub.id, draft.id

    def prepare(self, state, name=""):
        sub = db.session.get(Submission, self.sub_id)
        sub.status = state.value
        # The answers as they were (a carry or an import changes them): none for "carry_over", which starts
        # a self-check not yet answered; one left carried for "confirm_carried".
        db.session.execute(delete(Answer).where(Answer.submission_id == sub.id))
        if name != "carry_over":
            carried = {"carried": True} if name == "confirm_carried" else {}
            rows = [{**a, **(carried if a["question_id"] == self.question_ids[SAVED] else {})} for a in self.answers]
            db.session.execute(insert(Answer), rows)
        # The unit has an approver for the approval's own steps and for submitting what was approved; else
        # none, so that a self-check is submitted as before.
        self.world.approver.approver = name in ("request_approval", "approve", "return_internally") or (
            name == "submit" and state is SubmissionState.APPROVED
        )
        db.session.execute(delete(SubmissionApproval).where(SubmissionApproval.submission_id == sub.id))
        db.session.execute(delete(WorkbookImport).where(WorkbookImport.submission_id == sub.id))
        db.session.flush()
        if state in (SubmissionState.AWAITING_APPROVAL, SubmissionState.APPROVED):
            text, sha = approvals.content_of(sub)
            approved = state is SubmissionState.APPROVED
            db.session.add(
                SubmissionApproval(
                    submission_id=sub.id,
                    content=text,
                    sha256=sha,
                    status="approved" if approved else "pending",
                    requested_by_id=self.world.agency.id,
                    decided_by_id=self.world.approver.id if approved else None,
                )
            )
        frozen = state in (SubmissionState.SUBMITTED, SubmissionState.ACCEPTED)
        sub.return_reason = "記載の不備" if state is SubmissionState.RETURNED else ""
        sub.submitted_at = datetime.now(UTC) if frozen or state is SubmissionState.RETURNED else None
        sub.submitted_by_id = self.world.agency.id if sub.submitted_at else None
        sub.reviewed_at = datetime.now(UTC) if state is SubmissionState.ACCEPTED else None
        # "suggest" finds a question answered 1 without a point; "issue" has a draft to issue.
        db.session.execute(
            delete(ImprovementPoint).where(
                ImprovementPoint.submission_id == sub.id, ImprovementPoint.source == "suggestion"
            )
        )
        draft = db.session.get(ImprovementPoint, self.draft_id)
        draft.status, draft.request_id = PointState.DRAFT.value, None
        # "unassess" has an assessment to remove.
        question_id = self.question_ids[UNASSESSED]
        exists = db.session.scalar(
            select(CenterAssessment.id).where(
                CenterAssessment.submission_id == sub.id, CenterAssessment.question_id == question_id
            )
        )
        if exists is None:
            db.session.add(
                CenterAssessment(
                    submission_id=sub.id,
                    question_id=question_id,
                    value=2,
                    reason="規程が未整備",
                    assessed_by_id=self.world.center.id,
                )
            )
        db.session.commit()
        return sub

    def _other_value(self, sub):
        """A value different from the stored answer, so that saving changes something."""
        stored = selfcheck.load_state(sub).values.get(SAVED)
        return "2" if stored == 3 else "3"

    def do_save(self, user, sub):
        act(selfcheck.save_answer, user, sub, SAVED, self._other_value(sub), "", sub.lock_version)

    def do_save_all(self, user, sub):
        act(selfcheck.save_all, user, sub, {f"answer-{SAVED}": self._other_value(sub)}, sub.lock_version)

    def do_submit(self, user, sub):
        act(selfcheck.submit, user, sub, sub.lock_version)

    def do_carry_over(self, user, sub):
        act(carryover.start_from_last_year, user, sub, sub.lock_version)

    def do_confirm_carried(self, user, sub):
        act(carryover.confirm, user, sub, [SAVED])

    def do_import_workbook(self, user, sub):
        """A workbook downloaded now with one answer changed, uploaded and applied."""
        import io

        import openpyxl
        from werkzeug.datastructures import FileStorage

        book = openpyxl.load_workbook(io.BytesIO(workbooks.build(sub, self.world.agency)))
        sheet = book[workbooks.ANSWERS]
        row = next(r for r in range(workbooks.FIRST_ROW, sheet.max_row + 1) if sheet.cell(r, 7).value == SAVED)
        sheet.cell(row, 8).value = int(self._other_value(sub))
        out = io.BytesIO()
        book.save(out)
        upload = FileStorage(io.BytesIO(out.getvalue()), filename="回答.xlsx")

        def both():
            imported, _ = workbooks.upload(user, sub, upload)
            return workbooks.apply(user, sub, imported.id, {}, sub.lock_version)

        act(both)

    def do_request_approval(self, user, sub):
        act(approvals.request_approval, user, sub, sub.lock_version)

    def do_approve(self, user, sub):
        row = approvals.current(sub)
        act(approvals.approve, user, sub, row.sha256 if row else "", sub.lock_version)

    def do_return_internally(self, user, sub):
        act(approvals.return_internally, user, sub, "設問2の根拠を確認してください", sub.lock_version)

    def do_assess(self, user, sub):
        act(review.set_assessment, user, sub, ASSESSED, "2", "記録の一部が確認できない")

    def do_unassess(self, user, sub):
        act(review.set_assessment, user, sub, UNASSESSED, "3", "")  # the agency's own answer

    def do_note(self, user, sub):
        act(review.add_note, user, sub, "次回ヒアリングで確認する")

    def do_suggest(self, user, sub):
        act(improvements.suggest_points, user, sub)

    def do_issue(self, user, sub):
        act(improvements.issue_request, user, sub, [self.draft_id], _future(30), "")

    def do_return(self, user, sub):
        act(review.return_submission, user, sub, "設問2の備考を補足してください", sub.lock_version)

    def do_accept(self, user, sub):
        act(review.accept_submission, user, sub, sub.lock_version)

    def do_reopen(self, user, sub):
        act(review.reopen_submission, user, sub, "添付の規程が旧版でした", sub.lock_version)


class PointBench(Bench):
    """A fresh point per case (a draft has no history); its self-check is submitted, so it may be issued."""

    lifecycle = POINT
    model = ImprovementPoint
    gone = frozenset({"delete"})

    def __init__(self, world):
        super().__init__(world)
        sub = world.submission_a
        sub.status = SubmissionState.SUBMITTED.value
        sub.submitted_at = datetime.now(UTC)
        request_row = ImprovementRequest(submission_id=sub.id, due_on=_future(30), issued_by_id=world.center.id)
        db.session.add(request_row)
        db.session.commit()
        self.sub_id, self.request_id = sub.id, request_row.id

    def prepare(self, state, name=""):
        point = ImprovementPoint(
            submission_id=self.sub_id,
            finding="操作履歴の点検記録がない",
            requested_action="点検の手順を定めてください",
            status=state.value,
            request_id=None if state is PointState.DRAFT else self.request_id,
            plan="点検手順を定め、毎月点検する",
            plan_due_on=_future(60),
            report="手順書を制定し、点検を開始した",  # "close" needs a completion report
            answered_at=datetime.now(UTC) if state in (PointState.ANSWERED, PointState.CLOSED) else None,
            closed_at=datetime.now(UTC) if state is PointState.CLOSED else None,
            created_by_id=self.world.center.id,
        )
        db.session.add(point)
        db.session.commit()
        return point

    def do_edit(self, user, point):
        act(
            improvements.edit_point, user, point, "操作履歴の点検記録がない（修正）", "手順を定める", point.lock_version
        )

    def do_delete(self, user, point):
        act(improvements.delete_point, user, point, point.lock_version)

    def do_issue(self, user, point):
        act(improvements.issue_request, user, point.submission, [point.id], _future(30), "")

    def do_answer(self, user, point):
        act(improvements.answer_point, user, point, "点検手順を定める", _future(60), "", None, point.lock_version)

    def do_withdraw(self, user, point):
        act(improvements.withdraw_answer, user, point, point.lock_version)

    def do_return(self, user, point):
        act(improvements.return_point, user, point, "完了報告に記録の写しを添えてください", point.lock_version)

    def do_close(self, user, point):
        act(improvements.close_point, user, point, "確認しました", point.lock_version)


class HearingBench(Bench):
    lifecycle = HEARING
    model = Hearing

    def __init__(self, world):
        super().__init__(world)
        hearing = Hearing(
            cycle_id=world.cycle.id,
            unit_id=world.unit_a.id,
            selection_reason="試験",
            status=HearingState.CANDIDATE.value,
            staff_id=world.center.id,
            created_by_id=world.center.id,
        )
        db.session.add(hearing)
        db.session.flush()
        finding = HearingFinding(hearing_id=hearing.id, text="委託先の調査記録がない", created_by_id=world.center.id)
        db.session.add(finding)
        db.session.commit()
        self.hearing_id, self.finding_id = hearing.id, finding.id

    def prepare(self, state, name=""):
        hearing = db.session.get(Hearing, self.hearing_id)
        hearing.status = state.value
        center_slot = HearingSlot(
            starts_at=_at(10, 10),
            ends_at=_at(10, 11),
            place="会議室A",
            proposed_by="center",
            created_by_id=self.world.center.id,
        )
        agency_slot = HearingSlot(
            starts_at=_at(12, 14), ends_at=_at(12, 15), proposed_by="agency", created_by_id=self.world.agency.id
        )
        hearing.slots = [center_slot, agency_slot]  # both open (not withdrawn): "pick" and "confirm" have a choice
        dated = state in HEARING_DATED
        center_slot.chosen = dated
        hearing.starts_at = center_slot.starts_at if dated else None
        hearing.ends_at = center_slot.ends_at if dated else None
        hearing.place = "会議室A" if dated else ""
        hearing.minutes = "規程と委託契約書を確認した。"  # "publish" needs minutes
        hearing.reported_at = datetime.now(UTC) if state is HearingState.REPORTED else None
        hearing.cancel_reason = "先方の都合" if state is HearingState.CANCELLED else ""
        db.session.get(HearingFinding, self.finding_id).point_id = None  # "finding_to_point" has a finding to turn
        db.session.commit()
        self.center_slot_id = center_slot.id
        return hearing

    def _slots(self, days):
        return [hearings.SlotInput(_future(days), time(10), time(11), "会議室B")]

    def do_propose(self, user, hearing):
        act(hearings.propose_slots, user, hearing, self._slots(20), hearing.lock_version)

    def do_pick(self, user, hearing):
        act(hearings.pick_slot, user, hearing, self.center_slot_id, "この日時でお願いします", hearing.lock_version)

    def do_counter(self, user, hearing):
        act(hearings.counter_propose, user, hearing, self._slots(21), "午前なら可能です", hearing.lock_version)

    def do_confirm(self, user, hearing):
        act(hearings.confirm, user, hearing, self.center_slot_id, "", False, hearing.lock_version)

    def do_reschedule(self, user, hearing):
        act(hearings.reschedule, user, hearing, "担当者の出張のため", hearing.lock_version)

    def do_documents(self, user, hearing):
        act(hearings.update_documents, user, hearing, "組織規程\n委託契約書", hearing.lock_version)

    def do_record(self, user, hearing):
        act(hearings.save_record, user, hearing, "センター 太郎", "年金 花子", "議事録", "", hearing.lock_version)

    def do_add_finding(self, user, hearing):
        act(hearings.add_finding, user, hearing, None, "研修の受講記録が一部ない")

    def do_finding_to_point(self, user, hearing):
        act(hearings.finding_to_point, user, hearing, db.session.get(HearingFinding, self.finding_id))

    def do_publish(self, user, hearing):
        act(hearings.publish_report, user, hearing, hearing.lock_version)

    def do_cancel(self, user, hearing):
        act(hearings.cancel, user, hearing, "先方の組織改編のため", hearing.lock_version)


BENCHES = (SubmissionBench, PointBench, HearingBench)


def run_case(bench, transition, state, role) -> str:
    """Put the object into ``state``, take ``transition`` as ``role``; what is wrong, or "" when all is right."""
    obj = bench.prepare(state, transition.name)
    obj_id = obj.id
    user = getattr(bench.world, role)
    expected = state in transition.sources and role in MAY[transition.action]
    counts, audit_id = row_counts(), last_audit_id()
    outcome, message = "done", ""
    try:
        bench.call(transition.name, user, obj)
    except StaleError as exc:  # we always pass the current lock_version
        return f"stale lock: {exc.message}"
    except Forbidden as exc:
        outcome, message = "forbidden", exc.message
    except DomainError as exc:
        outcome, message = "refused", exc.message
    except Exception as exc:  # any other error is a finding, reported with the others
        db.session.rollback()
        return f"raised {type(exc).__name__}: {exc}"
    status = bench.status_of(obj_id)
    if expected:
        target = None if transition.name in bench.gone else (transition.target or state).value
        events = db.session.scalars(select(AuditEvent.action).where(AuditEvent.id > audit_id)).all()
        if outcome != "done":
            return f"expected to reach {target}, got {outcome}: {message}"
        if status != target:
            return f"expected to reach {target}, the status is {status}"
        if transition.event not in events:
            return f"expected an audit event {transition.event}, got {events}"
        return ""
    if outcome == "done":
        return f"should have been refused, yet it succeeded (status now {status})"
    if not JAPANESE.search(message):
        return f"{outcome} without a Japanese message: {message!r}"
    if status != state.value:
        return f"{outcome}, yet the status changed to {status}"
    after = row_counts()
    changed = [f"{name} {n}→{m}" for (name, n), (_, m) in zip(counts, after, strict=True) if n != m]
    if changed:
        return f"{outcome} ({message}), yet rows changed: {', '.join(changed)}"
    return ""


@pytest.mark.parametrize("bench_class", BENCHES, ids=lambda b: b.lifecycle.name)
def test_every_service_does_what_its_lifecycle_table_says(ctx, world, bench_class):
    from tests.test_lifecycles import _with_approver

    _with_approver(world)
    bench = bench_class(world)
    lifecycle = bench.lifecycle
    assert bench.transitions() == {t.name for t in lifecycle.transitions}, "every transition has its service"
    wrong = []
    for transition in lifecycle.transitions:
        for state in lifecycle.states:
            for role in ROLES:
                problem = run_case(bench, transition, state, role)
                if problem:
                    wrong.append(f"{lifecycle.name}.{transition.name} from {state.value} as {role}: {problem}")
    assert not wrong, "\n".join(wrong)
