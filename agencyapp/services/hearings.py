"""Hearings and visits: candidates, scheduling, preparation, the record and the report."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import joinedload, selectinload

from agencyapp import policy, priority
from agencyapp.actions import Action
from agencyapp.extensions import db
from agencyapp.formatting import TOKYO, datetime_ja, today_tokyo
from agencyapp.inputs import idents
from agencyapp.lifecycles import (
    HEARING,
    HEARING_ACTIVE,
    HEARING_HELD,
    HEARING_VISIBLE_OUTSIDE_CENTER,
    SUBMISSION,
    HearingState,
    PointState,
)
from agencyapp.models import (
    ChecklistQuestion,
    Cycle,
    Hearing,
    HearingDocument,
    HearingFinding,
    HearingSlot,
    ImprovementPoint,
    ImprovementRequest,
    Ministry,
    Submission,
    Unit,
    User,
)
from agencyapp.models.hearing import DEFAULT_DOCUMENTS, KIND_LABELS
from agencyapp.services import DomainError, clean_text, figure_cache, question_stats, workflow
from agencyapp.services.audit import record
from agencyapp.services.cycles import submission_deadline
from agencyapp.services.improvements import add_point
from agencyapp.services.notifications import notify, notify_unit_and_ministry, unit_users
from agencyapp.services.selfcheck import load_submissions

MAX_SLOTS = 5
TEXT_MAX = 20000


class DoubleBooking(DomainError):
    """The staff member already has a confirmed hearing at that time."""

    status = 409


STALE = "このヒアリングはほかの操作で更新されています（二重送信の可能性があります）。ページを再読み込みしてください。"


def _text(value, label, required=True, limit=TEXT_MAX):
    return clean_text(value, label, required, limit)


def _touch(hearing):
    hearing.updated_at = datetime.now(UTC)


# --- candidates ------------------------------------------------------------------------------


@dataclass
class Candidate:
    submission: Submission
    facts: priority.UnitFacts
    priority: priority.Priority
    hearing: Hearing | None  # an active hearing of this cycle, if any


CANDIDATE_SORTS = ("score", "unit", "ministry", "mean")


def _fiscal_year_start(year: int) -> datetime:
    """April 1 of the fiscal year, 00:00 in Tokyo, as a UTC instant (comparable with stored times)."""
    return datetime(year, 4, 1, tzinfo=TOKYO).astimezone(UTC)


class _Candidates:
    """Every target unit of a cycle with the facts of its priority as SQL columns, scored in SQL by the
    priority module's formula; ``facts_of`` turns a fetched row into the UnitFacts shown with its reasons."""

    def __init__(self, cycle: Cycle, weights: Mapping[str, float]):
        self.cycle = cycle
        today = today_tokyo()
        # Last year's mean; when the checklist changed since, both years' means over the questions that
        # follow each other through the mapping, so that a drop is not an artefact of the revision.
        previous = question_stats.previous_cycle(cycle)
        shared = question_stats.shared_questions(previous, cycle) if previous is not None else None
        compared = None
        if shared is None:
            last_year = (
                select(Submission.unit_id.label("unit_id"), Submission.score_mean.label("mean"))
                .where(Submission.cycle_id == (previous.id if previous else None), Submission.score_mean.is_not(None))
                .subquery()
            )
        else:
            last_year = question_stats.unit_means_over(previous, shared[0])
            compared = question_stats.unit_means_over(cycle, shared[1])
        overdue = ImprovementRequest.due_on < today
        issued = (
            select(
                Submission.unit_id.label("unit_id"),
                func.count(ImprovementPoint.id).label("issued"),
                func.sum(case((overdue, 1), else_=0)).label("overdue"),
            )
            .select_from(ImprovementPoint)
            .join(Submission, Submission.id == ImprovementPoint.submission_id)
            .join(ImprovementRequest, ImprovementRequest.id == ImprovementPoint.request_id)
            .where(ImprovementPoint.status == PointState.ISSUED)
            .group_by(Submission.unit_id)
            .subquery()
        )
        held = (
            select(Hearing.unit_id.label("unit_id"), func.max(Hearing.starts_at).label("last"))
            .where(Hearing.status.in_(HEARING_HELD))
            .group_by(Hearing.unit_id)
            .subquery()
        )
        # Fiscal years since the last one held, 0–5 (5 when never), from the fiscal years' first instants.
        years = case(
            *[(held.c.last >= _fiscal_year_start(cycle.fiscal_year - k), k) for k in range(priority.MAX_YEARS)],
            else_=priority.NEVER_YEARS,
        )
        deadline = submission_deadline(cycle)
        late = or_(
            and_(Submission.status.in_(SUBMISSION.states_allowing("save")), literal(cycle.due_on < today)),
            Submission.submitted_at >= deadline,
        )
        overdue_n = func.coalesce(issued.c.overdue, 0)
        self.facts = {
            "important_below": Submission.important_below,
            "earlier_below": Submission.earlier_below,
            "mean": Submission.score_mean,
            "last_year_mean": last_year.c.mean,
            "compared_mean": compared.c.mean if compared is not None else Submission.score_mean,
            "open_points": overdue_n,
            "waiting_points": func.coalesce(issued.c.issued, 0) - overdue_n,
            "late": late,
            "years_since_last": years,
        }
        self.score = priority.sql_score(self.facts, weights)
        self.columns = [
            last_year.c.mean,
            compared.c.mean if compared is not None else literal(None),
            overdue_n,
            self.facts["waiting_points"],
            case((late, True), else_=False),
            case((held.c.last.is_(None), None), else_=years),
        ]
        self.base = (
            select(Submission)
            .join(Unit, Unit.id == Submission.unit_id)
            .join(Ministry, Ministry.id == Unit.ministry_id)
            .outerjoin(last_year, last_year.c.unit_id == Submission.unit_id)
            .outerjoin(issued, issued.c.unit_id == Submission.unit_id)
            .outerjoin(held, held.c.unit_id == Submission.unit_id)
            .where(Submission.cycle_id == cycle.id)
        )
        if compared is not None:
            self.base = self.base.outerjoin(compared, compared.c.unit_id == Submission.unit_id)

    @staticmethod
    def facts_of(submission, last_mean, compared, open_points, waiting, late, years) -> priority.UnitFacts:
        return priority.UnitFacts(
            important_below=submission.important_below or 0,
            earlier_below=submission.earlier_below or 0,
            mean=submission.score_mean,
            last_year_mean=float(last_mean) if last_mean is not None else None,
            compared_mean=float(compared) if compared is not None else None,
            open_points=int(open_points),
            waiting_points=int(waiting),
            late=bool(late),
            years_since_last=years,
        )


def candidate_page(
    user: User,
    cycle: Cycle,
    weights: Mapping[str, float],
    ministry_id: int | None = None,
    *,
    min_score: float | None = None,
    sort: str = "score",
    unit_ids: Iterable[int] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[Candidate], int]:
    """(one page of the cycle's target units with their priority, how many there are): scored,
    filtered and ranked in SQL once per change of the data (figure_cache); a page reads only its own
    units. Three statements whatever the number of units."""
    policy.require(user, Action.HEARING_MANAGE)
    query = _Candidates(cycle, weights)
    stmt = query.base
    if ministry_id:
        stmt = stmt.where(Unit.ministry_id == ministry_id)
    if unit_ids is not None:
        stmt = stmt.where(Submission.unit_id.in_(list(unit_ids)))
    if min_score is not None:
        stmt = stmt.where(query.score >= min_score)
    tie = (Ministry.position, Unit.position, Unit.id)
    orders = {
        "score": (query.score.desc(), *tie),
        "unit": (Unit.name, Unit.id),
        "ministry": tie,
        "mean": (Submission.score_mean.is_(None), Submission.score_mean, *tie),
    }

    def rank():
        ranked = stmt.with_only_columns(Submission.id, *query.columns).order_by(*orders.get(sort, orders["score"]))
        return [tuple(row) for row in db.session.execute(ranked)]

    key = ("candidates", cycle.id, ministry_id, min_score, sort, tuple(sorted(weights.items())))
    ranking = rank() if unit_ids is not None else figure_cache.cached(key, rank)
    chosen = ranking[offset : offset + limit] if limit is not None else ranking[offset:]
    loaded = load_submissions([row[0] for row in chosen])
    rows = [(loaded[row[0]], *row[1:]) for row in chosen if row[0] in loaded]
    total = len(ranking)
    active = {}
    if rows:
        active = {
            h.unit_id: h
            for h in db.session.scalars(
                select(Hearing).where(
                    Hearing.cycle_id == cycle.id,
                    Hearing.status.in_(HEARING_ACTIVE),
                    Hearing.unit_id.in_([row[0].unit_id for row in rows]),
                )
            )
        }
    candidates = []
    for submission, *columns in rows:
        facts = query.facts_of(submission, *columns)
        candidates.append(Candidate(submission, facts, priority.score(facts, weights), active.get(submission.unit_id)))
    return candidates, total


def candidates(
    user: User,
    cycle: Cycle,
    weights: Mapping[str, float],
    ministry_id: int | None = None,
    unit_ids: Iterable[int] | None = None,
) -> list[Candidate]:
    """Every target unit of the cycle (or the given ones) with its priority, highest first."""
    return candidate_page(user, cycle, weights, ministry_id, unit_ids=unit_ids)[0]


def create_hearings(
    user: User,
    cycle: Cycle,
    unit_ids: Iterable[int | str],
    kind: str | None,
    comment: str | None,
    weights: Mapping[str, float],
) -> list[Hearing]:
    """Create a candidate hearing (or visit) for each chosen unit, recording why it was chosen."""
    policy.require(user, Action.HEARING_MANAGE)
    if kind not in KIND_LABELS:
        raise DomainError("種別（個別ヒアリング・訪問）を選んでください。")
    ids = idents(unit_ids)
    if not ids:
        raise DomainError("対象の機関を1つ以上選んでください。")
    comment = _text(comment, "選定の理由（補足）", required=False, limit=2000)
    by_unit = {c.submission.unit_id: c for c in candidates(user, cycle, weights, unit_ids=ids)}
    unknown = ids - set(by_unit)
    if unknown:
        raise DomainError("この年度点検の対象でない機関が含まれています。")
    busy = [by_unit[i].submission.unit.name for i in ids if by_unit[i].hearing is not None]
    if busy:
        raise DomainError(f"次の機関には既にこの年度のヒアリング・訪問があります：{'、'.join(busy)}")
    created = []
    for unit_id in sorted(ids, key=lambda i: -by_unit[i].priority.score):
        row = by_unit[unit_id]
        summary = "、".join(f"{r.label} {r.amount:g}" for r in row.priority.reasons) or "データ上の理由なし"
        reason = f"優先度 {row.priority.score:g}（{summary}）" + (f"\n{comment}" if comment else "")
        hearing = Hearing(
            cycle_id=cycle.id,
            unit_id=unit_id,
            kind=kind,
            status=HEARING.initial.value,
            selection_reason=reason,
            priority_score=row.priority.score,
            priority_reasons=row.priority.as_list(),
            staff_id=user.id,
            created_by_id=user.id,
            documents=[HearingDocument(title=t, position=i) for i, t in enumerate(DEFAULT_DOCUMENTS)],
        )
        db.session.add(hearing)
        db.session.flush()
        record(
            "hearing.selected",
            actor=user,
            obj=hearing,
            after={"unit": unit_id, "kind": kind, "reason": reason},
            summary=f"{row.submission.unit.name}を{KIND_LABELS[kind]}の候補に選びました",
        )
        created.append(hearing)
    return created


# --- slots -------------------------------------------------------------------------------------


@dataclass
class SlotInput:
    day: date | None
    start: time | None
    end: time | None
    place: str = ""


def parse_slot(day: str | None, start: str | None, end: str | None, place: str | None = "") -> SlotInput | None:
    """Form text (西暦 date, HH:MM in Japan time) to a SlotInput; blank rows give None."""
    if not (day or start or end):
        return None
    try:
        return SlotInput(
            date.fromisoformat(day or ""),
            time.fromisoformat(start or ""),
            time.fromisoformat(end or ""),
            (place or "").strip(),
        )
    except ValueError as exc:
        raise DomainError("日付は 2026-12-01、時刻は 10:00 の形式で入力してください。") from exc


def _validated_slots(inputs, now=None):
    inputs = [s for s in inputs if s is not None]
    if not inputs:
        raise DomainError("候補日時を1つ以上入力してください。")
    if len(inputs) > MAX_SLOTS:
        raise DomainError(f"候補日時は{MAX_SLOTS}つまでです。")
    now = now or datetime.now(UTC)
    result = []
    for index, slot in enumerate(inputs, start=1):
        starts = datetime.combine(slot.day, slot.start, TOKYO)
        ends = datetime.combine(slot.day, slot.end, TOKYO)
        if ends <= starts:
            raise DomainError(f"候補{index}：終了時刻は開始時刻より後にしてください。")
        if starts <= now:
            raise DomainError(f"候補{index}：過去の日時は指定できません。")
        if len(slot.place) > 500:
            raise DomainError(f"候補{index}：場所・会議情報は500文字以内で入力してください。")
        result.append((starts.astimezone(UTC), ends.astimezone(UTC), slot.place))
    ordered = sorted(result)
    for (_s1, e1, _), (s2, _e2, _) in zip(ordered, ordered[1:], strict=False):
        if s2 < e1:
            raise DomainError("候補日時が重なっています。重ならない時間帯を指定してください。")
    return result


def propose_slots(user: User, hearing: Hearing, inputs: Iterable[SlotInput | None], lock_version: int | None) -> None:
    """The center offers one to five slots; earlier unchosen offers are withdrawn."""
    workflow.check(hearing, "propose", user, lock_version=lock_version, stale=STALE)
    slots = _validated_slots(inputs)
    for old in hearing.slots:
        old.withdrawn = True
    for starts, ends, place in slots:
        hearing.slots.append(
            HearingSlot(starts_at=starts, ends_at=ends, place=place, proposed_by="center", created_by_id=user.id)
        )
    _touch(hearing)
    workflow.apply(
        hearing,
        "propose",
        user,
        after={"slots": [s[0].isoformat() for s in slots]},
        summary=f"候補日時を{len(slots)}件提示しました",
    )
    notify(
        unit_users(hearing.unit_id),
        "hearing_proposed",
        f"{hearing.kind_label}の候補日時が届きました。都合のよい日時を選んでください。",
        f"/hearings/{hearing.id}",
    )


def choosable_slots(hearing: Hearing, by_center: bool) -> list[HearingSlot]:
    """Slots the center may confirm (any open one) or the agency may pick (the center's open offers)."""
    return [s for s in hearing.slots if not s.withdrawn and (by_center or s.proposed_by == "center")]


def _open_slot(hearing, slot_id, by_center):
    if slot_id is None:
        raise DomainError("候補日時を1つ選んでください。")
    slot = next((s for s in choosable_slots(hearing, by_center) if s.id == slot_id), None)
    if slot is None:
        raise DomainError("選ばれた日時は、このヒアリングで提示されている候補ではありません。")
    return slot


def pick_slot(user: User, hearing: Hearing, slot_id: int | None, comment: str | None, lock_version: int | None) -> None:
    workflow.check(hearing, "pick", user, lock_version=lock_version, stale=STALE)
    slot = _open_slot(hearing, slot_id, by_center=False)
    for other in hearing.slots:
        other.chosen = other.id == slot.id
    slot.comment = _text(comment, "コメント", required=False, limit=2000)
    _touch(hearing)
    workflow.apply(
        hearing,
        "pick",
        user,
        after={"slot": slot.starts_at.isoformat()},
        summary=f"候補日時 {datetime_ja(slot.starts_at)} を選びました",
    )
    _notify_staff(
        hearing, f"{hearing.unit.name}が{hearing.kind_label}の日時（{datetime_ja(slot.starts_at)}）を選びました。"
    )


def counter_propose(
    user: User,
    hearing: Hearing,
    inputs: Iterable[SlotInput | None],
    comment: str | None,
    lock_version: int | None,
) -> None:
    workflow.check(hearing, "counter", user, lock_version=lock_version, stale=STALE)
    slots = _validated_slots(inputs)
    comment = _text(comment, "コメント", required=False, limit=2000)
    for slot in hearing.slots:
        slot.chosen = False
    for starts, ends, place in slots:
        hearing.slots.append(
            HearingSlot(
                starts_at=starts,
                ends_at=ends,
                place=place,
                proposed_by="agency",
                comment=comment,
                created_by_id=user.id,
            )
        )
    _touch(hearing)
    workflow.apply(
        hearing,
        "counter",
        user,
        after={"slots": [s[0].isoformat() for s in slots], "comment": comment},
        summary=f"別の候補日時を{len(slots)}件提案しました",
    )
    _notify_staff(hearing, f"{hearing.unit.name}から{hearing.kind_label}の別の候補日時が届きました。")


def _notify_staff(hearing, message):
    if hearing.staff is not None:
        notify([hearing.staff], "hearing_update", message, f"/hearings/{hearing.id}")


def conflicts(hearing: Hearing, starts: datetime, ends: datetime) -> Sequence[Hearing]:
    """Confirmed hearings of the same staff member overlapping [starts, ends)."""
    if hearing.staff_id is None:
        return []
    return db.session.scalars(
        select(Hearing)
        .where(
            Hearing.staff_id == hearing.staff_id,
            Hearing.id != hearing.id,
            Hearing.status == HearingState.SCHEDULED,
            Hearing.starts_at < ends,
            Hearing.ends_at > starts,
        )
        .options(joinedload(Hearing.unit))
    ).all()


def confirm(
    user: User,
    hearing: Hearing,
    slot_id: int | None,
    place: str | None,
    force: bool,
    lock_version: int | None,
) -> None:
    """Fix the date. A double booking of the staff member is refused unless confirmed knowingly."""
    workflow.check(hearing, "confirm", user, lock_version=lock_version, stale=STALE)
    slot = _open_slot(hearing, slot_id, by_center=True)
    clash = conflicts(hearing, slot.starts_at, slot.ends_at)
    if clash and not force:
        names = "、".join(f"{h.unit.name}（{datetime_ja(h.starts_at)}）" for h in clash)
        raise DoubleBooking(
            f"担当者はこの時間帯に別のヒアリング・訪問が確定しています：{names}。"
            "それでも確定する場合は「重複を承知で確定する」を選んでください。",
            conflicts=clash,
        )
    hearing.starts_at, hearing.ends_at = slot.starts_at, slot.ends_at
    hearing.place = _text(place, "場所・会議情報", required=False, limit=500) or slot.place
    slot.chosen = True
    _touch(hearing)
    workflow.apply(
        hearing,
        "confirm",
        user,
        after={
            "starts_at": slot.starts_at.isoformat(),
            "place": hearing.place,
            "double_booked": bool(clash),
        },
        summary=f"日時を {datetime_ja(slot.starts_at)} に確定しました" + ("（担当者の予定と重複）" if clash else ""),
    )
    message = (
        f"{hearing.kind_label}の日時が {datetime_ja(hearing.starts_at)} に確定しました。準備資料をご確認ください。"
    )
    notify_unit_and_ministry(hearing.unit, "hearing_scheduled", message, f"/hearings/{hearing.id}")


def reschedule(user: User, hearing: Hearing, reason: str | None, lock_version: int | None) -> None:
    workflow.check(hearing, "reschedule", user, lock_version=lock_version, stale=STALE)
    reason = _text(reason, "日程変更の理由", limit=2000)
    before = hearing.starts_at
    for slot in hearing.slots:
        slot.withdrawn = True
    hearing.starts_at = hearing.ends_at = None
    hearing.reminded_at = None
    _touch(hearing)
    workflow.apply(
        hearing,
        "reschedule",
        user,
        before={"starts_at": before.isoformat()},
        after={"reason": reason},
        summary="日程を変更するため、確定を取り消しました",
    )
    notify(
        unit_users(hearing.unit_id),
        "hearing_rescheduled",
        f"{hearing.kind_label}（{datetime_ja(before)}）の日程が変更になります。理由：{reason}",
        f"/hearings/{hearing.id}",
    )


def cancel(user: User, hearing: Hearing, reason: str | None, lock_version: int | None) -> None:
    workflow.check(hearing, "cancel", user, lock_version=lock_version, stale=STALE)
    reason = _text(reason, "中止の理由", limit=2000)
    offered = hearing.state in HEARING_VISIBLE_OUTSIDE_CENTER  # the unit knows of it
    hearing.cancel_reason = reason
    _touch(hearing)
    workflow.apply(hearing, "cancel", user, after={"reason": reason}, summary=f"{hearing.kind_label}を中止しました")
    if offered:
        notify(
            unit_users(hearing.unit_id),
            "hearing_cancelled",
            f"{hearing.kind_label}は中止になりました。理由：{reason}",
            f"/hearings/{hearing.id}",
        )


# --- preparation, record, findings, report ------------------------------------------------------


def update_documents(user: User, hearing: Hearing, text: str | None, lock_version: int | None) -> None:
    """The list of documents to prepare, one per line."""
    workflow.check(hearing, "documents", user, lock_version=lock_version, stale=STALE)
    titles = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if len(titles) > 50 or any(len(t) > 300 for t in titles):
        raise DomainError("準備資料は50件まで、1件300文字以内で入力してください。")
    before = [d.title for d in hearing.documents]
    hearing.documents = [HearingDocument(title=t, position=i) for i, t in enumerate(titles)]
    _touch(hearing)
    workflow.apply(
        hearing,
        "documents",
        user,
        before={"documents": before},
        after={"documents": titles},
        summary="準備資料の一覧を更新しました",
    )


def save_record(
    user: User,
    hearing: Hearing,
    center_attendees: str | None,
    agency_attendees: str | None,
    minutes: str | None,
    internal_notes: str | None,
    lock_version: int | None,
) -> None:
    """Attendees and minutes; saving them marks a confirmed hearing as held."""
    workflow.check(hearing, "record", user, lock_version=lock_version, stale=STALE)
    before = {"minutes": hearing.minutes}
    hearing.center_attendees = _text(center_attendees, "出席者（センター）", required=False, limit=2000)
    hearing.agency_attendees = _text(agency_attendees, "出席者（機関）", required=False, limit=2000)
    hearing.minutes = _text(minutes, "議事録")
    hearing.internal_notes = _text(internal_notes, "内部メモ", required=False)
    _touch(hearing)
    workflow.apply(
        hearing,
        "record",
        user,
        before=before,
        after={"minutes": hearing.minutes},
        summary="出席者と議事録を記録しました",
    )


def add_finding(user: User, hearing: Hearing, question_number: int | None, text: str | None) -> HearingFinding:
    workflow.check(hearing, "add_finding", user)
    question_id = None
    if question_number:
        question_id = db.session.scalar(
            select(ChecklistQuestion.id).where(
                ChecklistQuestion.version_id == hearing.cycle.version_id, ChecklistQuestion.number == question_number
            )
        )
        if question_id is None:
            raise DomainError(f"設問番号 {question_number} はこの年度のチェックリストにありません。")
    finding = HearingFinding(
        hearing_id=hearing.id, question_id=question_id, text=_text(text, "所見", limit=4000), created_by_id=user.id
    )
    db.session.add(finding)
    _touch(hearing)
    db.session.flush()
    workflow.apply(
        hearing,
        "add_finding",
        user,
        after={"question": question_number, "text": finding.text},
        summary="所見を追加しました",
    )
    return finding


def finding_to_point(user: User, hearing: Hearing, finding: HearingFinding) -> ImprovementPoint:
    """Turn a finding into a draft improvement point of the unit's self-check (then issued as usual)."""
    workflow.check(hearing, "finding_to_point", user)
    if finding.point_id is not None:
        raise DomainError("この所見は既に改善点になっています。")
    submission = db.session.scalar(
        select(Submission).where(Submission.cycle_id == hearing.cycle_id, Submission.unit_id == hearing.unit_id)
    )
    if submission is None:
        raise DomainError("この機関の自己点検が見つからないため、改善点にできません。")
    number = finding.question.number if finding.question else None
    point = add_point(user, submission, number, f"【{hearing.kind_label}での所見】{finding.text}", "", source="hearing")
    finding.point_id = point.id
    workflow.apply(
        hearing,
        "finding_to_point",
        user,
        after={"finding": finding.id, "point": point.id},
        summary="所見を改善点（下書き）にしました",
    )
    return point


def publish_report(user: User, hearing: Hearing, lock_version: int | None) -> None:
    workflow.check(hearing, "publish", user, lock_version=lock_version, stale=STALE)
    if not hearing.minutes:
        raise DomainError("議事録がないため報告を公開できません。")
    hearing.reported_at = datetime.now(UTC)
    _touch(hearing)
    workflow.apply(hearing, "publish", user, summary="報告を公開しました")
    message = f"{hearing.kind_label}（{datetime_ja(hearing.starts_at)}）の報告が公開されました。"
    notify_unit_and_ministry(hearing.unit, "hearing_reported", message, f"/hearings/{hearing.id}")


# --- reminders ---------------------------------------------------------------------------------------


def send_reminders(now: datetime | None = None, days: int | None = None) -> Sequence[Hearing]:
    """Remind the unit's contacts and the staff member of confirmed hearings starting within ``days`` days."""
    now = now or datetime.now(UTC)
    days = current_app.config["HEARING_REMINDER_DAYS"] if days is None else days
    due = db.session.scalars(
        select(Hearing)
        .where(
            Hearing.status == HearingState.SCHEDULED,
            Hearing.reminded_at.is_(None),
            Hearing.starts_at > now,
            Hearing.starts_at <= now + timedelta(days=days),
        )
        .options(joinedload(Hearing.unit), joinedload(Hearing.staff))
        .with_for_update(skip_locked=True, of=Hearing)  # two runs at once (two hosts): each hearing once
    ).all()
    for hearing in due:
        message = (
            f"{hearing.kind_label}の予定：{datetime_ja(hearing.starts_at)}〜{hearing.ends_at.astimezone(TOKYO):%H:%M}"
            f"（{hearing.unit.name}）。場所：{hearing.place or '未定'}"
        )
        notify(
            unit_users(hearing.unit_id) + ([hearing.staff] if hearing.staff else []),
            "hearing_reminder",
            message,
            f"/hearings/{hearing.id}",
        )
        hearing.reminded_at = now
        record("hearing.reminded", obj=hearing, actor_login="reminder", summary="日程の事前通知を送りました")
    return due


# --- reading -------------------------------------------------------------------------------------------


@dataclass
class SeasonFilters:
    status: str = ""
    staff_id: int | None = None
    ministry_id: int | None = None
    page: int = 1


def _season_query(user, cycle, filters):
    """The cycle's hearings the user may see, with the season view's filters."""
    stmt = (
        policy.scope_hearings(user, select(Hearing))
        .where(Hearing.cycle_id == cycle.id)
        .join(Unit, Unit.id == Hearing.unit_id)
    )
    if filters.status:
        stmt = stmt.where(Hearing.status == filters.status)
    if filters.staff_id:
        stmt = stmt.where(Hearing.staff_id == filters.staff_id)
    if filters.ministry_id:
        stmt = stmt.where(Unit.ministry_id == filters.ministry_id)
    return stmt


def season(user: User, cycle: Cycle, filters: SeasonFilters, per_page: int = 25) -> tuple[Sequence[Hearing], int]:
    stmt = _season_query(user, cycle, filters)
    total = db.session.scalar(stmt.with_only_columns(func.count(Hearing.id)))
    rows = (
        db.session.scalars(
            stmt.options(joinedload(Hearing.unit).joinedload(Unit.ministry), joinedload(Hearing.staff))
            .order_by(Hearing.starts_at.is_(None), Hearing.starts_at, Hearing.id)
            .offset((max(filters.page, 1) - 1) * per_page)
            .limit(per_page)
        )
        .unique()
        .all()
    )
    return rows, total


def month_hearings(user: User, cycle: Cycle, year: int, month: int, filters: SeasonFilters) -> Sequence[Hearing]:
    """Dated hearings of one month for the calendar grid."""
    first = datetime(year, month, 1, tzinfo=TOKYO)
    last = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=TOKYO)
    stmt = (
        _season_query(user, cycle, filters)
        .where(Hearing.starts_at >= first, Hearing.starts_at < last)
        .options(joinedload(Hearing.unit))
    )
    return db.session.scalars(stmt.order_by(Hearing.starts_at)).unique().all()


def load_hearing(hearing_id: int) -> Hearing | None:
    return db.session.scalar(
        select(Hearing)
        .where(Hearing.id == hearing_id)
        .options(
            selectinload(Hearing.slots),
            selectinload(Hearing.documents),
            selectinload(Hearing.findings).joinedload(HearingFinding.question),
            joinedload(Hearing.unit),
            joinedload(Hearing.staff),
        )
    )


def center_staff() -> Sequence[User]:
    from agencyapp.models.user import CENTER

    return db.session.scalars(select(User).where(User.role == CENTER, User.active.is_(True)).order_by(User.id)).all()


def ministries() -> Sequence[Ministry]:
    return db.session.scalars(select(Ministry).order_by(Ministry.position)).all()
