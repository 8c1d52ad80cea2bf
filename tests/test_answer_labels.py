"""Controlling questions name their own answers, say what each answer switches, and their dependents say
what they wait for until then."""

import pytest
from sqlalchemy import select

from agencyapp.checklists.loader import parse_checklist
from agencyapp.extensions import db
from agencyapp.models import AuditEvent, ChecklistQuestion, ChecklistVersion
from agencyapp.services.checklists import import_checklist, load_structure
from tests.factories import PASSWORD, national_version
from tests.test_checklist_loader import VALID, doc, problems_of

LABELLED = VALID.replace(
    "                allow_zero: true\n",
    "                allow_zero: true\n                answer_labels: {3: 委託し把握している, 0: 委託していない}\n",
)


def test_answer_labels_load_with_int_keys():
    spec = parse_checklist(doc(LABELLED), "ok.yaml")
    assert spec.questions[0].answer_labels == {3: "委託し把握している", 0: "委託していない"}


@pytest.mark.parametrize(
    "labels, problem",
    [
        ("{5: 五}", "answer_labels の 5 はこの設問の回答"),
        ("{3: ''}", "回答 3 の表示名は100文字以内の文字列"),
        ("[委託]", "「回答の値: 表示名」の対応"),
    ],
)
def test_bad_answer_labels_are_refused_with_their_place(labels, problem):
    text = doc(
        VALID.replace(
            "                allow_zero: true\n",
            f"                allow_zero: true\n                answer_labels: {labels}\n",
        )
    )
    found = problems_of(text)
    assert any(problem in p and "bad.yaml" in p for p in found), found


def test_a_criterion_cannot_carry_answer_labels():
    text = doc(
        VALID.replace(
            '{number: "1-2", text: 基準として示す項目}', '{number: "1-2", text: 基準, answer_labels: {3: 三}}'
        )
    )
    assert any("設問番号のない行に answer_labels" in p for p in problems_of(text))


def test_new_labels_on_a_registered_version_update_it_in_place_and_are_audited(ctx):
    plain = parse_checklist(doc(VALID).replace("test-v1", "test-labels"), "plain.yaml")
    version, created = import_checklist(plain)
    db.session.commit()
    labelled = parse_checklist(doc(LABELLED).replace("test-v1", "test-labels"), "labelled.yaml")
    again, created = import_checklist(labelled)
    db.session.commit()
    assert again.id == version.id and created is False
    question = db.session.scalar(
        select(ChecklistQuestion).where(ChecklistQuestion.version_id == version.id, ChecklistQuestion.number == 1)
    )
    assert question.answer_labels == {"3": "委託し把握している", "0": "委託していない"}
    assert db.session.get(ChecklistVersion, version.id).source_sha256 == labelled.source_sha256
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "checklist.labels_updated"))
    changed = parse_checklist(doc(LABELLED.replace("委託先を調査している", "別の文")).replace("test-v1", "test-labels"))
    from agencyapp.services import DomainError

    with pytest.raises(DomainError, match="別の内容"):
        import_checklist(changed)


def test_q86_names_its_answers_and_says_what_0_switches_off(ctx, world):
    structure = load_structure(national_version())
    q86 = structure.by_number[86]
    assert q86.label(0) == "委託していない" and q86.label(3).startswith("委託しており")
    assert structure.by_number[6].label(1) == "実施していない"  # other questions keep the scale's names
    switches = dict(structure.switches(86))
    assert switches[0].startswith("設問87〜") and switches[0].endswith("問）")
    assert switches[3] == "" and switches[1] == ""  # outsourcing, however well managed: all 委託 questions stay


def test_the_page_shows_the_labels_the_switch_and_what_dependents_wait_for(ctx, world, make_web):
    web = make_web()
    web.login("agency-a", PASSWORD)
    sub = world.submission_a
    shown = f"/submissions/{sub.id}?cat={load_structure(sub.cycle.version).by_number[86].category_code}"
    page = web.get(shown).get_data(as_text=True)  # the page of 86's 大分類
    q86 = page[page.index('id="q-86"') : page.index('id="q-87"')]
    assert "委託していない" in q86 and "は該当なし</span>" in q86 and "回答が必要な設問が変わります" in q86
    q87 = page[page.index('id="q-87"') : page.index('id="q-88"')]
    assert "設問86に回答すると表示されます" in q87 and "該当なし（" not in q87
    assert "（暫定：" in page and "設問86" in page[page.index('id="progress-provisional"') :][:200]
    # answering 0 turns the waiting questions into 該当なし on the page, without a reload
    fragment = web.post(
        f"/submissions/{sub.id}/answers/86", {"answer-86": "0", "lock_version": sub.lock_version}, htmx=True
    ).get_data(as_text=True)
    assert 'id="q-87"' in fragment and "該当なし（設問86" in fragment and "回答すると表示されます" not in fragment
    db.session.expire_all()
    page = web.get(shown).get_data(as_text=True)
    assert "設問86に回答すると" not in page
