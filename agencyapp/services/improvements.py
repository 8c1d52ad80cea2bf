"""Improvement points and requests: draft, suggest, issue, answer, return and close."""

from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass, replace
from datetime import UTC, date, datetime
from typing import IO, Protocol

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from agencyapp import attachments, policy
from agencyapp.actions import Action
from agencyapp.errors import NotFound
from agencyapp.extensions import db
from agencyapp.formatting import date_wareki, today_tokyo
from agencyapp.inputs import idents
from agencyapp.lifecycles import POINT, POINT_OPEN, PointState
from agencyapp.models import (
    Attachment,
    ChecklistQuestion,
    Cycle,
    ImprovementPoint,
    ImprovementRequest,
    Ministry,
    Phrase,
    PointEvent,
    Submission,
    Unit,
    User,
)
from agencyapp.services import DomainError, clean_text, figure_cache, matches, workflow
from agencyapp.services.audit import record
from agencyapp.services.notifications import center_users, notify, notify_unit_and_ministry, unit_users
from agencyapp.services.selfcheck import load_state
from agencyapp.unit_of_work import after_rollback

TEXT_MAX = 4000


class Upload(Protocol):
    """An uploaded file as the web layer hands it over (werkzeug's ``FileStorage``)."""

    @property
    def filename(self) -> str | None: ...

    @property
    def stream(self) -> IO[bytes]: ...


STALE = "この改善点はほかの操作で更新されています（二重送信の可能性があります）。ページを再読み込みしてください。"


def _text(value, label, required=True):
    return clean_text(value, label, required, TEXT_MAX)


def _snapshot(point):
    return {"status": point.status, "finding": point.finding, "requested_action": point.requested_action}


def _next_position(submission) -> int:
    return (
        db.session.scalar(
            select(func.max(ImprovementPoint.position)).where(ImprovementPoint.submission_id == submission.id)
        )
        or 0
    ) + 1


# --- drafts (center) ---------------------------------------------------------------------


def _question_id(submission, number):
    if number in (None, ""):
        return None
    question = db.session.scalar(
        select(ChecklistQuestion).where(
            ChecklistQuestion.version_id == submission.cycle.version_id, ChecklistQuestion.number == number
        )
    )
    if question is None:
        raise DomainError(f"設問番号 {number} はこのチェックリストにありません。")
    return question.id


def add_point(
    user: User,
    submission: Submission,
    question_number: int | None,
    finding: str | None,
    requested_action: str | None,
    source: str = "review",
) -> ImprovementPoint:
    """A new draft (the lifecycle's initial state), visible to the center only."""
    policy.require(user, Action.POINT_DRAFT, submission)
    point = ImprovementPoint(
        submission_id=submission.id,
        question_id=_question_id(submission, question_number),
        finding=_text(finding, "指摘事項"),
        requested_action=_text(requested_action, "改善を求める事項", required=False),
        status=POINT.initial.value,
        source=source,
        created_by_id=user.id,
        position=_next_position(submission),
    )
    db.session.add(point)
    db.session.flush()
    record(
        "point.drafted",
        actor=user,
        obj=point,
        after=_snapshot(point),
        summary=f"改善点（下書き）を作成しました{f'（設問{question_number}）' if question_number else ''}",
    )
    return point


def edit_point(
    user: User,
    point: ImprovementPoint,
    finding: str | None,
    requested_action: str | None,
    lock_version: int | None,
) -> ImprovementPoint:
    workflow.check(point, "edit", user, lock_version=lock_version, stale=STALE)
    before = _snapshot(point)
    point.finding = _text(finding, "指摘事項")
    point.requested_action = _text(requested_action, "改善を求める事項", required=False)
    point.updated_at = datetime.now(UTC)
    workflow.apply(point, "edit", user, before=before, after=_snapshot(point), summary="改善点（下書き）を編集しました")
    return point


def delete_point(user: User, point: ImprovementPoint, lock_version: int | None) -> None:
    workflow.check(point, "delete", user, lock_version=lock_version, stale=STALE)
    workflow.apply(point, "delete", user, before=_snapshot(point), summary="改善点（下書き）を削除しました")
    db.session.delete(point)


def suggest_points(user: User, submission: Submission) -> int:
    """Propose a draft for every important-item answer below 3 and every answer of 1.

    Questions that already have a point (draft or open) get none. Nothing is issued.
    """
    workflow.check(submission, "suggest", user)
    state = load_state(submission)
    scale = state.structure.version.scale
    top = max(e["points"] for e in scale if e["points"] is not None)
    important = set(state.important_goals)
    have = set(
        db.session.scalars(
            select(ImprovementPoint.question_id).where(
                ImprovementPoint.submission_id == submission.id,
                ImprovementPoint.status != PointState.CLOSED,
                ImprovementPoint.question_id.is_not(None),
            )
        )
    )
    position = _next_position(submission) - 1
    created = 0
    for question in state.structure.questions:
        value = state.values.get(question.number)
        if not state.applies[question.number] or value in (None, 0) or question.id in have:
            continue
        if not (value == 1 or (question.goal_number in important and value < top)):
            continue
        label = state.structure.version.scale_label(value)
        important_note = "（今年度の重要点検項目）" if question.goal_number in important else ""
        position += 1
        db.session.add(
            ImprovementPoint(
                submission_id=submission.id,
                question_id=question.id,
                status=POINT.initial.value,
                source="suggestion",
                position=position,
                created_by_id=user.id,
                finding=(
                    f"設問{question.number}「{question.text}」の自己点検結果が「{value} {label}」です{important_note}。"
                ),
                requested_action=f"「{question.text}」の措置を講じ、実施状況（規程・記録等）を報告してください。",
            )
        )
        created += 1
    if created:
        workflow.apply(
            submission,
            "suggest",
            user,
            after={"created": created},
            summary=f"改善点の案を{created}件作成しました（下書き）",
        )
    return created


# --- issue (center) ------------------------------------------------------------------------


def issue_request(
    user: User,
    submission: Submission,
    point_ids: Iterable[int | str],
    due_on: date | None,
    message: str | None = "",
) -> ImprovementRequest:
    """Issue the chosen drafts as one 改善依頼 with a due date; they become visible to agency and ministry."""
    workflow.check(submission, "issue", user)
    ids = sorted(idents(point_ids))
    if not ids:
        raise DomainError("依頼する改善点を1つ以上選んでください。")
    if not isinstance(due_on, date):
        raise DomainError("回答期限を正しい日付で入力してください。")
    if due_on <= today_tokyo():
        raise DomainError("回答期限は明日以降の日付にしてください。")
    points = db.session.scalars(
        select(ImprovementPoint)
        .where(
            ImprovementPoint.id.in_(ids),
            ImprovementPoint.submission_id == submission.id,
            ImprovementPoint.status.in_(POINT.states_allowing("issue")),
        )
        .order_by(ImprovementPoint.position)
    ).all()
    if len(points) != len(ids):
        raise DomainError(
            "選ばれた改善点の一部が見つからないか、既に依頼済みです（二重送信の可能性があります）。"
            "ページを再読み込みしてください。"
        )
    now = datetime.now(UTC)
    request_row = ImprovementRequest(
        submission_id=submission.id,
        due_on=due_on,
        issued_at=now,
        issued_by_id=user.id,
        message=_text(message, "依頼文", required=False),
    )
    db.session.add(request_row)
    db.session.flush()
    for point in points:
        point.request_id = request_row.id
        point.updated_at = now
        db.session.add(
            PointEvent(
                point_id=point.id, kind="issued", actor_id=user.id, at=now, body=f"回答期限 {date_wareki(due_on)}"
            )
        )
        workflow.apply(point, "issue", user, after={"request": request_row.id}, summary="改善点を依頼しました")
    workflow.apply(
        submission,
        "issue",
        user,
        after={"points": [p.id for p in points], "due_on": due_on.isoformat()},
        subject=request_row,
        summary=f"改善依頼を発行しました（改善点{len(points)}件、回答期限 {due_on.isoformat()}）",
    )
    text = f"{submission.cycle.title}について改善依頼（{len(points)}件、回答期限 {date_wareki(due_on)}）が届きました。"
    notify_unit_and_ministry(submission.unit, "request_issued", text, f"/improvements/requests/{request_row.id}")
    return request_row


# --- respond (agency) and verdict (center) -----------------------------------------------


def answer_point(
    user: User,
    point: ImprovementPoint,
    plan: str | None,
    plan_due_on: date | None,
    report: str | None,
    upload: Upload | None,
    lock_version: int | None,
) -> ImprovementPoint:
    """The agency's plan (what, by when) and, when done, its completion report, with an optional file."""
    workflow.check(point, "answer", user, lock_version=lock_version, stale=STALE)
    plan = _text(plan, "改善計画（実施内容）")
    if not isinstance(plan_due_on, date):
        raise DomainError("改善の完了予定日を正しい日付で入力してください。")
    if plan_due_on < today_tokyo():
        raise DomainError("改善の完了予定日は今日以降の日付にしてください（過去の日付は指定できません）。")
    report = _text(report, "完了報告", required=False)
    stored = attachments.store(upload) if upload is not None and upload.filename else None
    if stored:  # the file is on disk already: it goes if the action does not commit
        after_rollback(lambda: attachments.remove(stored.stored_name))
    now = datetime.now(UTC)
    before = {"plan": point.plan, "report": point.report}
    point.plan, point.plan_due_on, point.report = plan, plan_due_on, report
    point.answered_at = point.updated_at = now
    point.answer_seen_at = None
    body = f"改善計画：{plan}" + (f"\n完了報告：{report}" if report else "")
    event = PointEvent(point_id=point.id, kind="answered", body=body, plan_due_on=plan_due_on, actor_id=user.id, at=now)
    db.session.add(event)
    db.session.flush()
    if stored:
        db.session.add(
            Attachment(
                event_id=event.id,
                original_name=stored.original_name,
                stored_name=stored.stored_name,
                content_type=stored.content_type,
                size=stored.size,
                sha256=stored.sha256,
                uploaded_by_id=user.id,
            )
        )
    workflow.apply(
        point,
        "answer",
        user,
        before=before,
        after={
            "plan": plan,
            "plan_due_on": plan_due_on.isoformat(),
            "report": report,
            "attachment": stored.sha256 if stored else None,
        },
        summary="改善点に回答しました" + ("（完了報告あり）" if report else "（改善計画）"),
    )
    notify(
        center_users(),
        "point_answered",
        f"{point.submission.unit.name}から改善点への回答"
        + ("（完了報告）" if report else "（改善計画）")
        + "が届きました。",
        f"/improvements/points/{point.id}",
    )
    return point


def withdraw_answer(user: User, point: ImprovementPoint, lock_version: int | None) -> None:
    """The agency takes its answer back to correct it, while the center has not opened it yet; kept in history."""
    workflow.check(point, "withdraw", user, lock_version=lock_version, stale=STALE)
    if point.answer_seen_at is not None:
        raise DomainError(
            "センターが既に回答を確認し始めているため、取り下げられません。修正がある場合はセンターに連絡してください。"
        )
    now = datetime.now(UTC)
    point.updated_at = now
    db.session.add(
        PointEvent(
            point_id=point.id, kind="withdrawn", body="回答を取り下げました（修正のため）", actor_id=user.id, at=now
        )
    )
    workflow.apply(point, "withdraw", user, summary="改善点への回答を取り下げました（修正のため）")


def mark_answer_seen(user: User, point: ImprovementPoint) -> None:
    """The center opened an answered point: from now on the agency cannot withdraw the answer."""
    if (
        point.state is PointState.ANSWERED
        and point.answer_seen_at is None
        and policy.can(user, Action.POINT_CLOSE, point)
    ):
        point.answer_seen_at = datetime.now(UTC)


def return_point(user: User, point: ImprovementPoint, comment: str | None, lock_version: int | None) -> None:
    workflow.check(point, "return", user, lock_version=lock_version, stale=STALE)
    comment = _text(comment, "差戻しのコメント")
    now = datetime.now(UTC)
    point.center_comment, point.updated_at = comment, now
    db.session.add(PointEvent(point_id=point.id, kind="returned", body=comment, actor_id=user.id, at=now))
    workflow.apply(point, "return", user, after={"comment": comment}, summary="改善点の回答を差し戻しました")
    notify(
        unit_users(point.submission.unit_id),
        "point_returned",
        f"改善点への回答が差し戻されました：{comment}",
        f"/improvements/points/{point.id}",
    )


def close_point(user: User, point: ImprovementPoint, comment: str | None, lock_version: int | None) -> None:
    workflow.check(point, "close", user, lock_version=lock_version, stale=STALE)
    if not point.report:
        raise DomainError(
            "完了報告がまだないため完了にできません。計画を確認した旨をコメントして差し戻し、完了報告を求めてください。"
        )
    comment = _text(comment, "コメント", required=False)
    now = datetime.now(UTC)
    point.center_comment, point.closed_at, point.updated_at = comment, now, now
    db.session.add(PointEvent(point_id=point.id, kind="closed", body=comment, actor_id=user.id, at=now))
    workflow.apply(point, "close", user, after={"comment": comment}, summary="改善点を完了にしました")
    notify(
        unit_users(point.submission.unit_id),
        "point_closed",
        "改善点が完了となりました。",
        f"/improvements/points/{point.id}",
    )


# --- reading --------------------------------------------------------------------------------


@dataclass
class PointFilters:
    status: str = ""
    search: str = ""
    overdue: bool = False
    page: int = 1
    cycle_id: int | None = None  # that year's points and those of earlier years still open; None: every year


def overdue_points_clause() -> ColumnElement[bool]:
    return (ImprovementPoint.status == PointState.ISSUED) & (ImprovementRequest.due_on < today_tokyo())


def visible_points(user: User, filters: PointFilters, per_page: int = 25) -> tuple[Sequence[ImprovementPoint], int]:
    """A page of the points ``user`` may see (drafts only for the center), with their request and unit:
    two statements; the tables already joined to filter are loaded from that join (``contains_eager``)."""
    joined = (
        select(ImprovementPoint)
        .join(ImprovementRequest, ImprovementRequest.id == ImprovementPoint.request_id)
        .join(Submission, Submission.id == ImprovementPoint.submission_id)
        .join(Unit, Unit.id == Submission.unit_id)
        .join(Ministry, Ministry.id == Unit.ministry_id)
    )
    stmt = policy.scope_points(user, joined)
    if filters.cycle_id is not None:
        year = select(Cycle.fiscal_year).where(Cycle.id == filters.cycle_id).scalar_subquery()
        # On the submission already joined, with earlier years as the few cycle ids (no list of every
        # submission or point of every year): a unit's list stays a lookup of its own submissions.
        earlier = select(Cycle.id).where(Cycle.fiscal_year < year)
        stmt = stmt.where(
            (Submission.cycle_id == filters.cycle_id)
            | (ImprovementPoint.status.in_(POINT_OPEN) & Submission.cycle_id.in_(earlier))
        )
    if filters.status:
        stmt = stmt.where(ImprovementPoint.status == filters.status)
    if filters.overdue:
        stmt = stmt.where(overdue_points_clause())
    if filters.search:
        stmt = stmt.where(matches(filters.search, Unit.name, ImprovementPoint.finding))
    order = (ImprovementRequest.due_on, ImprovementPoint.id)
    page = max(filters.page, 1)
    if user.unit_id is None:
        # The center's (and a ministry's) list spans every unit: its order is kept until the data changes.
        def rank():
            return list(db.session.scalars(stmt.with_only_columns(ImprovementPoint.id).order_by(*order)))

        key = ("points", user.role, user.ministry_id, astuple(replace(filters, page=1)))
        ranking = figure_cache.cached(key, rank)
        total, ids = len(ranking), ranking[(page - 1) * per_page : page * per_page]
        stmt, page = joined.where(ImprovementPoint.id.in_(ids)), 1  # the page's points by id, nothing else
    else:
        total = db.session.scalar(stmt.with_only_columns(func.count(ImprovementPoint.id)))
    rows = (
        db.session.scalars(
            stmt.options(
                contains_eager(ImprovementPoint.request),
                contains_eager(ImprovementPoint.submission)
                .contains_eager(Submission.unit)
                .contains_eager(Unit.ministry),
                joinedload(ImprovementPoint.question),
            )
            .order_by(*order)
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
        .unique()
        .all()
    )
    return rows, total


def points_of_submission(submission: Submission, include_drafts: bool) -> Sequence[ImprovementPoint]:
    stmt = (
        select(ImprovementPoint)
        .where(ImprovementPoint.submission_id == submission.id)
        .options(joinedload(ImprovementPoint.question), joinedload(ImprovementPoint.request))
        .order_by(ImprovementPoint.position, ImprovementPoint.id)
    )
    if not include_drafts:
        stmt = stmt.where(ImprovementPoint.status != PointState.DRAFT)
    return db.session.scalars(stmt).unique().all()


def point_history(point: ImprovementPoint) -> Sequence[PointEvent]:
    return (
        db.session.scalars(
            select(PointEvent)
            .where(PointEvent.point_id == point.id)
            .options(joinedload(PointEvent.actor), selectinload(PointEvent.attachments))
            .order_by(PointEvent.id)
        )
        .unique()
        .all()
    )


def is_overdue(point: ImprovementPoint) -> bool:
    return point.state is PointState.ISSUED and point.request is not None and point.request.due_on < today_tokyo()


# --- phrases ------------------------------------------------------------------------------------


PHRASE_KINDS = {"finding": "審査（指摘事項・改善を求める事項）", "reminder": "督促"}


def phrases(active_only: bool = True, kind: str | None = "finding") -> Sequence[Phrase]:
    """The phrase library, of one kind (None: every kind, findings first)."""
    stmt = select(Phrase).order_by(Phrase.kind, Phrase.title, Phrase.id)
    if active_only:
        stmt = stmt.where(Phrase.active.is_(True))
    if kind is not None:
        stmt = stmt.where(Phrase.kind == kind)
    return db.session.scalars(stmt).all()


def save_phrase(
    user: User, phrase_id: int | None, title: str | None, body: str | None, kind: str | None = "finding"
) -> Phrase:
    policy.require(user, Action.PHRASE_MANAGE)
    title = _text(title, "定型文の見出し")[:100]
    body = _text(body, "定型文の本文")
    if kind not in PHRASE_KINDS:
        raise DomainError("定型文の用途を選んでください。")
    if phrase_id:
        phrase = db.session.get(Phrase, phrase_id)
        if phrase is None or not phrase.active:
            raise NotFound()
        before = {"title": phrase.title, "body": phrase.body, "kind": phrase.kind}
        phrase.title, phrase.body, phrase.kind, phrase.updated_by_id = title, body, kind, user.id
        phrase.updated_at = datetime.now(UTC)
        record(
            "phrase.edited",
            actor=user,
            obj=phrase,
            before=before,
            after={"title": title, "body": body, "kind": kind},
            summary=f"定型文「{title}」を更新しました",
        )
    else:
        phrase = Phrase(title=title, body=body, kind=kind, updated_by_id=user.id)
        db.session.add(phrase)
        db.session.flush()
        record(
            "phrase.created",
            actor=user,
            obj=phrase,
            after={"title": title, "body": body, "kind": kind},
            summary=f"定型文「{title}」を登録しました",
        )
    return phrase


def delete_phrase(user: User, phrase_id: int) -> None:
    policy.require(user, Action.PHRASE_MANAGE)
    phrase = db.session.get(Phrase, phrase_id)
    if phrase is None or not phrase.active:
        raise NotFound()
    phrase.active = False
    record(
        "phrase.deleted",
        actor=user,
        obj=phrase,
        before={"title": phrase.title},
        summary=f"定型文「{phrase.title}」を削除しました",
    )
