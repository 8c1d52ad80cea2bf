"""The checklist loader/validator and the two shipped editions."""

import textwrap

import pytest

from agencyapp.checklists import DATA_DIR
from agencyapp.checklists.loader import ChecklistError, load_checklist, parse_checklist

HEADER = """\
code: test-v1
edition: national
fiscal_year: 2026
title: テスト版
scale:
  - {value: 3, label: 実施している, points: 3}
  - {value: 2, label: 一部実施している, points: 2}
  - {value: 1, label: 実施していない, points: 1}
  - {value: 0, label: 該当なし, points: null}
"""


def doc(body):
    return HEADER + textwrap.dedent(body)


VALID = """\
categories:
  - code: "1"
    title: 組織
    subcategories:
      - code: "1.1"
        title: 体制
        groups:
          - code: "1.1.1"
            title: 責任体制
            goals:
              - number: 1
                text: 委託している
                question: 1
                allow_zero: true
                items:
                  - {number: "1-1", text: 委託先を調査している, question: 2, applies_if: {question: 1, not_in: [0]}}
                  - {number: "1-2", text: 基準として示す項目}
"""


def problems_of(text, name="bad.yaml"):
    with pytest.raises(ChecklistError) as caught:
        parse_checklist(text, name)
    return caught.value.problems


def test_valid_file_loads_with_conditions_and_criteria():
    spec = parse_checklist(doc(VALID), "ok.yaml")
    assert [q.number for q in spec.questions] == [1, 2]
    assert spec.questions[1].conditions == [{"question": 1, "not_in": [0]}]
    assert spec.goals[0].items[1].question is None
    assert spec.questions[0].allowed_values([3, 2, 1, 0]) == [3, 2, 1, 0]
    assert spec.questions[1].allowed_values([3, 2, 1, 0]) == [3, 2, 1]


def test_duplicate_question_number_names_file_entry_and_problem():
    text = doc(VALID).replace("text: 委託先を調査している, question: 2", "text: 委託先を調査している, question: 1")
    problems = problems_of(text)
    assert any(p.startswith("bad.yaml: 小項目 1-1: ") and "設問番号 1 が重複" in p for p in problems)


def test_condition_pointing_at_missing_question_is_refused():
    problems = problems_of(doc(VALID).replace("applies_if: {question: 1,", "applies_if: {question: 99,"))
    assert any("小項目 1-1" in p and "設問 99 がありません" in p for p in problems)


def test_condition_value_outside_the_controllers_answers_is_refused():
    text = doc(VALID).replace("allow_zero: true", "allow_zero: false")
    problems = problems_of(text)
    assert any("回答値 0 は設問 1 の回答範囲" in p for p in problems)


def test_condition_on_a_later_question_is_refused():
    text = doc(VALID).replace(
        "question: 1\n                allow_zero: true",
        "question: 1\n                allow_zero: true\n                applies_if: {question: 2, in: [3]}",
    )
    assert any("この設問より後" in p for p in problems_of(text))


def test_allow_zero_needs_zero_on_the_scale():
    text = doc(VALID).replace("  - {value: 0, label: 該当なし, points: null}\n", "")
    assert any("尺度に 0 がない" in p for p in problems_of(text))


def test_every_problem_is_reported_and_nothing_is_returned():
    text = doc(VALID).replace('number: "1-2"', 'number: "2-2"').replace("edition: national", "edition: city")
    problems = problems_of(text)
    assert len(problems) >= 2
    assert any("edition" in p for p in problems)
    assert any("2-2" in p for p in problems)


def test_unknown_keys_and_missing_text_are_refused():
    text = doc(VALID).replace("text: 委託している", "txt: 委託している")
    problems = problems_of(text)
    assert any("不明な項目 'txt'" in p for p in problems)
    assert any("本文 (text) がありません" in p for p in problems)


def test_broken_yaml_names_the_file():
    problems = problems_of("code: [unclosed", "broken.yaml")
    assert problems[0].startswith("broken.yaml: YAML として読めません")


def test_missing_file_is_a_checklist_error(tmp_path):
    with pytest.raises(ChecklistError, match="ファイルを読めません"):
        load_checklist(tmp_path / "nothing.yaml")


# --- the shipped editions -------------------------------------------------------------

MUNICIPAL_QUESTIONS = (
    [
        6,
        7,
        8,
        9,
        10,
        11,
        12,
        13,
        14,
        15,
        16,
        17,
        18,
        19,
        20,
        21,
        22,
        23,
        24,
        25,
        26,
        27,
        28,
        29,
        30,
        32,
        34,
        39,
        43,
        45,
        47,
        50,
        54,
        57,
        58,
        59,
        60,
    ]
    + list(range(61, 110))
    + [112, 113, 115, 116, 117, 124, 125, 126, 128, 129]
)
MUNICIPAL_ZERO = (
    [21, 22, 23, 24, 25, 26, 27, 28, 29] + list(range(98, 109)) + [112, 113, 115, 116, 117, 124, 125, 126, 128]
)


def test_municipal_edition_matches_the_seed():
    spec = load_checklist(DATA_DIR / "municipal_h20.yaml")
    assert spec.edition == "municipal"
    assert [c.code for c in spec.categories] == ["1", "2", "3", "4", "5"]
    assert [g.number for g in spec.goals] == list(range(1, 44))
    numbers = [q.number for q in spec.questions]
    assert numbers == MUNICIPAL_QUESTIONS
    assert min(numbers) == 6 and max(numbers) == 129
    assert sorted(q.number for q in spec.questions if q.allow_zero) == MUNICIPAL_ZERO
    assert sum(len(g.items) for g in spec.goals) == 117


def test_municipal_q21_branch():
    spec = load_checklist(DATA_DIR / "municipal_h20.yaml")
    by_number = {q.number: q for q in spec.questions}
    assert by_number[21].conditions == []
    for n in (22, 23, 24, 25, 26):  # 2.1.2 重要機能室の管理
        assert by_number[n].conditions == [{"question": 21, "not_in": [0]}]
        assert by_number[n].group_code == "2.1.2"
    for n in (27, 28, 29):  # 2.1.3 電子計算機の設置された部屋の管理
        assert by_number[n].conditions == [{"question": 21, "in": [0]}]
        assert by_number[n].group_code == "2.1.3"


def test_municipal_gaps_are_commented_not_invented():
    text = (DATA_DIR / "municipal_h20.yaml").read_text(encoding="utf-8")
    assert "31 does not" in text or "31" in text.split("9-1")[1][:400]
    assert "17-4" in text and text.count('number: "17-4"') == 1


def test_national_edition_is_written_for_receiving_agencies():
    spec = load_checklist(DATA_DIR / "national_r8.yaml")
    assert spec.edition == "national" and spec.fiscal_year == 2026
    titles = [c.title for c in spec.categories]
    assert "委託先の管理" in titles and "アクセス管理" in titles and "監査・点検" in titles
    assert len(spec.goals) >= 35 and len(spec.questions) >= 100
    text = (DATA_DIR / "national_r8.yaml").read_text(encoding="utf-8")
    for word in ("住基カード", "住民基本台帳カード", "個人番号"):
        assert word not in text
    outsourcing = next(c for c in spec.categories if c.title == "委託先の管理")
    questions = [
        q
        for s in spec.sections()
        if s.code.split(".")[0] == outsourcing.code
        for g in s.goals
        for q in ([g.question] if g.question else []) + [i.question for i in g.items if i.question]
    ]
    controller = questions[0]
    assert controller.allow_zero
    assert all({"question": controller.number, "not_in": [0]} in q.conditions for q in questions[1:])
