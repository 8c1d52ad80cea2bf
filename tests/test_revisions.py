"""The revision workbench's rules: drafts copied and edited through the loader, the mapping the draft
proposes and the center decides, publishing, and a published version that refuses every change."""

from datetime import date

import pytest
import yaml
from sqlalchemy import func, select

from agencyapp.errors import DomainError
from agencyapp.extensions import db
from agencyapp.models import AuditEvent, ChecklistMapping, ChecklistQuestion, ChecklistVersion
from agencyapp.services import revisions
from agencyapp.services.checklists import load_structure
from agencyapp.services.revisions import DraftError, Edit
from tests.factories import act, national_version


def _draft(world, code="national-r9", year=2027):
    return act(revisions.start_draft, national_version(), world.center, code=code, fiscal_year=year)


def _question(version, number):
    return load_structure(version).by_number[number]


def _lines(draft):
    return {line.old.number: line for line in revisions.mapping_lines(draft) if line.old is not None}


def test_a_copy_proposes_the_same_question_for_every_question(ctx, world):
    draft = _draft(world)
    old = load_structure(national_version())
    lines = _lines(draft)
    assert len(lines) == len(old.questions)
    assert {line.change for line in lines.values()} == {"same"}
    assert all(line.rows[0].carry == "copy" and line.new[0].key == line.old.key for line in lines.values())
    assert revisions.unmapped(draft) == []
    assert draft.status == "draft" and draft.based_on_id == national_version().id


def test_the_proposal_on_a_copy_with_edits(ctx, world):
    """Unchanged, reworded, split, merged, added and removed questions, each proposed as such."""
    draft = _draft(world)
    q6, q7, q8, q9, q10 = (_question(draft, n) for n in (6, 7, 8, 9, 10))
    act(revisions.edit_draft, draft, world.center, Edit("text", key=q7.key, text=q7.text + "（年1回以上）"))
    act(revisions.edit_draft, draft, world.center, Edit("split", key=q8.key, text="分割した後半の設問"))
    act(revisions.edit_draft, draft, world.center, Edit("merge", key=q9.key, other=q10.key))
    goal = load_structure(draft).goals_by_number[q6.goal_number].goal
    act(revisions.edit_draft, draft, world.center, Edit("add_item", key=goal.key, text="新しい確認項目", flag=True))
    last = load_structure(national_version()).questions[-1]
    act(revisions.edit_draft, draft, world.center, Edit("remove", key=last.key))
    lines = _lines(draft)
    assert lines[6].change == "same"
    assert lines[7].change == "reworded" and 0.6 < lines[7].rows[0].similarity < 1
    assert lines[8].change == "split" and len(lines[8].new) == 2
    assert lines[9].change == "merged" and lines[10].change == "merged"
    assert lines[9].new[0].key == lines[10].new[0].key == q9.key
    assert lines[last.number].change == ""  # removed: for the center to decide
    added = [line for line in revisions.mapping_lines(draft) if line.old is None]
    assert [line.new[0].text for line in added] == ["新しい確認項目"]
    assert [q.number for q in revisions.unmapped(draft)] == [last.number]


def test_publishing_is_refused_while_an_old_question_is_unmapped(ctx, world):
    draft = _draft(world)
    last = load_structure(national_version()).questions[-1]
    act(revisions.edit_draft, draft, world.center, Edit("remove", key=last.key))
    with pytest.raises(DomainError, match=f"設問 {last.number} の新旧対応が決まっていない"):
        act(revisions.publish, draft, world.center)
    assert db.session.get(ChecklistVersion, draft.id).status == "draft"
    act(
        revisions.set_mapping,
        draft,
        world.center,
        old_key=last.key,
        change="withdrawn",
        new_keys=[],
        sense="none",
        carry="empty",
        reason="運用実態がないため廃止",
    )
    act(revisions.publish, draft, world.center)
    assert db.session.get(ChecklistVersion, draft.id).status == "published"
    events = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == draft.id)).all()
    assert "checklist.published" in events and "checklist.mapping_set" in events


def test_a_published_version_refuses_every_change(ctx, world):
    version = national_version()
    question = db.session.scalar(select(ChecklistQuestion).where(ChecklistQuestion.version_id == version.id))
    for change in (
        lambda: setattr(question, "text", "書き換え"),
        lambda: setattr(question, "number", 999),
        lambda: setattr(version, "scale", []),
        lambda: db.session.delete(question),
    ):
        change()
        with pytest.raises(DomainError, match="公開済みのチェックリストは変更できません"):
            db.session.flush()
        db.session.rollback()
    with pytest.raises(DomainError, match="公開済みのチェックリストは変更できません"):
        act(revisions.edit_draft, version, world.center, Edit("text", key=question.key, text="x"))
    assert db.session.get(ChecklistQuestion, question.id).text != "書き換え"


def test_a_bad_edit_is_refused_with_the_loaders_message_and_changes_nothing(ctx, world):
    draft = _draft(world)
    source = draft.source
    q6, q7 = _question(draft, 6), _question(draft, 7)
    with pytest.raises(DraftError) as caught:
        act(revisions.edit_draft, draft, world.center, Edit("question_number", key=q7.key, number=6))
    assert any("設問番号 6 が重複しています" in p for p in caught.value.problems)
    with pytest.raises(DraftError) as caught:
        act(revisions.edit_draft, draft, world.center, Edit("text", key=q6.key, text="   "))
    assert any("本文 (text) がありません" in p for p in caught.value.problems)
    db.session.expire_all()
    assert db.session.get(ChecklistVersion, draft.id).source == source
    assert _question(draft, 7).key == q7.key


def test_renumbering_keeps_identities_and_conditions(ctx, world):
    draft = _draft(world)
    first = load_structure(draft).questions[0]
    act(revisions.edit_draft, draft, world.center, Edit("question_number", key=first.key, number=500))
    act(revisions.edit_draft, draft, world.center, Edit("renumber"))
    structure = load_structure(draft)
    old = load_structure(national_version())
    assert [q.key for q in structure.questions] == [q.key for q in old.questions]
    assert [q.number for q in structure.questions] == [q.number for q in old.questions]
    assert {line.change for line in _lines(draft).values()} == {"same"}


def test_the_yaml_round_trip(ctx, world):
    draft = _draft(world)
    text = revisions.source_of(draft)
    doc = yaml.safe_load(text)
    doc["title"] = "改訂したチェックリスト"
    act(revisions.import_draft_source, draft, world.center, yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))
    assert db.session.get(ChecklistVersion, draft.id).title == "改訂したチェックリスト"
    doc["code"] = "another"
    with pytest.raises(DraftError, match="code は改訂案のコード"):
        act(revisions.import_draft_source, draft, world.center, yaml.safe_dump(doc, allow_unicode=True))
    with pytest.raises(DraftError, match="YAML として読めません"):
        act(revisions.import_draft_source, draft, world.center, "a: [")
    assert db.session.get(ChecklistVersion, draft.id).title == "改訂したチェックリスト"


def test_the_published_copy_carries_the_same_conditions(ctx, world):
    draft = _draft(world)
    old = {q.key: q.conditions for q in load_structure(national_version()).questions}
    assert {q.key: q.conditions for q in load_structure(draft).questions} == old


def test_only_the_center_drafts(ctx, world):
    from agencyapp.errors import Forbidden

    for user in (world.agency, world.ministry_user, world.admin):
        with pytest.raises(Forbidden):
            act(revisions.start_draft, national_version(), user, code="x-draft", fiscal_year=2027)
    assert db.session.scalar(select(func.count()).select_from(ChecklistMapping)) == 0


def _web(make_web):
    from tests.factories import PASSWORD

    web = make_web()
    web.login("center", PASSWORD)
    return web


def test_the_center_drafts_edits_maps_and_publishes_in_the_browser_pages(ctx, world, make_web):
    from tests.factories import make_cycle

    web = _web(make_web)
    assert "改訂案を作成する" in web.get("/checklists/").get_data(as_text=True)
    source_id = national_version().id
    response = web.post(
        "/checklists/drafts", {"source_id": str(source_id), "code": "national-r9", "fiscal_year": "2027"}
    )
    assert response.status_code == 303
    draft = db.session.scalar(select(ChecklistVersion).where(ChecklistVersion.code == "national-r9"))
    page = web.get(f"/checklists/{draft.id}").get_data(as_text=True)
    assert "番号を振り直す" in page and "作成中" in page
    q7 = _question(draft, 7)
    bad = web.post(f"/checklists/{draft.id}/edit", {"op": "question_number", "key": q7.key, "number": "6"})
    assert bad.status_code == 422 and "設問番号 6 が重複しています" in bad.get_data(as_text=True)
    ok = web.post(f"/checklists/{draft.id}/edit", {"op": "text", "key": q7.key, "text": q7.text + "（年1回）"})
    assert ok.status_code == 303
    last = load_structure(national_version()).questions[-1]
    assert web.post(f"/checklists/{draft.id}/edit", {"op": "remove", "key": last.key}).status_code == 303
    refused = web.post(f"/checklists/{draft.id}/publish", {"confirm": "1"})
    assert refused.status_code == 422 and "新旧対応が決まっていない" in refused.get_data(as_text=True)
    mapping = web.get(f"/checklists/{draft.id}/mapping").get_data(as_text=True)
    assert "未決定" in mapping and "文言修正" in mapping
    no_reason = web.post(
        f"/checklists/{draft.id}/mapping",
        {"old_key": last.key, "change": "withdrawn", "sense": "none", "carry": "empty", "reason": ""},
    )
    assert no_reason.status_code == 422 and "理由を" in no_reason.get_data(as_text=True)
    web.post(
        f"/checklists/{draft.id}/mapping",
        {"old_key": last.key, "change": "withdrawn", "sense": "none", "carry": "empty", "reason": "廃止する"},
    )
    unknown = web.post(
        f"/checklists/{draft.id}/mapping",
        {"old_key": last.key, "change": "merged", "new_numbers": "7, 9999", "sense": "subset", "carry": "reference"},
    )
    assert unknown.status_code == 422 and "設問番号「9999」はこの改訂案にありません" in unknown.get_data(as_text=True)
    merge = web.post(f"/checklists/{draft.id}/edit", {"op": "merge", "key": q7.key, "other_number": "9999"})
    assert merge.status_code == 422 and "統合する設問の設問番号" in merge.get_data(as_text=True)
    assert web.post(f"/checklists/{draft.id}/publish", {}).status_code == 422  # the confirmation box
    assert web.post(f"/checklists/{draft.id}/publish", {"confirm": "1"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(ChecklistVersion, draft.id).status == "published"
    yaml_text = web.get(f"/checklists/{draft.id}/source.yaml").get_data(as_text=True)
    assert "code: national-r9" in yaml_text and "id: " in yaml_text
    published = db.session.get(ChecklistVersion, draft.id)
    cycle = make_cycle([world.unit_a], fiscal_year=2027, due_on=date(2028, 1, 31), version=published)
    assert cycle.version.code == "national-r9"


def test_a_cycle_is_never_opened_with_a_draft(ctx, world):
    from tests.factories import make_cycle

    draft = _draft(world)
    with pytest.raises(DomainError, match="公開されていない"):
        make_cycle([world.unit_a], fiscal_year=2027, version=draft)


def test_other_roles_cannot_reach_the_workbench(ctx, world, make_web):
    from tests.factories import PASSWORD

    draft = _draft(world)
    for login in ("agency-a", "ministry-a", "admin"):
        web = make_web()
        web.login(login, PASSWORD)
        assert web.get(f"/checklists/{draft.id}").status_code in (403, 404)
        assert web.get("/checklists/").status_code in (403, 404)


def test_last_years_answers_follow_the_mapping_across_a_renumbering(ctx, world):
    """A question renumbered (and reworded) in the new version keeps its 前年度 on the review page."""
    from agencyapp.services import review
    from tests.factories import make_cycle, submission_of
    from tests.test_review import submit_answers

    old_cycle = world.cycle
    submit_answers(world.agency, world.submission_a)  # Q1 answered 1, the others 3 (Q87 2)
    draft = _draft(world)
    first = load_structure(draft).questions[0]
    act(revisions.edit_draft, draft, world.center, Edit("text", key=first.key, text=first.text + "（改）"))
    act(revisions.edit_draft, draft, world.center, Edit("question_number", key=first.key, number=900))
    act(revisions.publish, draft, world.center)
    cycle = make_cycle([world.unit_a], fiscal_year=old_cycle.fiscal_year + 1, due_on=date(2028, 1, 31), version=draft)
    previous, values = review.previous_values(submission_of(cycle, world.unit_a))
    assert previous.id == world.submission_a.id
    assert first.number == 1 and values[900].value == 1 and values[900].change == "文言修正"
    assert first.number not in values  # the old number now names nothing
    second = load_structure(draft).questions[1]
    assert values[second.number].value == 3 and values[second.number].change == ""


def test_per_question_statistics_equal_the_scoring_modules_figures(ctx, world, make_web):
    from agencyapp import scoring
    from agencyapp.models import Submission
    from agencyapp.services import question_stats
    from agencyapp.services.selfcheck import load_state, save_all, submit
    from tests.test_review import submit_answers
    from tests.test_selfcheck import all_threes

    submit_answers(world.agency, world.submission_a)
    submit_answers(world.agency_b, world.submission_b, {"answer-2": "2", "answer-3": "1"})
    # A third answers 3 everywhere, then switches off 4.2 (Q21 = 0) and the outsourcing questions (Q86 = 0):
    # their stored 3s must not count (the scoring module's rule).
    third = world.submission_a2
    act(save_all, world.agency_a2, third, all_threes(third), third.lock_version)
    third = db.session.get(Submission, third.id)
    act(save_all, world.agency_a2, third, {**all_threes(third), "answer-21": "0", "answer-86": "0"}, third.lock_version)
    third = db.session.get(Submission, third.id)
    act(submit, world.agency_a2, third, third.lock_version)
    stats = {s.question.number: s for s in question_stats.statistics(world.cycle)}
    states = [load_state(db.session.get(Submission, s.id)) for s in (world.submission_a, world.submission_b, third)]
    assert not states[2].applies[87] and states[2].values[87] == 3  # stored, switched off
    for q in load_structure(world.cycle.version).questions:
        total = scoring.Score()
        for state in states:
            one = scoring.compute([q], state.values, state.applies, world.cycle.version.scale).overall
            total.count, total.points, total.full = (
                total.count + one.count,
                total.points + one.points,
                total.full + one.full,
            )
        assert (stats[q.number].mean, stats[q.number].full_rate) == (total.mean, total.full_rate), q.number
    assert stats[1].counts == {1: 2, 3: 1} and stats[3].counts == {3: 2, 1: 1}
    assert sum(stats[87].counts.values()) == 2  # the third's switched-off answer is not counted
    web = _web(make_web)
    page = web.get(f"/checklists/stats?cycle={world.cycle.id}&filter=most1").get_data(as_text=True)
    assert 'id="q-1"' in page and 'id="q-2"' not in page
    response = web.post(
        f"/checklists/stats/{world.cycle.id}/questions/1/flag", {"reason": "全機関が1点：設問の意図が伝わっていない"}
    )
    assert response.status_code == 303
    page = web.get(f"/checklists/stats?cycle={world.cycle.id}&filter=flagged").get_data(as_text=True)
    assert "設問の意図が伝わっていない" in page and 'id="q-3"' not in page
    csv_text = web.get(f"/checklists/stats.csv?cycle={world.cycle.id}").get_data(as_text=True)
    assert "設問番号" in csv_text and "設問の意図が伝わっていない" in csv_text
    assert web.post(f"/checklists/stats/{world.cycle.id}/questions/1/flag", {"reason": ""}).status_code == 303
    flagged = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "question.flagged"))
    assert flagged is not None


def test_the_comparison_table_shows_each_kind_of_change(ctx, world, make_web):
    from tests.test_review import submit_answers

    submit_answers(world.agency, world.submission_a)
    draft = _draft(world)
    q7, q8, q9, q10 = (_question(draft, n) for n in (7, 8, 9, 10))
    act(revisions.edit_draft, draft, world.center, Edit("text", key=q7.key, text=q7.text + "（年1回以上）"))
    act(revisions.edit_draft, draft, world.center, Edit("split", key=q8.key, text="分割した後半の設問"))
    act(revisions.edit_draft, draft, world.center, Edit("merge", key=q9.key, other=q10.key))
    goal = load_structure(draft).goals_by_number[1].goal
    act(revisions.edit_draft, draft, world.center, Edit("add_item", key=goal.key, text="新しい確認項目", flag=True))
    page = _web(make_web).get(f"/checklists/{draft.id}/comparison").get_data(as_text=True)
    kinds = {"same": "同一", "reworded": "文言修正", "split": "分割", "merged": "統合", "added": "新設"}
    for code, label in kinds.items():
        assert f"comparison-row--{code}" in page and label in page
    assert '<ins class="diff-new">（年1回以上）</ins>' in page
    assert "起案" in page and "決裁" in page
    left, right = revisions.word_diff("委託先を確認している", "委託先を年1回確認している")
    assert right == [(False, "委託先を"), (True, "年1回"), (False, "確認している")] and all(not c for c, _ in left)


def _submit_next(user, submission, overrides):
    """Submit a self-check of the new version: every question 3 but ``overrides``."""
    from agencyapp.models import Submission
    from agencyapp.services.selfcheck import save_all, submit
    from tests.test_selfcheck import all_threes

    act(save_all, user, submission, {**all_threes(submission), **overrides}, submission.lock_version)
    submission = db.session.get(Submission, submission.id)
    act(submit, user, submission, submission.lock_version)
    db.session.expire_all()
    return db.session.get(Submission, submission.id)


def _next_year_with(world, draft_edits):
    """Agency A's self-check submitted this year; a next version with ``draft_edits`` published; next year's
    cycle opened with it. Returns (draft, next cycle, agency A's next self-check)."""
    from tests.factories import make_cycle, submission_of
    from tests.test_review import submit_answers

    world.submission_a = submit_answers(world.agency, world.submission_a)
    world.submission_b = submit_answers(world.agency_b, world.submission_b)
    draft = _draft(world)
    for edit in draft_edits(draft):
        act(revisions.edit_draft, draft, world.center, edit)
    act(revisions.publish, draft, world.center)
    units = [world.unit_a, world.unit_b]
    cycle = make_cycle(units, fiscal_year=world.cycle.fiscal_year + 1, due_on=date(2028, 1, 31), version=draft)
    return draft, cycle, submission_of(cycle, world.unit_a), submission_of(cycle, world.unit_b)


def test_priority_drop_follows_the_mapping_across_a_version_change(ctx, world):
    """A new question answered 1 lowers this year's mean, but the drop compares only the questions the two
    years share: the same answers to them are no drop; a lower answer to a renumbered question is."""
    from agencyapp.services import hearings

    def edits(draft):
        first = load_structure(draft).questions[0]
        goal = load_structure(draft).goals_by_number[first.goal_number].goal
        return [
            Edit("question_number", key=first.key, number=900),
            Edit("add_item", key=goal.key, text="新しい確認項目", flag=True),
        ]

    draft, cycle, mine, theirs = _next_year_with(world, edits)
    added = next(line.new[0] for line in revisions.mapping_lines(draft) if line.old is None)
    same = {"answer-900": "1", f"answer-{added.number}": "1"}  # old Q1 answered 1 again, the new one 1
    mine = _submit_next(world.agency, mine, {**same, "answer-87": "2"})
    theirs = _submit_next(world.agency_b, theirs, {**same, "answer-87": "2", "answer-2": "1"})  # Q2: 3 last year
    assert mine.score_mean < world.submission_a.score_mean  # the new question pulls the mean down
    rows = {row.submission.unit_id: row for row in hearings.candidates(world.center, cycle, {})}
    facts = rows[world.unit_a.id].facts
    assert facts.compared_mean == facts.last_year_mean == world.submission_a.score_mean
    assert "drop" not in {r.key for r in rows[world.unit_a.id].priority.reasons}
    facts = rows[world.unit_b.id].facts
    assert facts.last_year_mean == world.submission_b.score_mean and facts.compared_mean < facts.last_year_mean
    drop = next(r for r in rows[world.unit_b.id].priority.reasons if r.key == "drop")
    assert drop.amount == round(facts.last_year_mean - facts.compared_mean, 2) > 0
    # The ranking in SQL agrees with the reasons shown.
    page, _ = hearings.candidate_page(world.center, cycle, {}, sort="score")
    assert page[0].submission.unit_id == world.unit_b.id


def test_a_units_history_follows_the_mapping_and_marks_the_change(ctx, world, make_web):
    def edits(draft):
        first = load_structure(draft).questions[0]
        return [
            Edit("text", key=first.key, text=first.text + "（改）"),
            Edit("question_number", key=first.key, number=900),
        ]

    draft, cycle, mine, _ = _next_year_with(world, edits)
    _submit_next(world.agency, mine, {"answer-900": "2"})
    web = _web(make_web)
    page = web.get(f"/oversight/units/{world.unit_a.id}?cycle={cycle.id}").get_data(as_text=True)
    assert "設問ごとの推移を表示" in page and "（改訂）" not in page  # asked for, not on every opening
    page = web.get(f"/oversight/units/{world.unit_a.id}?cycle={cycle.id}&history=1").get_data(as_text=True)
    assert "<html" in page and "（改訂）" in page  # without JavaScript: the whole page with the table
    fragment = web.get(
        f"/oversight/units/{world.unit_a.id}?cycle={cycle.id}&history=1", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "<html" not in fragment and "（改訂）" in fragment
    page = fragment
    row = page.split("設問900</th>", 1)[1].split("</tr>", 1)[0]
    assert row.startswith("<td>1 ") and "文言修正" in row and row.endswith("<td>2</td>")


def test_the_comparison_and_the_statistics_as_xlsx(ctx, world, make_web):
    """Read back with openpyxl: the changed words in bold underline, A4 landscape fit to width with the
    headings repeated, the approval boxes; the statistics with the same figures as the page."""
    import io

    import openpyxl
    from openpyxl.cell.rich_text import CellRichText

    from agencyapp.services import question_stats
    from tests.test_review import submit_answers

    submit_answers(world.agency, world.submission_a)
    draft = _draft(world)
    q7, q8 = _question(draft, 7), _question(draft, 8)
    act(revisions.edit_draft, draft, world.center, Edit("text", key=q7.key, text=q7.text + "（年1回以上）"))
    act(revisions.edit_draft, draft, world.center, Edit("split", key=q8.key, text="分割した後半の設問"))
    web = _web(make_web)
    response = web.get(f"/checklists/{draft.id}/comparison.xlsx")
    assert response.status_code == 200 and "spreadsheetml" in response.content_type
    book = openpyxl.load_workbook(io.BytesIO(response.data), rich_text=True)
    sheet = book["新旧対照表"]
    assert sheet.page_setup.orientation == "landscape" and str(sheet.page_setup.paperSize) == sheet.PAPERSIZE_A4
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.page_setup.fitToWidth == 1
    assert sheet.print_title_rows == "$1:$3"
    rows = {r[0].value: r for r in sheet.iter_rows(min_row=4) if isinstance(r[0].value, int)}
    reworded = rows[7][3].value
    assert isinstance(reworded, CellRichText)
    changed = [block.text for block in reworded if not isinstance(block, str) and block.font.u == "single"]
    assert changed == ["（年1回以上）"] and rows[7][4].value == "文言修正"
    assert rows[8][4].value == "分割" and any(
        m.min_col == 1 and m.min_row == rows[8][0].row and m.max_row == m.min_row + 1 for m in sheet.merged_cells.ranges
    )
    expected = "／".join("1" if e["value"] == 3 else "0" for e in national_version().scale)
    assert rows[8][7].value == expected  # last year's answers of Q8: one unit answered 3
    labels = [c.value for r in sheet.iter_rows() for c in r if isinstance(c.value, str)]
    assert {"起案", "審査", "決裁"} <= set(labels)

    response = web.get(f"/checklists/stats.xlsx?cycle={world.cycle.id}&filter=most1")
    sheet = openpyxl.load_workbook(io.BytesIO(response.data))["設問別の集計"]
    header = [c.value for c in sheet[2]]
    figures = {r[0]: dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=3, values_only=True)}
    stats = {s.question.number: s for s in question_stats.statistics(world.cycle)}
    assert set(figures) == {1}  # the filter of the page: most answered 1
    assert figures[1]["平均点"] == stats[1].mean and figures[1]["回答数"] == stats[1].answered == 1


def test_the_statistics_page_needs_the_same_statements_however_many_units(ctx, world, make_web, count_statements):
    """Cold (figures computed after a change) and warm (kept), the statement count does not grow with the
    units that submitted."""
    from agencyapp.services import figure_cache
    from agencyapp.services.cycles import add_targets
    from tests import factories
    from tests.test_review import submit_answers

    submit_answers(world.agency, world.submission_a)
    web = _web(make_web)
    path = f"/checklists/stats?cycle={world.cycle.id}&sort=trend"
    figure_cache.clear()
    with count_statements() as small_cold:
        assert web.get(path).status_code == 200
    with count_statements() as small:
        assert web.get(path).status_code == 200
    units = [factories.make_unit(world.ministry_b, f"st-{i}", f"集計機関{i:02d}", 500 + i) for i in range(8)]
    db.session.commit()
    act(add_targets, world.cycle, units)
    for unit in units:
        user = factories.make_user(f"st-{unit.code}", "agency", unit=unit)
        db.session.commit()
        submit_answers(user, factories.submission_of(world.cycle, unit))
    figure_cache.clear()
    with count_statements() as large_cold:
        assert web.get(path).status_code == 200
    with count_statements() as large:
        assert web.get(path).status_code == 200
    assert large_cold.count == small_cold.count, (small_cold, large_cold)
    assert large.count == small.count < small_cold.count, (small, large)


def test_a_questions_notes_are_searchable_and_its_points_linked(ctx, world, make_web):
    from tests.test_review import issue, submit_answers

    world.submission_a = submit_answers(world.agency, world.submission_a, {"note-1": "規程の改正中のため1点としました"})
    submit_answers(world.agency_b, world.submission_b, {"note-1": "設問の「定期的」の意味が不明です"})
    issue(world)  # the center issues the points it suggested for agency A (Q1 answered 1 among them)
    web = _web(make_web)
    page = web.get(f"/checklists/stats/{world.cycle.id}/questions/1").get_data(as_text=True)
    assert "備考（2件）" in page and "規程の改正中" in page and "意味が不明" in page
    assert "/improvements/points/" in page and "この年度の改善点はありません" not in page
    page = web.get(f"/checklists/stats/{world.cycle.id}/questions/1?q=定期的").get_data(as_text=True)
    assert "備考（1件）" in page and "意味が不明" in page and "規程の改正中" not in page
    page = web.get(f"/checklists/stats/{world.cycle.id}/questions/1?q=%25").get_data(as_text=True)
    assert "備考（0件）" in page  # a LIKE wildcard is searched for as itself
    assert web.get(f"/checklists/stats/{world.cycle.id}/questions/1?page=9").status_code in (302, 303)
