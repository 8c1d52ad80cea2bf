"""The self-check: answer, save, submit and freeze."""

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from sqlalchemy import Select, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import contains_eager, joinedload

from agencyapp import policy, scoring
from agencyapp.checklists.conditions import applicability, describe, waiting_on
from agencyapp.extensions import db
from agencyapp.inputs import ident_or_none
from agencyapp.lifecycles import SubmissionState
from agencyapp.models import (
    Answer,
    ChecklistQuestion,
    Cycle,
    Submission,
    SubmissionFigure,
    SubmissionSnapshot,
    User,
)
from agencyapp.services import DomainError, StaleError, important, matches, workflow
from agencyapp.services.checklists import QuestionInfo, SectionNode, Structure, load_structure

NOTE_MAX = 2000
# A change in these states withdraws the unit's internal approval (services/approvals.py).
_WAITING = (SubmissionState.AWAITING_APPROVAL, SubmissionState.APPROVED)


ALL_CATEGORIES = "all"  # the self-check page with every 大分類 at once


@dataclass(frozen=True)
class CategoryPage:
    """The 大分類 a self-check page shows: ``shown`` is a code or ALL_CATEGORIES."""

    shown: str
    categories: list
    before: SectionNode | None = None  # the 大分類 before and after the one shown, for its links
    after: SectionNode | None = None

    @property
    def every(self) -> bool:
        return self.shown == ALL_CATEGORIES


@dataclass
class SelfCheckState:
    """Everything a page needs about a submission's answers, computed once."""

    structure: Structure
    answers: dict  # question number -> Answer
    values: dict  # question number -> value or None
    applies: dict  # question number -> bool
    cycle: Cycle | None = None
    _important: list | None = None
    _earlier: object = None

    @property
    def important_goals(self) -> list[int]:
        """The cycle's important goal numbers, read when first needed (an autosave never needs them)."""
        if self._important is None:
            cycle = self.cycle
            if cycle is None:
                self._important = []
            elif "important_goals" in cycle.__dict__:  # already loaded
                self._important = [g.number for g in cycle.important_goals]
            else:  # the numbers only, read with the earlier years' (one statement for both)
                self._important = important.this_year_goals(cycle)
        return self._important

    @property
    def earlier(self):
        """Earlier years' important items (services/important.py), read when first needed."""
        if self._earlier is None:
            cycle = self.cycle
            self._earlier = important.earlier(cycle, self.important_goals) if cycle is not None else important.NONE
        return self._earlier

    @property
    def carried(self) -> set[int]:
        """Question numbers whose answer was carried from last year and is not yet confirmed or changed."""
        return {number for number, answer in self.answers.items() if answer.carried}

    def progress(self, questions: Sequence[QuestionInfo] | None = None) -> tuple[int, int]:
        """(answered, applicable); a carried answer not yet confirmed is not answered."""
        carried = self.carried
        values = {n: v for n, v in self.values.items() if n not in carried} if carried else self.values
        return scoring.progress(questions if questions is not None else self.structure.questions, values, self.applies)

    def missing(self) -> list[QuestionInfo]:
        """Applicable questions without an answer, or with last year's answer not yet confirmed."""
        carried = self.carried
        return [
            q
            for q in self.structure.questions
            if self.applies[q.number] and (self.values.get(q.number) is None or q.number in carried)
        ]

    def scores(self) -> scoring.Scores:
        return scoring.compute(
            self.structure.questions,
            self.values,
            self.applies,
            self.structure.version.scale,
            self.important_goals,
            self.earlier.numbers,
        )

    def off_reason(self, question: QuestionInfo) -> str:
        return describe(question.conditions)

    def waiting_on(self, question: QuestionInfo) -> list[int]:
        """The unanswered controlling questions that decide whether ``question`` applies ([] when decided)."""
        return waiting_on(self.structure.by_number, self.values, self.applies, question)

    def category_page(self, requested: str | None, editable: bool) -> CategoryPage:
        """Which 大分類 the self-check page shows, with the ones before and after it.

        One 大分類 a page keeps the page light; ``all`` shows every one (to print or search the whole).
        Without a valid choice, the page opens where work remains (the 大分類 of the first unanswered
        question) while the self-check can be edited, else at the first.
        """
        categories = self.structure.categories
        if requested == ALL_CATEGORIES or not categories:
            return CategoryPage(ALL_CATEGORIES, categories)
        codes = [c.section.code for c in categories]
        if requested not in codes:
            first_missing = next(iter(self.missing()), None) if editable else None
            requested = first_missing.category_code if first_missing else codes[0]
        at = codes.index(requested)
        return CategoryPage(
            requested,
            [categories[at]],
            before=categories[at - 1] if at > 0 else None,
            after=categories[at + 1] if at + 1 < len(categories) else None,
        )

    def provisional(self) -> list[int]:
        """Controlling questions still unanswered: until they are, the number of applicable questions may change."""
        return sorted({n for q in self.structure.questions if not self.applies[q.number] for n in self.waiting_on(q)})


def load_submissions(submission_ids: Sequence[int]) -> dict[int, Submission]:
    """{id: submission} with their unit and ministry, for a page of a ranking kept by id; 500 ids a statement."""
    from agencyapp.models import Ministry, Unit

    loaded = {}
    for start in range(0, len(submission_ids), 500):
        loaded.update(
            (s.id, s)
            for s in db.session.scalars(
                select(Submission)
                .join(Unit, Unit.id == Submission.unit_id)
                .join(Ministry, Ministry.id == Unit.ministry_id)
                .where(Submission.id.in_(submission_ids[start : start + 500]))
                .options(contains_eager(Submission.unit).contains_eager(Unit.ministry))
            )
        )
    return loaded


def load_answers(submission_ids: Sequence[int]) -> dict[int, dict[int, Answer]]:
    """Answers of several submissions in one statement: {submission_id: {question number: Answer}}."""
    result = {sid: {} for sid in submission_ids}
    if not submission_ids:
        return result
    rows = db.session.execute(
        select(Answer, ChecklistQuestion.number)
        .join(ChecklistQuestion, ChecklistQuestion.id == Answer.question_id)
        .where(Answer.submission_id.in_(submission_ids))
    ).all()
    for answer, number in rows:
        result[answer.submission_id][number] = answer
    return result


def load_values(submission_ids: Sequence[int]) -> dict[int, dict[int, int | None]]:
    """Only the values of several submissions' answers, as plain columns (for progress on lists):
    {submission_id: {question number: value}}; one statement."""
    result = {sid: {} for sid in submission_ids}
    if submission_ids:
        rows = db.session.execute(
            select(Answer.submission_id, ChecklistQuestion.number, Answer.value)
            .join(ChecklistQuestion, ChecklistQuestion.id == Answer.question_id)
            .where(Answer.submission_id.in_(submission_ids))
        )
        for submission_id, number, value in rows:
            result[submission_id][number] = value
    return result


@dataclass
class AnswerRow:
    """An answer read as plain columns (the autosave changes one with an UPDATE, never loading objects)."""

    id: int | None
    value: int | None
    note: str
    version: int = 0  # 0: no row yet
    carried: bool = False  # last year's, not yet confirmed


@cache
def _answer_rows() -> Select:
    answer, question = Answer.__table__.c, ChecklistQuestion.__table__.c
    return (
        select(question.number, answer.id, answer.value, answer.note, answer.version, answer.carried)
        .join_from(Answer.__table__, ChecklistQuestion.__table__, question.id == answer.question_id)
        .where(answer.submission_id == bindparam("submission_id"))
    )


def load_answer_rows(submission_id: int) -> dict[int, AnswerRow]:
    """{question number: AnswerRow} of one submission; one statement of the tables' own columns (no ORM
    entities: every autosave asks, and this costs half of the same query through the mapped classes)."""
    rows = db.session.execute(_answer_rows(), {"submission_id": submission_id})
    return {number: AnswerRow(*row) for number, *row in rows}


def load_state(submission: Submission, structure: Structure | None = None, plain: bool = False) -> SelfCheckState:
    """The answers with what the pages and the scoring need; ``plain``: answers as AnswerRow (the autosave)."""
    structure = structure or load_structure(submission.cycle.version)
    answers = load_answer_rows(submission.id) if plain else load_answers([submission.id])[submission.id]
    values = {number: a.value for number, a in answers.items()}
    return SelfCheckState(structure, answers, values, applicability(structure.questions, values), submission.cycle)


STALE = (
    "別の画面（または別の担当者）がこの自己点検を先に更新したため、保存できませんでした。"
    "入力内容を控えてから、ページを再読み込みしてください。"
)


def _check_editable(user, submission, transition, lock_version, per_answer=False):
    """The lifecycle allows the step, the user may take it, and the page is not stale: for saves whose
    answers carry their versions (``per_answer``), each answer's own version decides instead."""
    workflow.check(submission, transition, user)
    if not per_answer:
        workflow.check_lock(submission, lock_version, STALE)


def answer_version(answer) -> int:
    """The version a page shows for a question: 0 while it has no answer row."""
    return answer.version if answer is not None else 0


def _changed_meanwhile(submission: Submission, question: QuestionInfo) -> StaleError:
    """Somebody changed this answer since the page was loaded: say who, when and to what, and give the
    page the answer's current version, so that choosing again overwrites it on purpose."""
    from agencyapp.formatting import datetime_ja

    row = db.session.execute(
        select(Answer.value, Answer.note, Answer.version, Answer.updated_at, User.display_name)
        .join(User, User.id == Answer.updated_by_id)
        .where(Answer.submission_id == submission.id, Answer.question_id == question.id)
    ).one_or_none()
    if row is None:  # changed and then removed: nothing to show
        return StaleError(STALE)
    value = f"{row.value} {question.label(row.value)}" if row.value is not None else "未回答"
    message = (
        f"設問{question.number}は、この画面を開いた後に{row.display_name}さんが{datetime_ja(row.updated_at)}に"
        f"「{value}」に変更しています（備考：{row.note or 'なし'}）。あなたの入力は画面に残っています。"
        "どちらにするか確かめて、もう一度選ぶか入力すると、あなたの内容で保存します。"
    )
    return StaleError(message, number=question.number, version=row.version, value=row.value, by=row.display_name)


def parse_value(raw: str | None, question: QuestionInfo) -> int | None:
    """An answer value from form text; None for no answer. Raises DomainError."""
    if raw is None or raw == "":
        return None
    value = ident_or_none(raw)
    if value is None or value not in question.allowed_values:
        allowed = "・".join(str(v) for v in sorted(question.allowed_values))
        raise DomainError(f"設問{question.number}の回答は {allowed} のいずれかを選んでください。")
    return value


def _clean_note(raw, number):
    note = (raw or "").replace("\r\n", "\n").strip()
    if len(note) > NOTE_MAX:
        raise DomainError(f"設問{number}の備考は{NOTE_MAX}文字以内で入力してください（現在{len(note)}文字）。")
    return note


@dataclass
class SaveResult:
    changed: bool
    switched: list  # question numbers whose applicability changed
    state: SelfCheckState


# The autosave's writes: plain statements on the table, built once (the values come with each execution).
_UPDATE_ANSWER = (
    update(Answer.__table__)
    .where(Answer.__table__.c.id == bindparam("answer_id"), Answer.__table__.c.version == bindparam("expected"))
    .values(version=Answer.__table__.c.version + 1)
)


@cache
def _insert_answer(dialect: str):
    """INSERT of a first answer that does nothing when another request inserted it first (no error)."""
    module = {"postgresql": postgresql, "sqlite": sqlite}[dialect]
    table = Answer.__table__
    return (
        module.insert(table)
        .on_conflict_do_nothing(index_elements=["submission_id", "question_id"])
        .returning(table.c.id)
    )


def _write_answer(submission, question, answer, value, note, user, now) -> AnswerRow:
    """Write one answer only if it is still the version read (one statement); else the 409 that says
    who changed it. Returns the row as written."""
    fields = {"value": value, "note": note, "carried": False, "updated_by_id": user.id, "updated_at": now}
    if answer is None or answer.id is None:
        done = db.session.execute(
            _insert_answer(db.session.get_bind().dialect.name),
            {"submission_id": submission.id, "question_id": question.id, "version": 1, **fields},
        )
        answer_id = done.scalar_one_or_none()  # RETURNING id: none when another request inserted it first
        if answer_id is None:
            raise _changed_meanwhile(submission, question)
        return AnswerRow(answer_id, value, note, 1)
    done = db.session.execute(_UPDATE_ANSWER, {"answer_id": answer.id, "expected": answer.version, **fields})
    if done.rowcount != 1:
        raise _changed_meanwhile(submission, question)
    return AnswerRow(answer.id, value, note, answer.version + 1)


def save_answer(
    user: User,
    submission: Submission,
    number: int,
    raw_value: str | None,
    raw_note: str | None,
    lock_version: int | None,
    version: int | None = None,
) -> SaveResult:
    """Save one answer (autosave). Refuses unknown questions, values outside the scale, answers to
    switched-off questions and submitted self-checks; and, when this answer changed since the page was
    loaded (``version``, the answer's version the page knew), says who changed it to what (409). A page
    that sends no version is checked against the whole self-check's lock instead."""
    _check_editable(user, submission, "save", lock_version, per_answer=version is not None)
    state = load_state(submission, plain=True)
    question = state.structure.by_number.get(number)
    if question is None:
        raise DomainError(f"設問番号 {number} はこのチェックリストにありません。")
    value = parse_value(raw_value, question)
    note = _clean_note(raw_note, number)
    if not state.applies[number] and value is not None:
        raise DomainError(
            f"設問{number}は{state.off_reason(question)}に回答する設問のため、現在は該当なしです。回答は保存されませんでした。"
        )
    answer = state.answers.get(number)
    if version is not None and version != answer_version(answer):
        raise _changed_meanwhile(submission, question)
    before = {"value": answer.value, "note": answer.note} if answer else None
    if before == {"value": value, "note": note} or (before is None and value is None and not note):
        return SaveResult(False, [], state)
    now = datetime.now(UTC)
    if submission.status in _WAITING:
        from agencyapp.services.approvals import superseded_by_change

        superseded_by_change(submission, user)
    state.answers[number] = _write_answer(submission, question, answer, value, note, user, now)
    workflow.apply(
        submission,
        "save",
        user,
        summary=f"設問{number}の回答を保存しました",
        before=before,
        after={"question": number, "value": value, "note": note},
    )
    if version is None:  # a page without answer versions: two saves from one page version, the later refused
        workflow.advance_lock(submission, STALE, updated_at=now)
    else:  # the answer's own version guarded the write; the self-check's moves on for submit's check
        workflow.bump_lock(submission, updated_at=now)
    if number not in state.structure.controllers():  # no other question depends on this one
        state.values[number] = value
        return SaveResult(True, [], state)
    before_shown = _shown(state)
    state.values[number] = value
    state.applies = applicability(state.structure.questions, state.values)
    after_shown = _shown(state)
    switched = [n for n in after_shown if after_shown[n] != before_shown[n]]
    return SaveResult(True, switched, state)


def _shown(state: SelfCheckState) -> dict[int, tuple]:
    """How each question shows: applies, or what it still waits for (a change is re-drawn on the page)."""
    return {
        q.number: (True,) if state.applies[q.number] else (False, *state.waiting_on(q))
        for q in state.structure.questions
    }


def save_all(
    user: User, submission: Submission, form: Mapping[str, str], lock_version: int | None
) -> tuple[int, SelfCheckState]:
    """Save the whole page at once (the form without JavaScript).

    ``form`` maps field names ``answer-N`` / ``note-N`` to text and ``version-N`` to the version of the
    answer the page showed. Everything is validated first; one bad value refuses the whole request, and
    so does an answer changed by someone else since the page was loaded (StaleError with ``conflicts``:
    nothing is saved, the page shows both). Values of questions that do not apply under the submitted
    answers are left as stored.
    """
    versions = {
        number: ident_or_none(raw)
        for key, raw in form.items()
        if key.startswith("version-") and (number := ident_or_none(key[len("version-") :])) is not None
    }
    _check_editable(user, submission, "save_all", lock_version, per_answer=bool(versions))
    state = load_state(submission, plain=True)
    submitted = {}
    problems = []
    for key in form:
        prefix, _, tail = key.partition("-")
        if prefix not in ("answer", "note"):
            continue
        number = ident_or_none(tail)
        question = state.structure.by_number.get(number) if number is not None else None
        if question is None:
            problems.append(f"設問番号 {tail[:10]} はこのチェックリストにありません。")
            continue
        entry = submitted.setdefault(number, {})
        try:
            if prefix == "answer":
                entry["value"] = parse_value(form.get(key), question)
            else:
                entry["note"] = _clean_note(form.get(key), number)
        except DomainError as exc:
            problems.append(exc.message)
    if problems:
        raise DomainError(" ".join(problems), problems=problems)
    values = dict(state.values)
    for number, entry in submitted.items():
        if "value" in entry:
            values[number] = entry["value"]
    applies = applicability(state.structure.questions, values)
    writes = []
    for number, entry in submitted.items():
        answer = state.answers.get(number)
        value = entry.get("value", answer.value if answer else None)
        if not applies[number]:
            value = answer.value if answer else None
        note = entry.get("note", answer.note if answer else "")
        if (answer is None and value is None and not note) or (
            answer is not None and answer.value == value and answer.note == note
        ):
            continue
        writes.append((number, value, note))
    conflicts = [
        number
        for number, _, _ in writes
        if number in versions and versions[number] != answer_version(state.answers.get(number))
    ]
    if conflicts:
        raise StaleError(
            f"設問{'、'.join(map(str, conflicts))}は、この画面を開いた後にほかの画面（または別の担当者）で"
            "変更されたため、保存できませんでした（ほかの設問も保存していません）。"
            "下で両方を確かめてから、もう一度保存してください。",
            conflicts=conflicts,
        )
    now = datetime.now(UTC)
    if writes and submission.status in _WAITING:
        from agencyapp.services.approvals import superseded_by_change

        superseded_by_change(submission, user)
    for number, value, note in writes:
        question = state.structure.by_number[number]
        state.answers[number] = _write_answer(submission, question, state.answers.get(number), value, note, user, now)
        state.values[number] = value
    changes = len(writes)
    if changes:
        workflow.apply(
            submission,
            "save_all",
            user,
            summary=f"{changes}件の回答を一括保存しました",
            after={"changed": changes},
        )
        if versions:
            workflow.bump_lock(submission, updated_at=now)
        else:  # a page without answer versions
            workflow.advance_lock(submission, STALE, updated_at=now)
    state.applies = applicability(state.structure.questions, state.values)
    return changes, state


def canonical_json(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _numbers(numbers: Sequence[int]) -> str:
    return "、".join(map(str, numbers[:10])) + (" ほか" if len(numbers) > 10 else "")


def submit(user: User, submission: Submission, lock_version: int | None) -> SubmissionSnapshot:
    """Validate completeness, freeze a snapshot with its hash and mark submitted."""
    from agencyapp.services.approvals import check_submittable

    _check_editable(user, submission, "submit", lock_version)
    state = load_state(submission)
    check_complete(submission, state)
    check_submittable(submission)
    snapshot = freeze(submission, user, state)
    workflow.apply(
        submission,
        "submit",
        user,
        summary=f"自己点検を提出しました（第{snapshot.sequence}版）",
        after={"sha256": snapshot.sha256, "sequence": snapshot.sequence},
    )
    return snapshot


def check_complete(submission: Submission, state: SelfCheckState) -> None:
    """Refuse (DomainError naming the questions) unless every applicable question is answered and last
    year's answers are confirmed."""
    missing = state.missing()
    if missing:
        numbers = [q.number for q in missing]
        carried = [n for n in numbers if n in state.carried]
        raise DomainError(
            f"未回答の設問が{len(missing)}問あります（設問{_numbers(numbers)}）"
            + (f"。うち{len(carried)}問は前年度の回答で、まだ確認していません" if carried else "")
            + "。すべての該当する設問に回答（前年度の回答は確認）してから提出してください。",
            missing=numbers,
        )


def unexplained_rises(submission: Submission, state: SelfCheckState) -> list[int]:
    """Questions answered 3 this year that were answered 1 last year and have no note: the page asks for
    one beside the question and before submission (it does not refuse: the improvement may be real)."""
    from agencyapp.services.carryover import last_year, rises_without_note

    notes = {number: answer.note for number, answer in state.answers.items()}
    return rises_without_note(last_year(submission), state.values, notes, state.applies)


@dataclass(frozen=True)
class SnapshotDocument:
    """A snapshot's frozen content: the document, its canonical JSON text and that text's SHA-256."""

    content: dict
    text: str
    sha256: str


def snapshot_document(
    *,
    submission_id: int,
    cycle_id: int,
    fiscal_year: int,
    cycle_title: str,
    unit_code: str,
    unit_name: str,
    checklist_code: str,
    checklist_sha256: str,
    submitted_at: datetime,
    submitted_by: str,
    question_numbers: Sequence[int],
    values: Mapping[int, int | None],
    notes: Mapping[int, str],
    applies: Mapping[int, bool],
) -> SnapshotDocument:
    """The document a submit freezes, from plain data (pure: ``freeze`` and bulk seeding share it).

    ``question_numbers`` in document order; ``values``/``notes`` hold the stored answers (a question
    without an answer has value None and an empty note); ``applies`` is ``applicability``'s result.
    """
    content = {
        "submission_id": submission_id,
        "cycle": {"id": cycle_id, "fiscal_year": fiscal_year, "title": cycle_title},
        "unit": {"code": unit_code, "name": unit_name},
        "checklist": {"code": checklist_code, "sha256": checklist_sha256},
        "submitted_at": submitted_at.isoformat(),
        "submitted_by": submitted_by,
        "answers": [
            {"question": n, "value": values.get(n), "note": notes.get(n, ""), "applies": applies[n]}
            for n in question_numbers
        ],
    }
    text = canonical_json(content)
    return SnapshotDocument(content, text, hashlib.sha256(text.encode("utf-8")).hexdigest())


def freeze(submission: Submission, user: User, state: SelfCheckState) -> SubmissionSnapshot:
    """Write the snapshot (canonical JSON, SHA-256, scores) and copy its figures to the submission.

    The caller applies the "submit" transition. Returns the snapshot.
    """
    now = datetime.now(UTC)
    scores = state.scores()
    cycle = submission.cycle
    document = snapshot_document(
        submission_id=submission.id,
        cycle_id=cycle.id,
        fiscal_year=cycle.fiscal_year,
        cycle_title=cycle.title,
        unit_code=submission.unit.code,
        unit_name=submission.unit.name,
        checklist_code=cycle.version.code,
        checklist_sha256=cycle.version.source_sha256,
        submitted_at=now,
        submitted_by=user.login_id,
        question_numbers=[q.number for q in state.structure.questions],
        values=state.values,
        notes={number: answer.note for number, answer in state.answers.items()},
        applies=state.applies,
    )
    sequence = (
        db.session.scalar(
            select(func.max(SubmissionSnapshot.sequence)).where(SubmissionSnapshot.submission_id == submission.id)
        )
        or 0
    ) + 1
    snapshot = SubmissionSnapshot(
        submission_id=submission.id,
        sequence=sequence,
        content=document.text,
        sha256=document.sha256,
        scores=scores.as_dict(),
        created_by_id=user.id,
        created_at=now,
    )
    db.session.add(snapshot)
    db.session.execute(delete(SubmissionFigure).where(SubmissionFigure.submission_id == submission.id))
    figures = [{"submission_id": submission.id, **row} for row in scoring.figures(scores)]
    if figures:
        db.session.execute(insert(SubmissionFigure), figures)
    submission.submitted_at = now
    submission.submitted_by_id = user.id
    submission.updated_at = now
    submission.score_mean = scores.overall.mean
    submission.score_full_rate = scores.overall.full_rate
    submission.important_met = scores.important_met
    submission.important_below = len(scores.important_failing)
    submission.earlier_met = scores.earlier_met
    submission.earlier_below = len(scores.earlier_failing) if scores.earlier_met is not None else None
    submission.return_reason = ""
    return snapshot


def latest_snapshot(submission: Submission) -> SubmissionSnapshot | None:
    return db.session.scalar(
        select(SubmissionSnapshot)
        .where(SubmissionSnapshot.submission_id == submission.id)
        .order_by(SubmissionSnapshot.sequence.desc())
        .limit(1)
    )


def cycle_submissions(
    user: User, cycle: Cycle, *, search: str = "", status: str = "", page: int = 1, per_page: int = 25
) -> tuple[Sequence[Submission], dict[str, int], int]:
    """A page of the cycle's submissions the user may see, with progress; bounded statements."""
    from agencyapp.models import Unit

    stmt = policy.scope_submissions(user, select(Submission).where(Submission.cycle_id == cycle.id))
    stmt = stmt.join(Unit, Unit.id == Submission.unit_id)
    if search:
        stmt = stmt.where(matches(search, Unit.name))
    counts_stmt = stmt.with_only_columns(Submission.status, func.count()).group_by(Submission.status)
    counts = dict(db.session.execute(counts_stmt).all())
    if status:
        stmt = stmt.where(Submission.status == status)
    total = sum(counts.values()) if not status else counts.get(status, 0)
    page = max(1, page)
    rows = db.session.scalars(
        stmt.options(joinedload(Submission.unit).joinedload(Unit.ministry))
        .order_by(Unit.ministry_id, Unit.position, Unit.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return rows, counts, total
