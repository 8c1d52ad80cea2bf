"""Starting a self-check from last year's answers: carried through a changed checklist version (copy,
reference only, empty), marked until confirmed, counted as unanswered for submission; last year's answer,
points and findings beside each question; a rise from 1 to 3 asks for a note."""

from datetime import date

import pytest
from sqlalchemy import select

from agencyapp.extensions import db
from agencyapp.models import Answer, AuditEvent, Submission
from agencyapp.services import DomainError, carryover, review, revisions
from agencyapp.services.checklists import load_structure
from agencyapp.services.revisions import Edit
from agencyapp.services.selfcheck import load_state, save_all, save_answer, submit
from tests.factories import PASSWORD, act, make_cycle, national_version, submission_of
from tests.test_review import issue, submit_answers
from tests.test_selfcheck import all_threes


def _reload(submission):
    db.session.expire_all()
    return db.session.get(Submission, submission.id)


@pytest.fixture
def next_year(ctx, world):
    """Agency A's self-check of this year submitted (Q1 answered 1 with a note) and accepted, with its
    improvement points issued; next year's version reworded Q7, split Q8, merged Q10 into Q9 and added a
    question; next year's cycle opened with it."""
    world.submission_a = submit_answers(world.agency, world.submission_a, {"note-7": "年1回点検している"})
    issue(world)
    accepted = _reload(world.submission_a)
    act(review.accept_submission, world.center, accepted, accepted.lock_version)
    draft = act(revisions.start_draft, national_version(), world.center, code="national-r9", fiscal_year=2027)
    structure = load_structure(draft)
    q6, q7, q8, q9, q10 = (structure.by_number[n] for n in (6, 7, 8, 9, 10))
    act(revisions.edit_draft, draft, world.center, Edit("text", key=q7.key, text=q7.text + "（年1回以上）"))
    act(revisions.edit_draft, draft, world.center, Edit("split", key=q8.key, text="分割した後半の設問"))
    act(revisions.edit_draft, draft, world.center, Edit("merge", key=q9.key, other=q10.key))
    goal = load_structure(draft).goals_by_number[q6.goal_number].goal
    act(revisions.edit_draft, draft, world.center, Edit("add_item", key=goal.key, text="新しい確認項目", flag=True))
    act(revisions.publish, draft, world.center)
    cycle = make_cycle([world.unit_a, world.unit_b], fiscal_year=2027, due_on=date(2028, 1, 31), version=draft)
    world.next_cycle, world.draft = cycle, draft
    return submission_of(cycle, world.unit_a)


def _numbers(draft):
    """This year's numbers of last year's Q7 (reworded), Q8's two parts, Q9+Q10 (merged) and the new one."""
    lines = {line.old.number: line for line in revisions.mapping_lines(draft) if line.old is not None}
    added = next(line.new[0].number for line in revisions.mapping_lines(draft) if line.old is None)
    return lines[7].new[0].number, [q.number for q in lines[8].new], lines[9].new[0].number, added


def test_carried_through_the_mapping_and_marked_until_confirmed(next_year, world):
    submission = next_year
    done = act(carryover.start_from_last_year, world.agency, submission, submission.lock_version)
    submission = _reload(submission)
    state = load_state(submission)
    reworded, split, merged, added = _numbers(world.draft)
    assert state.values[1] == 1 and state.values[reworded] == 3  # copied (equal)
    assert state.answers[reworded].note == "年1回点検している"  # the note comes with the answer
    assert all(state.values[n] == 3 for n in split)  # split: superset → copied to both parts
    assert state.values.get(merged) is None and state.values.get(added) is None  # reference only; new
    assert done == {"copied": len(state.carried), "reference": 1}
    assert state.carried == {n for n, v in state.values.items() if v is not None}
    assert submission.carried_from_id == world.submission_a.id and submission.status == "draft"
    # Carried answers count as unanswered: progress 0, submission refused.
    assert state.progress()[0] == 0
    with pytest.raises(DomainError, match="前年度の回答で、まだ確認していません"):
        act(submit, world.agency, submission, submission.lock_version)
    # One question confirmed; changing another clears its mark too.
    assert act(carryover.confirm, world.agency, submission, [2]) == 1
    submission = _reload(submission)
    act(save_answer, world.agency, submission, 3, "2", "", submission.lock_version)
    state = load_state(_reload(submission))
    assert 2 not in state.carried and 3 not in state.carried and state.values[3] == 2
    assert state.progress()[0] == 2
    # A whole 大分類 confirmed at once.
    first = state.structure.categories[0]
    in_first = {q.number for q in first.all_questions()} & state.carried
    assert act(carryover.confirm, world.agency, _reload(submission), [q.number for q in first.all_questions()]) == len(
        in_first
    )
    assert not {q.number for q in first.all_questions()} & load_state(_reload(submission)).carried
    events = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == submission.id)).all()
    assert "answers.carried_over" in events and events.count("answers.carried_confirmed") == 2


def test_carry_over_is_refused_once_answers_exist_and_without_an_accepted_year(next_year, world):
    submission = next_year
    act(save_answer, world.agency, submission, 1, "3", "", submission.lock_version)
    submission = _reload(submission)
    with pytest.raises(DomainError, match="引き継げるのは、まだ回答を始めていない"):
        act(carryover.start_from_last_year, world.agency, submission, submission.lock_version)
    theirs = submission_of(world.next_cycle, world.unit_b)  # B's last year was never submitted nor accepted
    with pytest.raises(DomainError, match="引き継げる前年度以前の自己点検"):
        act(carryover.start_from_last_year, world.agency_b, theirs, theirs.lock_version)
    assert db.session.scalar(select(Answer.id).where(Answer.submission_id == theirs.id)) is None


def test_last_years_answer_points_and_the_rise_that_asks_for_a_note(next_year, world, make_web):
    submission = next_year
    context = carryover.last_year(submission)
    assert context.by_number[1].value == 1 and context.by_number[1].points  # Q1: answered 1, a point issued
    assert context.by_number[_numbers(world.draft)[0]].change == "文言修正"
    web = make_web()
    web.login("agency-a", PASSWORD)
    page = web.get(f"/submissions/{submission.id}").get_data(as_text=True)
    assert "前年度の回答を引き継ぐ" in page and "前年度：<strong>1 " in page and "改善点：" in page
    response = web.post(f"/submissions/{submission.id}/carry-over", {"lock_version": str(submission.lock_version)})
    assert response.status_code == 303
    page = web.get(f"/submissions/{submission.id}").get_data(as_text=True)
    assert "前年度の回答・未確認" in page and "この大分類をすべて確認" in page
    assert "前年度の回答を引き継ぐ" not in page
    # Every question answered 3 and confirmed: Q1 rose from 1 to 3 without a note, so submission asks for one.
    submission = _reload(submission)
    form = {**all_threes(submission), "answer-" + str(_numbers(world.draft)[2]): "3"}
    form = {k: v for k, v in form.items() if int(k.split("-")[1]) in load_structure(world.draft).by_number}
    act(save_all, world.agency, submission, form, submission.lock_version)
    submission = _reload(submission)
    act(carryover.confirm, world.agency, submission, list(load_structure(world.draft).by_number))
    submission = _reload(submission)
    page = web.get(f"/submissions/{submission.id}/submit").get_data(as_text=True)
    assert "備考の記入のお願い（1問）" in page and 'href="/submissions/' in page and "#q-1" in page
    page = web.get(f"/submissions/{submission.id}?cat=1").get_data(as_text=True)
    assert 'id="q-1-rise"' in page and 'aria-describedby="note-1-count q-1-rise"' in page
    act(save_answer, world.agency, submission, 1, "3", "規程を改正し、研修で周知した", submission.lock_version)
    page = web.get(f"/submissions/{submission.id}/submit").get_data(as_text=True)
    assert "備考の記入のお願い" not in page
    submission = _reload(submission)
    act(submit, world.agency, submission, submission.lock_version)
    assert _reload(submission).status == "submitted"


def test_the_confirm_buttons_save_the_form_first(next_year, world, make_web):
    """Without JavaScript, 「確認」 posts the whole form: what was typed is saved, then the question confirmed."""
    submission = next_year
    act(carryover.start_from_last_year, world.agency, submission, submission.lock_version)
    submission = _reload(submission)
    web = make_web()
    web.login("agency-a", PASSWORD)
    web.get(f"/submissions/{submission.id}")
    response = web.post(
        f"/submissions/{submission.id}/confirm-carried",
        {"lock_version": str(submission.lock_version), "confirm": "2", "note-4": "口頭で確認", "cat": "1"},
    )
    assert response.status_code == 303 and "#q-2" in response.headers["Location"]
    state = load_state(_reload(submission))
    assert 2 not in state.carried and state.answers[4].note == "口頭で確認" and 4 not in state.carried
    other = make_web()
    other.login("agency-b", PASSWORD)
    assert other.post(f"/submissions/{submission.id}/confirm-carried", {"confirm": "3"}).status_code == 404


def test_the_print_layout_shows_every_answer_and_the_approval_boxes(ctx, world, make_web):
    submission = submit_answers(world.agency, world.submission_a, {"note-5": "手順書に記載"})
    web = make_web()
    web.login("agency-a", PASSWORD)
    page = web.get(f"/submissions/{submission.id}/print").get_data(as_text=True)
    structure = load_structure(submission.cycle.version)
    state = load_state(submission)
    rows = page.split("<tbody>", 1)[1]
    for q in structure.questions:
        value = state.values.get(q.number)
        shown = f"{value} {q.label(value)}" if state.applies[q.number] and value is not None else "該当なし（条件）"
        assert f"<tr><td>{q.number}</td>" in page and shown in page, q.number
    assert "手順書に記載" in page and "起案者" in page and "承認者" in page and "令和" in page
    assert "SHA-256" in page and "提出（第1版）" in page and rows
    # The ministry sees the same print of its own bureau; another agency does not.
    ministry = make_web()
    ministry.login("ministry-a", PASSWORD)
    assert ministry.get(f"/submissions/{submission.id}/print").status_code == 200
    other = make_web()
    other.login("agency-b", PASSWORD)
    assert other.get(f"/submissions/{submission.id}/print").status_code == 404


def test_the_improvement_request_prints_with_the_agencys_answers(ctx, world, make_web):
    from datetime import timedelta

    from agencyapp.formatting import today_tokyo
    from agencyapp.services import improvements

    world.submission_a = submit_answers(world.agency, world.submission_a)
    request_row = issue(world)
    point = request_row.points[0]
    act(
        improvements.answer_point,
        world.agency,
        point,
        "規程を改正して周知する",
        today_tokyo() + timedelta(days=40),
        "",
        None,
        point.lock_version,
    )
    web = make_web()
    web.login("agency-a", PASSWORD)
    page = web.get(f"/improvements/requests/{request_row.id}").get_data(as_text=True)
    assert "規程を改正して周知する" in page and "改善計画" in page and "未回答" in page  # the other point
    assert "起案者" in page and "承認者" in page
