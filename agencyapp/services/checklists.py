"""Importing a validated checklist file, and reading a version's structure back."""

from dataclasses import dataclass, field, replace

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from agencyapp.checklists.loader import ChecklistSpec
from agencyapp.extensions import db
from agencyapp.lifecycles import VersionState
from agencyapp.models import (
    ChecklistGoal,
    ChecklistItem,
    ChecklistMapping,
    ChecklistQuestion,
    ChecklistSection,
    ChecklistVersion,
    User,
)
from agencyapp.models.base import utcnow
from agencyapp.services import DomainError
from agencyapp.services.audit import record


def import_checklist(spec: ChecklistSpec, actor: User | None = None) -> tuple[ChecklistVersion, bool]:
    """Store a ChecklistSpec as a new published version; idempotent for the same file.

    Returns (version, created). A different file under an existing code is refused:
    versions are immutable once cycles refer to them.
    """
    existing = db.session.scalar(select(ChecklistVersion).where(ChecklistVersion.code == spec.code))
    if existing is not None:
        if existing.source_sha256 == spec.source_sha256:
            return existing, False
        if _identity_of_spec(spec) == _identity_of_version(existing):
            _refresh_answer_labels(existing, spec, actor)
            return existing, False
        raise DomainError(
            f"コード {spec.code} のチェックリストは既に別の内容で登録されています。"
            "改訂する場合は新しいコードで登録してください。"
        )
    version = ChecklistVersion(
        code=spec.code,
        edition=spec.edition,
        fiscal_year=spec.fiscal_year,
        title=spec.title,
        status=VersionState.DRAFT.value,  # its rows are written first: a published version takes none
        scale=spec.scale,
        source_sha256=spec.source_sha256,
    )
    db.session.add(version)
    db.session.flush()
    counters = write_rows(version, spec)
    db.session.flush()
    version.status = VersionState.PUBLISHED.value
    version.published_at = utcnow()
    record(
        "checklist.imported",
        actor=actor,
        obj=version,
        actor_login=None if actor else "cli",
        summary=f"チェックリスト {spec.title}（{spec.code}）を登録しました",
        after={"code": spec.code, "sha256": spec.source_sha256, "questions": counters["question"]},
    )
    return version, True


def write_rows(version: ChecklistVersion, spec: ChecklistSpec) -> dict:
    """The rows of a validated spec under ``version`` (which has none yet); returns the counts."""
    counters = {"section": 0, "goal": 0, "item": 0, "question": 0}

    def next_position(kind):
        counters[kind] += 1
        return counters[kind]

    def add_question(qspec, goal_row, item_row):
        db.session.add(
            ChecklistQuestion(
                version_id=version.id,
                key=qspec.key,
                number=qspec.number,
                goal_id=goal_row.id,
                item_id=item_row.id if item_row else None,
                text=qspec.text,
                allow_zero=qspec.allow_zero,
                conditions=qspec.conditions,
                answer_labels=_labels_json(qspec.answer_labels),
                position=next_position("question"),
            )
        )

    def add_section(node, parent_id):
        row = ChecklistSection(
            version_id=version.id,
            parent_id=parent_id,
            level=node.level,
            code=node.code,
            title=node.title,
            position=next_position("section"),
        )
        db.session.add(row)
        db.session.flush()
        for goal in node.goals:
            goal_row = ChecklistGoal(
                version_id=version.id,
                key=goal.key,
                section_id=row.id,
                number=goal.number,
                text=goal.text,
                position=next_position("goal"),
            )
            db.session.add(goal_row)
            db.session.flush()
            if goal.question:
                add_question(goal.question, goal_row, None)
            for item in goal.items:
                item_row = ChecklistItem(
                    version_id=version.id,
                    key=item.key,
                    goal_id=goal_row.id,
                    number=item.number,
                    text=item.text,
                    position=next_position("item"),
                )
                db.session.add(item_row)
                db.session.flush()
                if item.question:
                    add_question(item.question, goal_row, item_row)
        for child in node.children:
            add_section(child, row.id)

    for category in spec.categories:
        add_section(category, None)
    return counters


def _labels_json(labels: dict) -> dict | None:
    return {str(value): label for value, label in labels.items()} or None


def _identity_of_spec(spec: ChecklistSpec) -> tuple:
    """What makes a version the version it is: everything but the answer labels (presentation)."""
    return (
        spec.edition,
        spec.fiscal_year,
        spec.title,
        spec.scale,
        [(s.level, s.code, s.title) for s in spec.sections()],
        [(g.number, g.text) for g in spec.goals],
        sorted((i.number, i.text) for g in spec.goals for i in g.items),
        sorted((q.number, q.text, q.allow_zero, q.conditions, q.goal_number, q.item_number) for q in spec.questions),
    )


def _identity_of_version(version: ChecklistVersion) -> tuple:
    structure = load_structure(version)
    sections = db.session.scalars(
        select(ChecklistSection).where(ChecklistSection.version_id == version.id).order_by(ChecklistSection.position)
    ).all()
    items = db.session.scalars(select(ChecklistItem).where(ChecklistItem.version_id == version.id)).all()
    return (
        version.edition,
        version.fiscal_year,
        version.title,
        version.scale,
        [(s.level, s.code, s.title) for s in sections],
        [(number, node.goal.text) for number, node in structure.goals_by_number.items()],
        sorted((i.number, i.text) for i in items),
        sorted(
            (q.number, q.text, q.allow_zero, q.conditions, q.goal_number, q.item_number) for q in structure.questions
        ),
    )


def _refresh_answer_labels(version: ChecklistVersion, spec: ChecklistSpec, actor: User | None) -> None:
    """The same version with new names for some answers: the labels (and the file's hash) follow the file."""
    labels = {q.number: _labels_json(q.answer_labels) for q in spec.questions}
    for question in db.session.scalars(select(ChecklistQuestion).where(ChecklistQuestion.version_id == version.id)):
        question.answer_labels = labels.get(question.number)
    before = version.source_sha256
    version.source_sha256 = spec.source_sha256
    record(
        "checklist.labels_updated",
        actor=actor,
        obj=version,
        actor_login=None if actor else "cli",
        before={"sha256": before},
        after={"sha256": spec.source_sha256},
        summary=f"チェックリスト {version.code} の回答の表示名を更新しました（設問・条件は変わりません）",
    )


@dataclass
class QuestionInfo:
    """A question with what the pages and the scoring need to know about it."""

    id: int
    number: int
    text: str
    allow_zero: bool
    conditions: list
    goal_number: int
    group_code: str
    item_number: str | None
    allowed_values: list
    answer_labels: dict = field(default_factory=dict)  # {value: label}: this question's own names
    scale_labels: dict = field(default_factory=dict)  # {value: label} of the version's scale
    key: str = ""  # permanent identity across versions (the number may change)

    @property
    def choices(self) -> list[tuple[int, str]]:
        """[(value, name)] of the answers this question allows, in the scale's order (computed once)."""
        cached = self.__dict__.get("_choices")
        if cached is None:
            cached = self.__dict__["_choices"] = [(v, self.label(v)) for v in self.allowed_values]
        return cached

    @property
    def category_code(self) -> str:
        """The code of the 大分類 the question is in ("3" for 小分類 "3.8.2")."""
        return self.group_code.split(".", 1)[0]

    def label(self, value: int | None) -> str:
        """The name of an answer: the question's own where it has one, else the scale's."""
        if value is None:
            return ""
        return self.answer_labels.get(value) or self.scale_labels.get(value, "")


@dataclass
class GoalNode:
    goal: ChecklistGoal
    question: QuestionInfo | None
    items: list = field(default_factory=list)  # (ChecklistItem, QuestionInfo | None)

    @property
    def questions(self) -> list[QuestionInfo]:
        found = [self.question] if self.question else []
        return found + [q for _, q in self.items if q]


@dataclass
class SectionNode:
    section: ChecklistSection
    children: list = field(default_factory=list)
    goals: list = field(default_factory=list)

    def all_questions(self) -> list[QuestionInfo]:
        """Every question under the section, in order (computed once: the tree is shared and never changes)."""
        cached = self.__dict__.get("_all_questions")
        if cached is None:
            cached = [q for g in self.goals for q in g.questions]
            for child in self.children:
                cached.extend(child.all_questions())
            self.__dict__["_all_questions"] = cached
        return cached


@dataclass
class Structure:
    version: ChecklistVersion
    categories: list
    questions: list  # QuestionInfo in document order
    by_number: dict
    goals_by_number: dict
    # Shared by the copies made per request (dataclasses.replace copies the reference): filled once per version.
    _switches: dict = field(default_factory=dict)

    def switches(self, number: int) -> list[tuple[int, str]]:
        """What each answer of a controlling question switches off: [(value, "設問87〜108（22問）")]."""
        from agencyapp.checklists.conditions import number_ranges, switched_by

        if not self._switches:
            controllers = {c["question"] for q in self.questions for c in (q.conditions or ())}
            self._switches.update(
                {n: [(value, number_ranges(off)) for value, off in switched_by(self.questions, n)] for n in controllers}
            )
            self._switches.setdefault(None, [])  # computed, even for a version without conditions
        return self._switches.get(number, [])

    def controllers(self) -> frozenset[int]:
        """The questions whose answer switches others on or off."""
        self.switches(0)
        found = self._switches.get("controllers")
        if found is None:
            found = self._switches["controllers"] = frozenset(
                n for n, switches in self._switches.items() if isinstance(n, int) and switches
            )
        return found


# Published versions never change but for their answers' names, which change the source hash: their
# trees are kept per process, detached from any session, keyed by what would change them.
_published: dict[tuple, Structure] = {}


def clear_structure_cache() -> None:
    _published.clear()


def load_structure(version: ChecklistVersion) -> Structure:
    """The whole tree of a version: four statements the first time, none afterwards for a published one."""
    if version.status != VersionState.PUBLISHED:
        return _read_structure(version)
    key = (version.id, version.source_sha256)
    structure = _published.get(key)
    if structure is None:
        structure = _read_structure(version)
        for obj in _tree_objects(structure):
            db.session.expunge(obj)  # read-only from now on, and never expired by a later commit
        if len(_published) > 64:
            _published.clear()
        _published[key] = structure
    return replace(structure, version=version)  # the tree shared; the version row this request's own


def _tree_objects(structure: Structure):
    def walk(node):
        yield node.section
        for goal in node.goals:
            yield goal.goal
            yield from (item for item, _ in goal.items)
        for child in node.children:
            yield from walk(child)

    for category in structure.categories:
        yield from walk(category)


def _read_structure(version: ChecklistVersion) -> Structure:
    sections = db.session.scalars(
        select(ChecklistSection).where(ChecklistSection.version_id == version.id).order_by(ChecklistSection.position)
    ).all()
    goals = db.session.scalars(
        select(ChecklistGoal).where(ChecklistGoal.version_id == version.id).order_by(ChecklistGoal.position)
    ).all()
    items = db.session.scalars(
        select(ChecklistItem).where(ChecklistItem.version_id == version.id).order_by(ChecklistItem.position)
    ).all()
    questions = db.session.scalars(
        select(ChecklistQuestion).where(ChecklistQuestion.version_id == version.id).order_by(ChecklistQuestion.position)
    ).all()
    scale_values = [e["value"] for e in version.scale]
    nodes = {s.id: SectionNode(s) for s in sections}
    categories = []
    for section in sections:
        if section.parent_id is None:
            categories.append(nodes[section.id])
        else:
            nodes[section.parent_id].children.append(nodes[section.id])
    goal_nodes = {}
    goal_by_id = {}
    for goal in goals:
        node = GoalNode(goal, None)
        goal_nodes[goal.number] = node
        goal_by_id[goal.id] = node
        nodes[goal.section_id].goals.append(node)
    infos = {}
    ordered = []
    for q in questions:
        goal_node = goal_by_id[q.goal_id]
        info = QuestionInfo(
            id=q.id,
            number=q.number,
            text=q.text,
            allow_zero=q.allow_zero,
            conditions=q.conditions or [],
            goal_number=goal_node.goal.number,
            group_code=nodes[goal_node.goal.section_id].section.code,
            item_number=None,
            allowed_values=[v for v in scale_values if v != 0 or q.allow_zero],
            answer_labels={int(k): v for k, v in (q.answer_labels or {}).items()},
            scale_labels={e["value"]: e["label"] for e in version.scale},
            key=q.key,
        )
        infos[q.id] = info
        ordered.append(info)
        if q.item_id is None:
            goal_node.question = info
    item_questions = {q.item_id: infos[q.id] for q in questions if q.item_id}
    for item in items:
        info = item_questions.get(item.id)
        if info:
            info.item_number = item.number
        goal_by_id[item.goal_id].items.append((item, info))
    return Structure(version, categories, ordered, {q.number: q for q in ordered}, goal_nodes)


# --- a published version never changes ------------------------------------------------------------

IMMUTABLE = (
    "公開済みのチェックリストは変更できません（本文・番号・尺度・条件・新旧対応）。改訂は改訂案を作成して行います。"
)
# What may still change on a published version's rows: its state and publication, and the answers' names
# (presentation, refreshed from the shipped file by ``import_checklist``).
_MUTABLE = {
    ChecklistVersion: {"status", "published_at", "source_sha256", "imported_at"},
    ChecklistQuestion: {"answer_labels"},
}
_CONTENT = (ChecklistSection, ChecklistGoal, ChecklistItem, ChecklistQuestion)


def _version_state(session: Session, version_id: int | None) -> str | None:
    if version_id is None:
        return None
    version = session.get(ChecklistVersion, version_id)
    if version is None:
        return None
    committed = inspect(version).committed_state.get("status", version.status)
    return committed if isinstance(committed, str) else version.status


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_published(session, flush_context, instances):
    """Refuse, before anything is written, every change to a published or retired version's content."""
    frozen = (VersionState.PUBLISHED.value, VersionState.RETIRED.value)
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, (ChecklistVersion, *_CONTENT, ChecklistMapping)) and (
            obj in session.deleted or session.is_modified(obj, include_collections=False)
        ):
            if isinstance(obj, ChecklistVersion):
                state = inspect(obj).committed_state.get("status", obj.status)
            elif isinstance(obj, ChecklistMapping):
                state = _version_state(session, obj.new_version_id)
            else:
                state = _version_state(session, obj.version_id)
            if state not in frozen:
                continue
            if obj in session.deleted:
                raise DomainError(IMMUTABLE)
            changed = {a.key for a in inspect(obj).attrs if a.history.has_changes()}
            if changed - _MUTABLE.get(type(obj), set()):
                raise DomainError(IMMUTABLE)
    for obj in session.new:
        if isinstance(obj, _CONTENT) and _version_state(session, obj.version_id) in frozen:
            raise DomainError(IMMUTABLE)
        if isinstance(obj, ChecklistMapping) and _version_state(session, obj.new_version_id) in frozen:
            raise DomainError(IMMUTABLE)
