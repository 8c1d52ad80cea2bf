"""Revising the checklist: drafts copied from a published version, edited through the loader's validation,
the old → new mapping the draft proposes and the center decides, and publishing.

A draft is kept as its data file (YAML in the loader's format, every goal and item with its permanent
``id``); each accepted change rewrites the file, validates it completely with the loader and rebuilds the
draft's rows from it, so the workbench, the YAML round trip and the shipped files obey one set of rules.
A refused change leaves the draft exactly as it was and reports every problem the loader found.
"""

import secrets
from dataclasses import dataclass, field
from difflib import SequenceMatcher

import yaml
from sqlalchemy import delete, func, select

from agencyapp import policy
from agencyapp.actions import Action
from agencyapp.checklists.loader import ChecklistError, dump_document, parse_checklist
from agencyapp.errors import DomainError
from agencyapp.extensions import db
from agencyapp.lifecycles import VersionState
from agencyapp.models import (
    ChecklistGoal,
    ChecklistItem,
    ChecklistMapping,
    ChecklistQuestion,
    ChecklistSection,
    ChecklistVersion,
    Cycle,
    User,
)
from agencyapp.models.base import utcnow
from agencyapp.services import workflow
from agencyapp.services.audit import record
from agencyapp.services.checklists import load_structure, write_rows

# What became of an old question (the 新旧対照表's 区分).
CHANGES = {
    "same": "同一",
    "reworded": "文言修正",
    "merged": "統合",
    "split": "分割",
    "added": "新設",
    "withdrawn": "廃止",
}
# What an answer to the old question says about the new one.
SENSES = {
    "equal": "同等",
    "subset": "旧設問は新設問の一部",
    "superset": "旧設問は新設問を含む",
    "intersect": "一部が重なる",
    "none": "関係なし",
}
# What last year's answer does this year.
CARRIES = {"copy": "回答を引き継ぐ", "reference": "参考として表示のみ", "empty": "空欄から始める"}
DEFAULT_CARRY = {"equal": "copy", "superset": "copy", "subset": "reference", "intersect": "reference", "none": "empty"}
SIMILAR = 0.6  # a reworded question's text is at least this similar to the old one (proposals only)
MAX_SOURCE = 2_000_000  # characters of an uploaded draft file


class DraftError(DomainError):
    """A change the loader refused; ``problems`` lists every reason, in Japanese."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("改訂案の変更を保存できませんでした。" + " ".join(self.problems[:3]))


def similarity(old: str, new: str) -> float:
    """How alike two texts are, 0–1 (characters: Japanese has no spaces between words)."""
    return round(SequenceMatcher(None, old, new, autojunk=False).ratio(), 2)


# --- the document ---------------------------------------------------------------------------


def document_of(version: ChecklistVersion) -> dict:
    """The version as a data file: a draft's own, or written from a published version's rows."""
    if version.source:
        return yaml.safe_load(version.source)
    structure = load_structure(version)
    by_id = {q.id: q for q in structure.questions}

    def question_fields(node: dict, info, inherited: list) -> None:
        if info is None:
            return
        node["question"] = info.number
        if info.allow_zero:
            node["allow_zero"] = True
        if info.answer_labels:
            node["answer_labels"] = dict(info.answer_labels)
        own = [c for c in info.conditions if c not in inherited]
        if own:
            node["applies_if"] = own

    def section(node) -> dict:
        level = node.section.level
        out = {"code": node.section.code, "title": node.section.title}
        if level < 3:
            out["subcategories" if level == 1 else "groups"] = [section(c) for c in node.children]
            return out
        goals = []
        for goal_node in node.goals:
            goal = {"id": goal_node.goal.key, "number": goal_node.goal.number, "text": goal_node.goal.text}
            question_fields(goal, goal_node.question, [])
            inherited = goal_node.question.conditions if goal_node.question else []
            items = []
            for item, info in goal_node.items:
                entry = {"id": item.key, "number": item.number, "text": item.text}
                question_fields(entry, info and by_id[info.id], inherited)
                items.append(entry)
            if items:
                goal["items"] = items
            goals.append(goal)
        out["goals"] = goals
        return out

    return {
        "code": version.code,
        "edition": version.edition,
        "fiscal_year": version.fiscal_year,
        "title": version.title,
        "scale": [dict(e) for e in version.scale],
        "categories": [section(c) for c in structure.categories],
    }


def source_of(version: ChecklistVersion) -> str:
    """The YAML text of a version (what the draft's download holds)."""
    return version.source or dump_document(document_of(version))


def _walk(doc: dict):
    """(node, parent list, kind) of every section, goal and item of a document, in order."""
    for cat in doc.get("categories") or []:
        yield cat, doc["categories"], "section"
        for sub in cat.get("subcategories") or []:
            yield sub, cat["subcategories"], "section"
            for group in sub.get("groups") or []:
                yield group, sub["groups"], "section"
                for goal in group.get("goals") or []:
                    yield goal, group["goals"], "goal"
                    for item in goal.get("items") or []:
                        yield item, goal["items"], "item"


def _find(doc: dict, key: str) -> tuple[dict, list, str]:
    for node, siblings, kind in _walk(doc):
        if (kind == "section" and f"s:{node.get('code')}" == key) or (kind != "section" and node.get("id") == key):
            return node, siblings, kind
    raise DomainError("指定された項目は改訂案にありません。ページを再読み込みしてください。")


def _parent_goal(doc: dict, item: dict) -> dict:
    for node, _, kind in _walk(doc):
        if kind == "goal" and any(i is item for i in node.get("items") or []):
            return node
    raise DomainError("小項目の管理目標が見つかりません。")


def _new_key() -> str:
    return "n" + secrets.token_hex(4)


def _numbers(doc: dict) -> tuple[list[int], list[int]]:
    goals = [n["number"] for n, _, k in _walk(doc) if k == "goal" and isinstance(n.get("number"), int)]
    questions = [n["question"] for n, _, k in _walk(doc) if k != "section" and isinstance(n.get("question"), int)]
    return goals, questions


def _next_question(doc: dict) -> int:
    _, questions = _numbers(doc)
    return max(questions, default=0) + 1


def _next_item_number(goal: dict) -> str:
    used = [
        int(str(i.get("number", "0-0")).rsplit("-", 1)[-1])
        for i in goal.get("items") or []
        if "-" in str(i.get("number", ""))
    ]
    return f"{goal['number']}-{max(used, default=0) + 1}"


def renumber(doc: dict, start: int = 1) -> None:
    """Number goals from 1, items as 「管理目標-n」 and questions from ``start``, in the document's order;
    every condition follows its question's new number. Ids do not change."""
    goal_no, question_no = 0, start - 1
    new_numbers = {}
    for node, _, kind in _walk(doc):
        if kind == "goal":
            goal_no += 1
            node["number"] = goal_no
            for index, item in enumerate(node.get("items") or [], start=1):
                item["number"] = f"{goal_no}-{index}"
        if kind != "section" and isinstance(node.get("question"), int):
            question_no += 1
            new_numbers[node["question"]] = question_no
            node["question"] = question_no
    for node, _, _ in _walk(doc):
        clauses = node.get("applies_if")
        for clause in clauses if isinstance(clauses, list) else [clauses] if clauses else []:
            if isinstance(clause, dict) and clause.get("question") in new_numbers:
                clause["question"] = new_numbers[clause["question"]]


@dataclass
class Edit:
    """One change to a draft, as the workbench's forms send it."""

    op: str
    key: str = ""
    text: str = ""
    number: int | None = None
    flag: bool = False
    other: str = ""
    direction: str = ""
    labels: dict = field(default_factory=dict)


def _apply_edit(doc: dict, edit: Edit) -> str:
    """Change ``doc`` in place; returns the summary for the operation history."""
    op = edit.op
    if op == "renumber":
        if not edit.number or not 1 <= edit.number <= 9999:
            raise DomainError("最初の設問番号を 1〜9999 で入力してください。", field="number")
        renumber(doc, edit.number)
        return f"番号を振り直しました（設問は {edit.number} から）"
    node, siblings, kind = _find(doc, edit.key)
    name = {"section": "分類", "goal": "管理目標", "item": "小項目"}[kind]
    label = f"{name} {node.get('code') or node.get('number')}"
    if op == "text":
        node["title" if kind == "section" else "text"] = edit.text
        return f"{label} の本文を修正しました"
    if kind == "section" and op not in ("add_goal",):
        raise DomainError("分類に対してはこの操作はできません。")
    if op == "add_goal":
        if kind != "section" or "goals" not in node:
            raise DomainError("管理目標は小分類に追加します。")
        goals, _ = _numbers(doc)
        node["goals"].append(
            {"id": _new_key(), "number": max(goals, default=0) + 1, "text": edit.text, "question": _next_question(doc)}
        )
        return f"{label} に管理目標を追加しました"
    if op == "add_item":
        if kind != "goal":
            raise DomainError("小項目は管理目標に追加します。")
        entry = {"id": _new_key(), "number": _next_item_number(node), "text": edit.text}
        if edit.flag:
            entry["question"] = _next_question(doc)
        node.setdefault("items", []).append(entry)
        return f"{label} に小項目を追加しました"
    if op == "allow_zero":
        if "question" not in node:
            raise DomainError("設問のない行には該当なしを設定できません。")
        if edit.flag:
            node["allow_zero"] = True
        else:
            node.pop("allow_zero", None)
        return f"{label} の該当なしを{'認める' if edit.flag else '認めない'}ようにしました"
    if op == "question_number":
        if "question" not in node:
            raise DomainError("設問のない行です。")
        node["question"] = edit.number
        return f"{label} の設問番号を {edit.number} にしました"
    if op == "goal_number":
        if kind != "goal":
            raise DomainError("管理目標番号は管理目標に設定します。")
        node["number"] = edit.number
        for index, item in enumerate(node.get("items") or [], start=1):
            item["number"] = f"{edit.number}-{index}"
        return f"{label} の番号を {edit.number} にしました"
    if op == "labels":
        if edit.labels:
            node["answer_labels"] = edit.labels
        else:
            node.pop("answer_labels", None)
        return f"{label} の回答の表示名を変更しました"
    if op == "remove":
        siblings.remove(node)
        if kind == "item" and not siblings:
            _drop_empty_item_lists(doc)
        return f"{label} を削除しました"
    if op == "move":
        index = next(i for i, n in enumerate(siblings) if n is node)
        target = index - 1 if edit.direction == "up" else index + 1
        if not 0 <= target < len(siblings):
            raise DomainError("これ以上移動できません。")
        siblings[index], siblings[target] = siblings[target], siblings[index]
        return f"{label} を{'上' if edit.direction == 'up' else '下'}に移動しました"
    if op == "split":
        if "question" not in node:
            raise DomainError("設問のない行は分割できません。")
        clone = {k: v for k, v in node.items() if k not in ("items", "id", "derived_from", "number", "question")}
        clone["id"] = _new_key()
        clone["derived_from"] = list(node.get("derived_from") or [node["id"]])
        clone["text"] = edit.text or node["text"]
        clone["question"] = _next_question(doc)
        if kind == "goal":
            goals, _ = _numbers(doc)
            clone["number"] = max(goals, default=0) + 1
        else:
            clone["number"] = _next_item_number(_parent_goal(doc, node))
        node.setdefault("derived_from", [node["id"]])
        siblings.insert(siblings.index(node) + 1, clone)
        return f"{label} を分割しました（新しい行を後に追加）"
    if op == "merge":
        other, other_siblings, other_kind = _find(doc, edit.other)
        if other is node or other_kind == "section":
            raise DomainError("統合する相手を選んでください。")
        if "question" not in node or "question" not in other:
            raise DomainError("統合できるのは設問のある行どうしです。")
        sources = list(node.get("derived_from") or [node["id"]])
        for key in other.get("derived_from") or [other["id"]]:
            if key not in sources:
                sources.append(key)
        node["derived_from"] = sources
        if kind == "goal" and other.get("items"):  # a merged goal's items move with it
            node.setdefault("items", []).extend(other["items"])
        other_siblings.remove(other)
        other_name = "管理目標" if other_kind == "goal" else "小項目"
        return f"{label} に {other_name} {other.get('number')} を統合しました"
    raise DomainError("この操作はできません。")


def _drop_empty_item_lists(doc: dict) -> None:
    """A goal whose last item was removed loses its empty ``items``, as the shipped files are written."""
    for node, _, kind in _walk(doc):
        if kind == "goal" and node.get("items") == []:
            node.pop("items")


# --- drafts -----------------------------------------------------------------------------------


def start_draft(
    source: ChecklistVersion, user: User, *, code: str, fiscal_year: int, title: str = ""
) -> ChecklistVersion:
    """A new draft: a copy of ``source`` (published) under a new code, for ``fiscal_year``."""
    policy.require(user, Action.CHECKLIST_MANAGE)
    if source.status != VersionState.PUBLISHED:
        raise DomainError("改訂案は公開中のチェックリストから作成します。")
    code = (code or "").strip()
    if db.session.scalar(select(ChecklistVersion.id).where(ChecklistVersion.code == code)):
        raise DomainError(f"コード {code} のチェックリストは既にあります。別のコードにしてください。", field="code")
    doc = document_of(source)
    doc["code"] = code
    doc["fiscal_year"] = fiscal_year
    if title.strip():
        doc["title"] = title.strip()
    spec = _validate(doc)
    version = ChecklistVersion(
        code=spec.code,
        edition=spec.edition,
        fiscal_year=spec.fiscal_year,
        title=spec.title,
        status=VersionState.DRAFT.value,
        scale=spec.scale,
        source_sha256=spec.source_sha256,
        source=dump_document(doc),
        based_on_id=source.id,
    )
    db.session.add(version)
    db.session.flush()
    write_rows(version, spec)
    db.session.flush()
    propose_mapping(version)
    record(
        "checklist.draft_started",
        actor=user,
        obj=version,
        summary=f"{source.code} を写して改訂案 {version.code}（{fiscal_year}年度）を作成しました",
        after={"code": version.code, "based_on": source.code},
    )
    return version


def _delete_rows(draft: ChecklistVersion) -> None:
    """Remove a draft's sections, goals, items and questions (its file and mapping stay)."""
    for model in (ChecklistQuestion, ChecklistItem, ChecklistGoal):
        db.session.execute(delete(model).where(model.version_id == draft.id))
    sections = db.session.scalars(
        select(ChecklistSection.id)
        .where(ChecklistSection.version_id == draft.id)
        .order_by(ChecklistSection.level.desc())
    ).all()
    for section_id in sections:  # children first: a section refers to its parent
        db.session.execute(delete(ChecklistSection).where(ChecklistSection.id == section_id))
    db.session.expire(draft, ["sections"])


def _validate(doc: dict):
    try:
        return parse_checklist(dump_document(doc), "改訂案")
    except ChecklistError as exc:
        raise DraftError([p.removeprefix("改訂案: ") for p in exc.problems]) from exc


def _replace_rows(draft: ChecklistVersion, doc: dict):
    """Validate ``doc`` and make it the draft's file and rows; raises DraftError with nothing changed."""
    if doc.get("code") != draft.code:
        raise DraftError([f"code は改訂案のコード {draft.code} のままにしてください（{doc.get('code')!r}）"])
    spec = _validate(doc)
    _delete_rows(draft)
    draft.title, draft.fiscal_year, draft.scale = spec.title, spec.fiscal_year, spec.scale
    draft.source_sha256 = spec.source_sha256
    draft.source = dump_document(doc)
    write_rows(draft, spec)
    db.session.flush()
    propose_mapping(draft)
    return spec


def edit_draft(draft: ChecklistVersion, user: User, edit: Edit) -> str:
    """Apply one workbench change; returns its summary. Refused (DraftError) with nothing changed when the
    loader finds any problem in the result."""
    workflow.check(draft, "edit", user)
    doc = document_of(draft)
    if edit.op == "renumber" and edit.number is None:  # from the previous version's first question
        first = load_structure(draft.based_on).questions
        edit.number = first[0].number if first else 1
    summary = _apply_edit(doc, edit)
    _replace_rows(draft, doc)
    workflow.apply(
        draft, "edit", user, summary=f"改訂案 {draft.code}: {summary}", after={"op": edit.op, "key": edit.key}
    )
    return summary


def import_draft_source(draft: ChecklistVersion, user: User, text: str) -> None:
    """Replace the draft by an edited copy of its YAML (prepared outside the app)."""
    workflow.check(draft, "edit", user)
    if len(text) > MAX_SOURCE:
        raise DraftError(["ファイルが大きすぎます（2,000,000文字まで）"])
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DraftError([f"YAML として読めません: {exc}"]) from exc
    if not isinstance(doc, dict):
        raise DraftError(["最上位は code, edition, title などを持つマッピングである必要があります"])
    _replace_rows(draft, doc)
    workflow.apply(draft, "edit", user, summary=f"改訂案 {draft.code} を YAML ファイルから更新しました")


def discard_draft(draft: ChecklistVersion, user: User) -> None:
    workflow.apply(draft, "discard", user, summary=f"改訂案 {draft.code} を削除しました")
    db.session.execute(delete(ChecklistMapping).where(ChecklistMapping.new_version_id == draft.id))
    _delete_rows(draft)
    db.session.delete(draft)


# --- the mapping ------------------------------------------------------------------------------


@dataclass
class MappingLine:
    """One old question (or, for 新設, one new question) with its rows."""

    old: object | None  # QuestionInfo of the old version
    rows: list
    new: list  # QuestionInfo of the new version, in the rows' order

    @property
    def change(self) -> str:
        return self.rows[0].change if self.rows else ""

    @property
    def decided(self) -> bool:
        return bool(self.change)


def _derived(structure_spec_doc: dict) -> dict[str, list[str]]:
    return {
        n["id"]: list(n.get("derived_from") or [])
        for n, _, k in _walk(structure_spec_doc)
        if k != "section" and "question" in n and n.get("id")
    }


def propose_mapping(draft: ChecklistVersion) -> None:
    """Rewrite the draft's proposed rows from its present content; rows a person set are kept while the
    questions they name still exist."""
    old = load_structure(draft.based_on)
    new = load_structure(draft).questions
    old_by_key = {q.key: q for q in old.questions}
    new_by_key = {q.key: q for q in new}
    rows = db.session.scalars(select(ChecklistMapping).where(ChecklistMapping.new_version_id == draft.id)).all()
    kept = {}
    for row in rows:
        valid = (row.old_key is None or row.old_key in old_by_key) and (
            row.new_key is None or row.new_key in new_by_key
        )
        if not row.proposed and valid and row.old_key is not None:
            kept.setdefault(row.old_key, []).append(row)
        else:
            db.session.delete(row)
    derived = _derived(yaml.safe_load(draft.source))
    sources = {}  # new key -> the old keys it comes from
    for new_key in new_by_key:
        keys = [k for k in ([new_key] + derived.get(new_key, [])) if k in old_by_key]
        sources[new_key] = list(dict.fromkeys(keys))
    covered = {row.new_key for rows_ in kept.values() for row in rows_ if row.new_key}
    targeted = {k for keys in sources.values() for k in keys}
    free_new = [q for q in new if not sources[q.key]]

    def add(old_key, new_key, change, sense, reason, score):
        db.session.add(
            ChecklistMapping(
                old_version_id=old.version.id,
                new_version_id=draft.id,
                old_key=old_key,
                new_key=new_key,
                change=change,
                sense=sense,
                carry=DEFAULT_CARRY.get(sense, "empty"),
                reason=reason,
                similarity=score,
                proposed=True,
            )
        )
        if new_key:
            covered.add(new_key)

    for old_q in old.questions:
        if old_q.key in kept:
            continue
        targets = [k for k, keys in sources.items() if old_q.key in keys]
        if len(targets) > 1:
            for key in targets:
                score = similarity(old_q.text, new_by_key[key].text)
                add(old_q.key, key, "split", "superset", "改訂案で分割（自動提案）", score)
        elif targets:
            target = new_by_key[targets[0]]
            score = similarity(old_q.text, target.text)
            if len(sources[target.key]) > 1:
                add(old_q.key, target.key, "merged", "subset", "改訂案で統合（自動提案）", score)
            elif old_q.text == target.text:
                add(old_q.key, target.key, "same", "equal", "本文が同一（自動提案）", 1.0)
            else:
                add(old_q.key, target.key, "reworded", "equal", f"文言修正（類似度 {score:.2f}・自動提案）", score)
        elif old_q.key not in targeted:
            best, score = None, 0.0
            for candidate in free_new:
                if candidate.key in covered:
                    continue
                s = similarity(old_q.text, candidate.text)
                if s > score:
                    best, score = candidate, s
            if best is not None and score == 1.0:
                add(old_q.key, best.key, "same", "equal", "本文が同一の設問（自動提案）", 1.0)
            elif best is not None and score >= SIMILAR:
                add(old_q.key, best.key, "reworded", "equal", f"類似の本文（類似度 {score:.2f}・自動提案）", score)
            else:
                add(old_q.key, None, "", "none", "", None)  # for the center to decide
    for q in new:
        if q.key not in covered and not sources[q.key]:
            add(None, q.key, "added", "none", "新しい設問（自動提案）", None)
    db.session.flush()


def mapping_lines(draft_or_version: ChecklistVersion) -> list[MappingLine]:
    """The mapping into ``draft_or_version`` from the version it is based on, one line per old question
    (in the old order), then the new questions that have no old one."""
    old = load_structure(draft_or_version.based_on)
    new = load_structure(draft_or_version)
    new_by_key = {q.key: q for q in new.questions}
    rows = db.session.scalars(
        select(ChecklistMapping)
        .where(ChecklistMapping.new_version_id == draft_or_version.id)
        .order_by(ChecklistMapping.id)
    ).all()
    by_old = {}
    added = []
    for row in rows:
        if row.old_key is None:
            added.append(row)
        else:
            by_old.setdefault(row.old_key, []).append(row)
    lines = []
    for q in old.questions:
        found = by_old.get(q.key, [])
        lines.append(MappingLine(q, found, [new_by_key[r.new_key] for r in found if r.new_key in new_by_key]))
    for row in sorted(added, key=lambda r: new_by_key[r.new_key].number if r.new_key in new_by_key else 0):
        if row.new_key in new_by_key:
            lines.append(MappingLine(None, [row], [new_by_key[row.new_key]]))
    return lines


def set_mapping(
    draft: ChecklistVersion,
    user: User,
    *,
    old_key: str,
    change: str,
    new_keys: list[str],
    sense: str,
    carry: str,
    reason: str,
) -> None:
    """The center's decision for one old question: what it became (the new questions), how answers relate
    and carry, and why. Replaces the proposal for that question."""
    workflow.check(draft, "map", user)
    old = load_structure(draft.based_on)
    new_keys = [k for k in dict.fromkeys(new_keys) if k]
    new_by_key = {q.key: q for q in load_structure(draft).questions}
    old_q = next((q for q in old.questions if q.key == old_key), None)
    if old_q is None:
        raise DomainError("旧版にない設問です。ページを再読み込みしてください。")
    if change not in CHANGES or change == "added":
        raise DomainError("区分を選んでください。", field="change")
    if sense not in SENSES or carry not in CARRIES:
        raise DomainError("回答の関係と引継ぎを選んでください。", field="sense")
    reason = (reason or "").strip()
    if not reason or len(reason) > 1000:
        raise DomainError("理由を1000文字以内で入力してください。", field="reason")
    unknown = [k for k in new_keys if k not in new_by_key]
    if unknown:
        raise DomainError("改訂案にない設問が選ばれています。", field="new_keys")
    if change == "withdrawn":
        if carry == "copy":
            raise DomainError("廃止する設問の回答は引き継げません（参考表示か空欄）。", field="carry")
    elif not new_keys:
        raise DomainError("新しい版の設問を選んでください（廃止のときのみ空にできます）。", field="new_keys")
    if change in ("same", "reworded") and len(new_keys) != 1:
        raise DomainError("同一・文言修正の対応先は1つです。", field="new_keys")
    if change == "split" and len(new_keys) < 2:
        raise DomainError("分割の対応先は2つ以上です。", field="new_keys")
    before = [
        {"new": r.new_key, "change": r.change}
        for r in db.session.scalars(
            select(ChecklistMapping).where(
                ChecklistMapping.new_version_id == draft.id, ChecklistMapping.old_key == old_key
            )
        )
    ]
    db.session.execute(
        delete(ChecklistMapping).where(ChecklistMapping.new_version_id == draft.id, ChecklistMapping.old_key == old_key)
    )
    for key in new_keys or [None]:
        db.session.add(
            ChecklistMapping(
                old_version_id=draft.based_on_id,
                new_version_id=draft.id,
                old_key=old_key,
                new_key=key,
                change=change,
                sense=sense,
                carry=carry,
                reason=reason,
                similarity=similarity(old_q.text, new_by_key[key].text) if key else None,
                proposed=False,
                updated_by_id=user.id,
                updated_at=utcnow(),
            )
        )
    db.session.flush()
    # A new question now fed by an old one is no longer 新設.
    db.session.execute(
        delete(ChecklistMapping).where(
            ChecklistMapping.new_version_id == draft.id,
            ChecklistMapping.old_key.is_(None),
            ChecklistMapping.new_key.in_(new_keys),
        )
    )
    workflow.apply(
        draft,
        "map",
        user,
        summary=f"改訂案 {draft.code}: 旧設問{old_q.number}の新旧対応を「{CHANGES[change]}」にしました",
        before={"rows": before},
        after={"old": old_key, "change": change, "new": new_keys, "sense": sense, "carry": carry, "reason": reason},
    )


def unmapped(draft: ChecklistVersion) -> list:
    """The old questions whose mapping is not decided (publishing is refused while any is)."""
    return [line.old for line in mapping_lines(draft) if line.old is not None and not line.decided]


def publish(draft: ChecklistVersion, user: User) -> None:
    """Make the draft the published version of its fiscal year; refused while any old question is unmapped."""
    workflow.check(draft, "publish", user)
    missing = unmapped(draft)
    if missing:
        numbers = "・".join(str(q.number) for q in missing[:20])
        more = f" ほか{len(missing) - 20}問" if len(missing) > 20 else ""
        raise DomainError(
            f"旧版の設問 {numbers}{more} の新旧対応が決まっていないため公開できません（{len(missing)}問）。"
        )
    draft.published_at = utcnow()
    workflow.apply(
        draft,
        "publish",
        user,
        summary=f"チェックリスト {draft.code}（{draft.fiscal_year}年度）を公開しました",
        after={"code": draft.code, "sha256": draft.source_sha256},
    )


def retire(version: ChecklistVersion, user: User) -> None:
    workflow.apply(version, "retire", user, summary=f"チェックリスト {version.code} を廃止しました")


def versions() -> list[tuple[ChecklistVersion, int]]:
    """Every version with the number of cycles that use it, newest first."""
    counts = select(Cycle.version_id, func.count(Cycle.id).label("n")).group_by(Cycle.version_id).subquery()
    return db.session.execute(
        select(ChecklistVersion, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.version_id == ChecklistVersion.id)
        .order_by(ChecklistVersion.fiscal_year.desc(), ChecklistVersion.id.desc())
    ).all()


# --- comparable years -------------------------------------------------------------------------


@dataclass(frozen=True)
class Lineage:
    """Where a question of a later version comes from in an earlier one."""

    old_keys: tuple  # the earlier version's question keys it follows (several: merged)
    change: str  # the last change on the way ("same" when none)
    carry: str

    @property
    def change_label(self) -> str:
        return CHANGES.get(self.change, "")


def lineage(old_version_id: int, new_version: ChecklistVersion) -> dict[str, Lineage]:
    """{new question key: Lineage} from ``old_version_id`` to ``new_version`` along the versions' mappings
    (each version is based on the previous one); empty when the two are not related. Questions that are
    new, or that only an empty carry links, have no entry."""
    chain = [new_version]
    while chain[-1].id != old_version_id and chain[-1].based_on_id is not None and len(chain) < 50:
        chain.append(chain[-1].based_on)
    if chain[-1].id != old_version_id:
        return {}
    oldest = chain[-1]
    current = {q.key: Lineage((q.key,), "same", "copy") for q in load_structure(oldest).questions}
    if len(chain) == 1:
        return current
    steps = [v.id for v in reversed(chain[:-1])]
    rows = db.session.scalars(
        select(ChecklistMapping).where(
            ChecklistMapping.new_version_id.in_(steps),
            ChecklistMapping.old_key.is_not(None),
            ChecklistMapping.new_key.is_not(None),
            ChecklistMapping.change != "",
        )
    ).all()
    by_step = {}
    for row in rows:
        by_step.setdefault(row.new_version_id, []).append(row)
    for step in steps:
        following = {}
        for row in by_step.get(step, []):
            source = current.get(row.old_key)
            if source is None:
                continue
            found = following.get(row.new_key)
            change = row.change if row.change != "same" else source.change
            carry = row.carry if row.carry != "copy" else source.carry
            if found is None:
                following[row.new_key] = Lineage(source.old_keys, change, carry)
            else:  # two old questions feed one new one
                following[row.new_key] = Lineage(
                    tuple(dict.fromkeys(found.old_keys + source.old_keys)), "merged", "reference"
                )
        current = following
    return current


def follow_values(old_version_id: int, new_version: ChecklistVersion, values: dict[str, int | None]) -> dict:
    """Last year's answers (by the old version's question key) as the new version's questions see them:
    {new question key: (value, Lineage)}; where several old answers feed one question the worst counts."""
    result = {}
    for key, line in lineage(old_version_id, new_version).items():
        found = [values[k] for k in line.old_keys if values.get(k) is not None]
        if found:
            result[key] = (min(found), line)
    return result


# --- 新旧対照表 -----------------------------------------------------------------------------------


def word_diff(old: str, new: str) -> tuple[list, list]:
    """The two texts as [(changed, fragment)], aligned on what they share (characters: Japanese has no
    spaces between words), for the 新旧対照表's highlighting."""
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    left, right = [], []
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            left.append((False, old[a1:a2]))
            right.append((False, new[b1:b2]))
        else:
            if a2 > a1:
                left.append((True, old[a1:a2]))
            if b2 > b1:
                right.append((True, new[b1:b2]))
    return left, right


@dataclass
class ComparisonRow:
    line: MappingLine
    pairs: list  # [(new QuestionInfo or None, old fragments, new fragments)]
    counts: dict  # last year's answers of the old question: {value: units}


def comparison(version: ChecklistVersion) -> tuple[list[ComparisonRow], object | None]:
    """The 新旧対照表 of ``version`` against the version it is based on, with the answers of the latest
    cycle that used the old version; (rows, that cycle)."""
    from agencyapp.services import question_stats

    cycle = db.session.scalar(
        select(Cycle).where(Cycle.version_id == version.based_on_id).order_by(Cycle.fiscal_year.desc()).limit(1)
    )
    dist = question_stats.distribution(cycle) if cycle is not None else {}
    rows = []
    for line in mapping_lines(version):
        old_text = line.old.text if line.old else ""
        pairs = [(q, *word_diff(old_text, q.text)) for q in line.new] or [(None, [(True, old_text)], [])]
        rows.append(ComparisonRow(line, pairs, dist.get(line.old.id, {}) if line.old else {}))
    return rows, cycle
