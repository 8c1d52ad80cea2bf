"""Load and validate a checklist data file (format: FORMAT.md beside this module).

Every problem is reported with the file, the entry and what is wrong; a file
with any problem yields no checklist at all.
"""

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

EDITIONS = ("national", "prefecture", "municipal")
CODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")


class ChecklistError(Exception):
    """A data file that cannot be loaded; ``problems`` lists every reason."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass
class QuestionSpec:
    number: int
    text: str
    allow_zero: bool
    conditions: list  # effective clauses, all of which must hold
    goal_number: int
    item_number: str | None
    group_code: str  # 小分類 code such as "3.8.2"; 中分類 and 大分類 are its prefixes
    answer_labels: dict = field(default_factory=dict)  # {value: label} where the scale's labels would mislead
    key: str = ""  # the permanent identity: its goal's or item's key

    def allowed_values(self, scale_values):
        return [v for v in scale_values if v != 0 or self.allow_zero]


@dataclass
class ItemSpec:
    number: str
    text: str
    question: QuestionSpec | None
    key: str = ""
    derived_from: list = field(default_factory=list)  # keys of the previous version it was split or merged from


@dataclass
class GoalSpec:
    number: int
    text: str
    question: QuestionSpec | None
    items: list = field(default_factory=list)
    key: str = ""
    derived_from: list = field(default_factory=list)


@dataclass
class SectionSpec:
    level: int
    code: str
    title: str
    children: list = field(default_factory=list)
    goals: list = field(default_factory=list)  # level 3 only


@dataclass
class ChecklistSpec:
    code: str
    edition: str
    fiscal_year: int
    title: str
    scale: list
    categories: list
    source_sha256: str
    source_name: str = ""

    def sections(self):
        """Every section, depth first, in document order."""

        def walk(nodes):
            for node in nodes:
                yield node
                yield from walk(node.children)

        return list(walk(self.categories))

    @property
    def goals(self):
        return [g for s in self.sections() for g in s.goals]

    @property
    def questions(self):
        result = []
        for goal in self.goals:
            if goal.question:
                result.append(goal.question)
            result.extend(i.question for i in goal.items if i.question)
        return result


LEVELS = {1: ("categories", "大分類"), 2: ("subcategories", "中分類"), 3: ("groups", "小分類")}
TOP_KEYS = {"code", "edition", "fiscal_year", "title", "scale", "categories"}
SECTION_KEYS = {
    1: {"code", "title", "subcategories", "applies_if"},
    2: {"code", "title", "groups", "applies_if"},
    3: {"code", "title", "goals", "applies_if"},
}
GOAL_KEYS = {"id", "derived_from", "number", "text", "question", "allow_zero", "answer_labels", "applies_if", "items"}
ITEM_KEYS = {"id", "derived_from", "number", "text", "question", "allow_zero", "answer_labels", "applies_if"}
KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
ANSWER_LABEL_MAX = 100
COND_KEYS = {"question", "in", "not_in"}


def load_checklist(path):
    """Read and validate ``path``; return a ChecklistSpec or raise ChecklistError."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ChecklistError([f"{path.name}: ファイルを読めません（{exc.strerror}）"]) from exc
    return parse_checklist(raw, path.name)


def parse_checklist(raw, name="<data>"):
    """Validate YAML bytes or text; return a ChecklistSpec or raise ChecklistError."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    try:
        doc = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise ChecklistError([f"{name}: YAML として読めません: {exc}"]) from exc
    return _Validator(name, hashlib.sha256(raw).hexdigest()).run(doc)


def dump_document(doc) -> str:
    """The YAML text of a document, in the order it was written (what ``parse_checklist`` reads back)."""
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=120)


class _Validator:
    def __init__(self, name, digest):
        self.name = name
        self.digest = digest
        self.problems = []
        self.questions = {}  # number -> (QuestionSpec, where)
        self.goal_numbers = {}
        self.item_numbers = {}
        self.section_codes = {}
        self.keys = {}  # permanent key -> where
        self.pending_conditions = []  # (question, where), checked once every question is known
        self.scale_values = []

    def problem(self, where, message):
        self.problems.append(f"{self.name}: {where}: {message}" if where else f"{self.name}: {message}")

    def run(self, doc):
        if not isinstance(doc, dict):
            self.problem("", "最上位は code, edition, title などを持つマッピングである必要があります")
            raise ChecklistError(self.problems)
        self.unknown_keys(doc, TOP_KEYS, "最上位")
        code = doc.get("code")
        if not isinstance(code, str) or not CODE_RE.match(code):
            self.problem("code", "英小文字・数字・ハイフンで2〜64文字のコードが必要です")
        edition = doc.get("edition")
        if edition not in EDITIONS:
            self.problem("edition", f"{edition!r} は使えません（{', '.join(EDITIONS)} のいずれか）")
        year = doc.get("fiscal_year")
        if not isinstance(year, int) or isinstance(year, bool) or not 1999 <= year <= 2100:
            self.problem("fiscal_year", "西暦の年度（例: 2026）が必要です")
        title = doc.get("title")
        if not isinstance(title, str) or not title.strip():
            self.problem("title", "表題がありません")
        scale = self.check_scale(doc.get("scale"))
        categories = []
        raw_categories = doc.get("categories")
        if not isinstance(raw_categories, list) or not raw_categories:
            self.problem("categories", "大分類が1つもありません")
        else:
            for index, node in enumerate(raw_categories):
                section = self.section(node, 1, None, f"大分類[{index + 1}]", [])
                if section:
                    categories.append(section)
        self.check_conditions()
        if self.problems:
            raise ChecklistError(self.problems)
        return ChecklistSpec(
            code=code,
            edition=edition,
            fiscal_year=year,
            title=title.strip(),
            scale=scale,
            categories=categories,
            source_sha256=self.digest,
            source_name=self.name,
        )

    def unknown_keys(self, node, allowed, where):
        for key in node:
            if key not in allowed:
                self.problem(where, f"不明な項目 {key!r} があります")

    def check_scale(self, scale):
        if not isinstance(scale, list) or not scale:
            self.problem("scale", "回答の尺度がありません")
            return []
        result = []
        for index, entry in enumerate(scale):
            where = f"scale[{index + 1}]"
            if not isinstance(entry, dict):
                self.problem(where, "value, label, points を持つマッピングが必要です")
                continue
            self.unknown_keys(entry, {"value", "label", "points"}, where)
            value, label, points = entry.get("value"), entry.get("label"), entry.get("points")
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 9:
                self.problem(where, "value は 0〜9 の整数です")
                continue
            if value in self.scale_values:
                self.problem(where, f"回答値 {value} が重複しています")
                continue
            if not isinstance(label, str) or not label.strip():
                self.problem(where, f"回答値 {value} に表示名 (label) がありません")
            if points is not None and (not isinstance(points, int) or isinstance(points, bool) or points < 0):
                self.problem(where, f"回答値 {value} の points は 0 以上の整数か null です")
            if value == 0 and points is not None:
                self.problem(where, "回答値 0 は該当なしのため points は null にしてください")
            if value != 0 and points is None:
                self.problem(where, f"回答値 {value} に points がありません")
            self.scale_values.append(value)
            result.append({"value": value, "label": (label or "").strip(), "points": points})
        if not {1, 2, 3} <= set(self.scale_values):
            self.problem("scale", "回答値 1, 2, 3 は必須です")
        return sorted(result, key=lambda e: -e["value"])

    def condition(self, node, where):
        """Return the clause list of ``node['applies_if']`` (possibly empty): one clause, or a list of
        clauses that must all hold."""
        cond = node.get("applies_if")
        if cond is None:
            return []
        if isinstance(cond, list) and cond:
            clauses = []
            for part in cond:
                for clause in self.clause(part, where):
                    if clause not in clauses:
                        clauses.append(clause)
            return clauses
        return self.clause(cond, where)

    def clause(self, cond, where):
        if not isinstance(cond, dict):
            self.problem(where, "applies_if は {question: 番号, in/not_in: [値]} の形式です")
            return []
        self.unknown_keys(cond, COND_KEYS, where + " の applies_if")
        target = cond.get("question")
        ops = [k for k in ("in", "not_in") if k in cond]
        if not isinstance(target, int) or isinstance(target, bool):
            self.problem(where, "applies_if に参照する設問番号 (question) がありません")
            return []
        if len(ops) != 1:
            self.problem(where, "applies_if には in か not_in のどちらか1つを書きます")
            return []
        values = cond[ops[0]]
        if (
            not isinstance(values, list)
            or not values
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in values)
        ):
            self.problem(where, f"applies_if の {ops[0]} は回答値の一覧（例: [0]）です")
            return []
        return [{"question": target, ops[0]: sorted(set(values))}]

    def section(self, node, level, parent_code, where, inherited):
        key, label = LEVELS[level]
        if not isinstance(node, dict):
            self.problem(where, f"{label}は code と title を持つマッピングです")
            return None
        code = node.get("code")
        code = str(code) if isinstance(code, (str, int, float)) and not isinstance(code, bool) else None
        if code:
            where = f"{label} {code}"
        self.unknown_keys(node, SECTION_KEYS[level], where)
        if not code:
            self.problem(where, "code がありません")
            return None
        expected_parts = level
        if len(code.split(".")) != expected_parts or (parent_code and not code.startswith(parent_code + ".")):
            self.problem(
                where,
                f"コード {code} は{'上位 ' + parent_code + ' に続く' if parent_code else ''}"
                f"{level}階層の番号ではありません",
            )
        if code in self.section_codes:
            self.problem(where, f"コード {code} が重複しています")
        self.section_codes[code] = where
        title = node.get("title")
        if not isinstance(title, str) or not title.strip():
            self.problem(where, "title がありません")
            title = ""
        conditions = inherited + [c for c in self.condition(node, where) if c not in inherited]
        section = SectionSpec(level=level, code=code, title=title.strip())
        if level < 3:
            child_key, child_label = LEVELS[level + 1]
            children = node.get(child_key)
            if not isinstance(children, list) or not children:
                self.problem(where, f"{child_label} ({child_key}) がありません")
                return section
            for index, child in enumerate(children):
                sub = self.section(child, level + 1, code, f"{where} の{child_label}[{index + 1}]", conditions)
                if sub:
                    section.children.append(sub)
        else:
            goals = node.get("goals")
            if not isinstance(goals, list) or not goals:
                self.problem(where, "管理目標 (goals) がありません")
                return section
            for index, goal in enumerate(goals):
                spec = self.goal(goal, f"{where} の管理目標[{index + 1}]", conditions, code)
                if spec:
                    section.goals.append(spec)
        return section

    def goal(self, node, where, inherited, group):
        if not isinstance(node, dict):
            self.problem(where, "管理目標は number と text を持つマッピングです")
            return None
        number = node.get("number")
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            self.problem(where, "管理目標番号 (number) は 1 以上の整数です")
            return None
        where = f"管理目標 {number}"
        self.unknown_keys(node, GOAL_KEYS, where)
        if number in self.goal_numbers:
            self.problem(where, f"管理目標番号 {number} が重複しています")
        self.goal_numbers[number] = where
        text = self.text(node, where)
        key, derived = self.key(node, where, f"g{number}")
        conditions = inherited + [c for c in self.condition(node, where) if c not in inherited]
        question = self.question(node, where, text, conditions, number, None, group, key)
        goal = GoalSpec(number=number, text=text, question=question, key=key, derived_from=derived)
        items = node.get("items", [])
        if not isinstance(items, list):
            self.problem(where, "items は小項目の一覧です")
            items = []
        for index, item in enumerate(items):
            spec = self.item(item, f"{where} の小項目[{index + 1}]", conditions, number, group)
            if spec:
                goal.items.append(spec)
        return goal

    def item(self, node, where, inherited, goal_number, group):
        if not isinstance(node, dict):
            self.problem(where, "小項目は number と text を持つマッピングです")
            return None
        number = node.get("number")
        if not isinstance(number, str) or not re.fullmatch(rf"{goal_number}-\d+", number):
            self.problem(where, f'小項目番号は "{goal_number}-1" の形式の文字列です（{number!r}）')
            return None
        where = f"小項目 {number}"
        self.unknown_keys(node, ITEM_KEYS, where)
        if number in self.item_numbers:
            self.problem(where, f"小項目番号 {number} が重複しています")
        self.item_numbers[number] = where
        text = self.text(node, where)
        key, derived = self.key(node, where, f"i{number}")
        conditions = inherited + [c for c in self.condition(node, where) if c not in inherited]
        question = self.question(node, where, text, conditions, goal_number, number, group, key)
        return ItemSpec(number=number, text=text, question=question, key=key, derived_from=derived)

    def key(self, node, where, default):
        """The entry's permanent key (``id``; from its number when the file names none) and what it came from."""
        key = node.get("id", default)
        if not isinstance(key, str) or not KEY_RE.match(key):
            self.problem(where, f"id は英数字で始まる40文字以内の英数字・記号（_ . -）です（{key!r}）")
            key = default
        elif key in self.keys:
            self.problem(where, f"id {key} が重複しています（{self.keys[key]} と同じ）")
        self.keys.setdefault(key, where)
        derived = node.get("derived_from", [])
        if not isinstance(derived, list) or not all(isinstance(k, str) and KEY_RE.match(k) for k in derived):
            self.problem(where, "derived_from は前の版の id の一覧です")
            derived = []
        return key, list(derived)

    def text(self, node, where):
        text = node.get("text")
        if not isinstance(text, str) or not text.strip():
            self.problem(where, "本文 (text) がありません")
            return ""
        return text.strip()

    def question(self, node, where, text, conditions, goal_number, item_number, group, key=""):
        number = node.get("question")
        allow_zero = node.get("allow_zero", False)
        if not isinstance(allow_zero, bool):
            self.problem(where, "allow_zero は true か false です")
            allow_zero = False
        if number is None:
            if allow_zero:
                self.problem(where, "設問番号のない行に allow_zero は指定できません")
            if "answer_labels" in node:
                self.problem(where, "設問番号のない行に answer_labels は指定できません")
            return None
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            self.problem(where, f"設問番号は 1 以上の整数です（{number!r}）")
            return None
        if number in self.questions:
            self.problem(where, f"設問番号 {number} が重複しています（{self.questions[number][1]} と同じ）")
            return None
        if allow_zero and 0 not in self.scale_values:
            self.problem(where, f"設問 {number}: 尺度に 0 がないため allow_zero は使えません")
        allowed = [v for v in self.scale_values if v != 0 or allow_zero]
        labels = self.answer_labels(node.get("answer_labels"), where, number, allowed)
        spec = QuestionSpec(
            number=number,
            text=text,
            allow_zero=allow_zero,
            conditions=conditions,
            goal_number=goal_number,
            item_number=item_number,
            group_code=group,
            answer_labels=labels,
            key=key,
        )
        self.questions[number] = (spec, where)
        self.pending_conditions.append((spec, where))
        return spec

    def answer_labels(self, raw, where, number, allowed):
        """Labels of this question's own answers: every key an allowed answer, every label short text."""
        if raw is None:
            return {}
        if not isinstance(raw, dict) or not raw:
            self.problem(where, f"設問 {number}: answer_labels は「回答の値: 表示名」の対応で書きます")
            return {}
        labels = {}
        for value, label in raw.items():
            if not isinstance(value, int) or isinstance(value, bool) or value not in allowed:
                choices = "・".join(map(str, allowed))
                self.problem(
                    where, f"設問 {number}: answer_labels の {value!r} はこの設問の回答（{choices}）ではありません"
                )
                continue
            if not isinstance(label, str) or not label.strip() or len(label.strip()) > ANSWER_LABEL_MAX:
                self.problem(where, f"設問 {number}: 回答 {value} の表示名は{ANSWER_LABEL_MAX}文字以内の文字列です")
                continue
            labels[value] = label.strip()
        return labels

    def check_conditions(self):
        order = {num: index for index, num in enumerate(self.questions)}
        for spec, where in self.pending_conditions:
            for clause in spec.conditions:
                target = clause["question"]
                if target == spec.number:
                    self.problem(where, f"設問 {spec.number} の条件が自分自身を参照しています")
                    continue
                if target not in self.questions:
                    self.problem(where, f"条件が参照する設問 {target} がありません")
                    continue
                if order[target] > order[spec.number]:
                    self.problem(where, f"条件が参照する設問 {target} は、この設問より後にあります")
                    continue
                controller = self.questions[target][0]
                allowed = controller.allowed_values(self.scale_values)
                values = clause.get("in", clause.get("not_in"))
                outside = [v for v in values if v not in allowed]
                if outside:
                    self.problem(
                        where,
                        f"条件の回答値 {', '.join(map(str, outside))} は設問 {target} の回答範囲"
                        f"（{', '.join(map(str, allowed))}）の外です",
                    )
