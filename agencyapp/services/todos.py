"""What each person has to do next, for their home page: a few bounded queries, newest work first."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager, joinedload

from agencyapp import policy
from agencyapp.actions import Action
from agencyapp.extensions import db
from agencyapp.formatting import fiscal_year_label, today_tokyo
from agencyapp.lifecycles import HEARING, SUBMISSION, HearingState, PointState, SubmissionState
from agencyapp.models import Cycle, Hearing, HearingSlot, ImprovementPoint, ImprovementRequest, Submission, Unit, User
from agencyapp.services import year_end

SHOWN = 10  # items listed per kind; the count says how many there are in all


@dataclass
class Todo:
    """One thing to do: what, where to do it, by when (if there is a date) and whether that date has passed."""

    text: str
    link: str
    due: date | None = None

    @property
    def overdue(self) -> bool:
        return self.due is not None and self.due < today_tokyo()


@dataclass
class TodoGroup:
    title: str
    items: list
    total: int


def agency_todos(user: User) -> list[TodoGroup]:
    """The unit's to-dos: points to answer, hearing dates to pick, returned or unfinished self-checks."""
    groups = []
    points_stmt = (
        policy.scope_points(user, select(ImprovementPoint))
        .join(ImprovementRequest, ImprovementRequest.id == ImprovementPoint.request_id)
        .where(ImprovementPoint.status == PointState.ISSUED)
    )
    total = db.session.scalar(points_stmt.with_only_columns(func.count(ImprovementPoint.id)))
    if total:
        rows = db.session.execute(
            points_stmt.with_only_columns(ImprovementPoint.id, ImprovementPoint.finding, ImprovementRequest.due_on)
            .order_by(ImprovementRequest.due_on, ImprovementPoint.id)
            .limit(SHOWN)
        ).all()
        items = [Todo(finding[:60], f"/improvements/points/{pid}", due) for pid, finding, due in rows]
        groups.append(TodoGroup("回答する改善点", items, total))
    hearings = db.session.scalars(
        policy.scope_hearings(user, select(Hearing))
        .where(Hearing.status.in_(HEARING.states_allowing("pick")))
        .options(joinedload(Hearing.unit))
        .order_by(Hearing.id)
        .limit(SHOWN)
    ).all()
    if hearings:
        items = [Todo(f"{h.kind_label}の候補日時から都合のよい日時を選ぶ", f"/hearings/{h.id}") for h in hearings]
        groups.append(TodoGroup("ヒアリング・訪問の日程", items, len(hearings)))
    open_submissions = db.session.execute(
        policy.scope_submissions(user, select(Submission.id, Submission.status, Cycle.title, Cycle.due_on))
        .join(Cycle, Cycle.id == Submission.cycle_id)
        .where(Submission.status.in_(SUBMISSION.states_allowing("submit")))
        .order_by(Cycle.due_on)
        .limit(SHOWN)
    ).all()
    if open_submissions:
        items = [
            Todo(
                f"{title}：差し戻された自己点検を修正して再提出する"
                if status == SubmissionState.RETURNED
                else f"{title}：自己点検に回答して提出する",
                f"/submissions/{sid}",
                due,
            )
            for sid, status, title, due in open_submissions
        ]
        groups.append(TodoGroup("自己点検", items, len(items)))
    if user.approver:
        waiting = db.session.execute(
            policy.scope_submissions(user, select(Submission.id, Cycle.title, Cycle.due_on))
            .join(Cycle, Cycle.id == Submission.cycle_id)
            .where(Submission.status == SubmissionState.AWAITING_APPROVAL)
            .order_by(Cycle.due_on)
            .limit(SHOWN)
        ).all()
        if waiting:
            items = [
                Todo(f"{t}：依頼された内容を確かめて承認する", f"/submissions/{s}/approval", d) for s, t, d in waiting
            ]
            groups.insert(0, TodoGroup("承認を依頼された自己点検", items, len(items)))
    return groups


def center_todos(user: User) -> list[TodoGroup]:
    """The center's to-dos: answers to check, hearing dates to confirm."""
    if not policy.can(user, Action.POINT_CLOSE):
        return []
    groups = []
    answered = select(ImprovementPoint).where(ImprovementPoint.status == PointState.ANSWERED)
    total = db.session.scalar(answered.with_only_columns(func.count(ImprovementPoint.id)))
    if total:
        order = (ImprovementPoint.answered_at, ImprovementPoint.id)
        first = answered.with_only_columns(ImprovementPoint.id).order_by(*order).limit(SHOWN)
        rows = db.session.scalars(  # the few shown picked first, then joined (not every submission before the limit)
            select(ImprovementPoint)
            .join(Submission, Submission.id == ImprovementPoint.submission_id)
            .join(Unit, Unit.id == Submission.unit_id)
            .where(ImprovementPoint.id.in_(first))
            .options(contains_eager(ImprovementPoint.submission).contains_eager(Submission.unit))
            .order_by(*order)
        ).all()
        items = [Todo(f"{p.submission.unit.name}：{p.finding[:40]}", f"/improvements/points/{p.id}") for p in rows]
        groups.append(TodoGroup("確認する改善点の回答", items, total))
    replied = (
        select(Hearing)
        .where(
            Hearing.status == HearingState.PROPOSING,
            # Correlated from the few hearings being scheduled (an IN would scan every slot of every year).
            select(HearingSlot.id)
            .where(
                HearingSlot.hearing_id == Hearing.id,
                HearingSlot.withdrawn.is_(False),
                (HearingSlot.chosen.is_(True)) | (HearingSlot.proposed_by == "agency"),
            )
            .exists(),
        )
        .options(joinedload(Hearing.unit))
        .order_by(Hearing.updated_at)
        .limit(SHOWN)
    )
    hearings = db.session.scalars(replied).all()
    if hearings:
        items = [Todo(f"{h.unit.name}：機関の回答を見て日時を確定する", f"/hearings/{h.id}") for h in hearings]
        groups.append(TodoGroup("確定するヒアリング・訪問の日程", items, len(items)))
    unclosed = year_end.awaiting_close(SHOWN)
    if unclosed:
        items = [
            Todo(
                f"{fiscal_year_label(c.fiscal_year)}「{c.title}」を締めて、委員会への報告を確定する",
                f"/cycles/{c.id}/close",
            )
            for c in unclosed
        ]
        groups.append(TodoGroup("締める年度点検", items, len(items)))
    return groups
