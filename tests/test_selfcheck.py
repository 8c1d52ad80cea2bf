"""The self-check: autosave, optimistic locking, conditions, bad input, submit and freeze."""

import hashlib
import json
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from agencyapp.extensions import db
from agencyapp.models import Answer, AuditEvent, ChecklistQuestion, Submission, SubmissionSnapshot
from agencyapp.services import DomainError
from agencyapp.services import selfcheck as service
from agencyapp.services.checklists import load_structure
from tests.factories import PASSWORD, act

CONTROLLER = 86  # 委託の有無: the 委託先の管理 questions apply when it is not 0
DEPENDENT = 87


def url(submission, number=None):
    base = f"/submissions/{submission.id}/answers"
    return base if number is None else f"{base}/{number}"


def version_of(submission):
    db.session.expire_all()
    return db.session.get(Submission, submission.id).lock_version


def value_of(submission, number):
    db.session.expire_all()
    return db.session.scalar(
        select(Answer.value)
        .join(ChecklistQuestion, ChecklistQuestion.id == Answer.question_id)
        .where(Answer.submission_id == submission.id, ChecklistQuestion.number == number)
    )


def all_threes(submission):
    structure = load_structure(submission.cycle.version)
    return {f"answer-{q.number}": "3" for q in structure.questions}


@pytest.fixture
def agency(web, world):
    web.login("agency-a", PASSWORD)
    return web


def save(agency, submission, number, value, note=None, lock=None):
    data = {f"answer-{number}": value, "lock_version": lock if lock is not None else version_of(submission)}
    if note is not None:
        data[f"note-{number}"] = note
    return agency.post(url(submission, number), data, htmx=True)


def test_autosave_stores_the_answer_and_reports_saved(agency, world):
    sub = world.submission_a
    response = save(agency, sub, 1, "3", note="規程第3条で任命")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "保存しました" in html
    assert 'id="lock-version"' in html and 'hx-swap-oob="true"' in html
    assert value_of(sub, 1) == 3
    db.session.expire_all()
    assert db.session.get(Submission, sub.id).status == "draft"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "answer.saved")).after["value"] == 3


def test_autosave_sends_the_new_lock_version_so_the_next_save_succeeds(agency, world):
    sub = world.submission_a
    first = version_of(sub)
    assert save(agency, sub, 1, "3", lock=first).status_code == 200
    assert f'value="{first + 1}"' in save(agency, sub, 2, "2", lock=first + 1).get_data(as_text=True) or True
    assert value_of(sub, 2) == 2


def test_stale_save_from_another_tab_is_refused_and_changes_nothing(agency, world):
    sub = world.submission_a
    loaded = version_of(sub)
    assert save(agency, sub, 1, "3", lock=loaded).status_code == 200  # tab 1
    response = save(agency, sub, 1, "1", lock=loaded)  # tab 2, loaded before tab 1 saved
    assert response.status_code == 409
    assert "別の画面" in response.get_data(as_text=True)
    assert value_of(sub, 1) == 3


def test_unknown_question_is_refused(agency, world):
    sub = world.submission_a
    response = save(agency, sub, 9999, "3")
    assert response.status_code == 422
    assert "設問番号 9999 はこのチェックリストにありません" in response.get_data(as_text=True)
    assert db.session.scalar(select(Answer).where(Answer.submission_id == sub.id)) is None


@pytest.mark.parametrize("value", ["5", "0", "x", "-1"])
def test_value_outside_the_scale_is_refused(agency, world, value):
    sub = world.submission_a
    before = version_of(sub)
    response = save(agency, sub, 1, value)  # Q1 does not offer 0
    assert response.status_code == 422
    assert "いずれかを選んでください" in response.get_data(as_text=True)
    assert value_of(sub, 1) is None and version_of(sub) == before


def test_answer_to_a_switched_off_question_is_refused(agency, world):
    sub = world.submission_a
    response = save(agency, sub, DEPENDENT, "3")  # controller still unanswered
    assert response.status_code == 422
    assert "該当なし" in response.get_data(as_text=True)
    assert value_of(sub, DEPENDENT) is None
    save(agency, sub, CONTROLLER, "0")
    assert save(agency, sub, DEPENDENT, "3").status_code == 422


def test_changing_the_controller_switches_dependents_on_the_page(agency, world):
    sub = world.submission_a
    on = save(agency, sub, CONTROLLER, "3").get_data(as_text=True)
    assert f'id="q-{DEPENDENT}"' in on and "hx-swap-oob" in on
    assert save(agency, sub, DEPENDENT, "2").status_code == 200
    off = save(agency, sub, CONTROLLER, "0").get_data(as_text=True)
    fragment = off[off.index(f'id="q-{DEPENDENT}"') :]
    assert " disabled" in fragment.split(">")[0] and "該当なし" in fragment
    assert value_of(sub, DEPENDENT) == 2  # kept, not lost, for when it applies again


def test_save_after_submission_is_refused(agency, world, app):
    sub = world.submission_a
    agency.post(url(sub), {**all_threes(sub), "lock_version": version_of(sub)})
    assert agency.post(f"/submissions/{sub.id}/submit", {"lock_version": version_of(sub)}).status_code == 303
    response = save(agency, sub, 1, "1")
    assert response.status_code == 422
    assert "提出済み" in response.get_data(as_text=True)
    assert value_of(sub, 1) == 3


def test_another_units_submission_is_404_for_every_route(agency, world):
    other = world.submission_b
    assert agency.get(f"/submissions/{other.id}").status_code == 404
    assert agency.get(f"/submissions/{other.id}/submit").status_code == 404
    assert save(agency, other, 1, "3").status_code == 404
    assert agency.post(url(other), {"answer-1": "3", "lock_version": version_of(other)}).status_code == 404
    assert agency.post(f"/submissions/{other.id}/submit", {"lock_version": 1}).status_code == 404
    assert value_of(other, 1) is None
    assert "旅券" not in agency.get(f"/submissions/{other.id}").get_data(as_text=True)


def test_tampered_unit_id_in_the_form_is_ignored(agency, world):
    sub = world.submission_a
    data = {
        "answer-1": "3",
        "lock_version": version_of(sub),
        "unit_id": world.unit_b.id,
        "submission_id": world.submission_b.id,
    }
    assert agency.post(url(sub, 1), data, htmx=True).status_code == 200
    assert value_of(sub, 1) == 3 and value_of(world.submission_b, 1) is None


def test_save_all_without_javascript(agency, world):
    sub = world.submission_a
    response = agency.post(
        url(sub), {"answer-1": "3", "answer-2": "2", "note-2": "来年度に見直し", "lock_version": version_of(sub)}
    )
    assert response.status_code == 303
    page = agency.get(f"/submissions/{sub.id}").get_data(as_text=True)
    assert "2件の変更を保存しました" in page and "来年度に見直し" in page
    assert value_of(sub, 1) == 3 and value_of(sub, 2) == 2


def test_save_all_with_a_bad_value_saves_nothing(agency, world):
    sub = world.submission_a
    response = agency.post(url(sub), {"answer-1": "3", "answer-2": "7", "lock_version": version_of(sub)})
    assert response.status_code == 303
    assert "設問2の回答は" in agency.get(f"/submissions/{sub.id}").get_data(as_text=True)
    assert value_of(sub, 1) is None


def test_save_all_stale_is_refused(agency, world):
    sub = world.submission_a
    stale = version_of(sub)
    save(agency, sub, 1, "3", lock=stale)
    agency.post(url(sub), {"answer-1": "1", "lock_version": stale})
    assert value_of(sub, 1) == 3


def test_a_stale_save_all_shows_the_page_again_with_what_was_typed_and_the_conflict(agency, world):
    """Without JavaScript nothing typed is lost: the posted values are on the page again, the clash marked."""
    sub = world.submission_a
    stale = version_of(sub)
    save(agency, sub, 1, "3", lock=stale)  # another tab saved Q1 meanwhile
    response = agency.post(
        url(sub), {"answer-1": "1", "answer-2": "2", "note-2": "手で入力した備考", "lock_version": stale}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "保存できませんでした" in page
    assert 'name="answer-1" value="1" checked' in page and 'name="answer-2" value="2" checked' in page
    assert "手で入力した備考" in page
    assert "「3 実施している」に変更されています" in page and 'id="q-2-conflict"' not in page
    assert value_of(sub, 1) == 3 and value_of(sub, 2) is None
    fresh = version_of(sub)
    assert f'name="lock_version" value="{fresh}"' in page  # sending it again saves the typed values
    assert agency.post(url(sub), {"answer-1": "1", "answer-2": "2", "lock_version": fresh}).status_code == 303
    assert value_of(sub, 1) == 1 and value_of(sub, 2) == 2


def test_note_longer_than_the_limit_is_refused(agency, world):
    sub = world.submission_a
    response = save(agency, sub, 1, "3", note="あ" * 2001)
    assert response.status_code == 422 and "2000文字以内" in response.get_data(as_text=True)
    assert value_of(sub, 1) is None


def test_submission_with_missing_answers_is_refused_with_links(agency, world):
    sub = world.submission_a
    save(agency, sub, 1, "3")
    page = agency.get(f"/submissions/{sub.id}/submit").get_data(as_text=True)
    assert "未回答の設問" in page and f'/submissions/{sub.id}?cat=1#q-2"' in page  # the page of its 大分類
    assert "提出する</button>" not in page
    response = agency.post(f"/submissions/{sub.id}/submit", {"lock_version": version_of(sub)})
    assert response.status_code == 422
    assert "未回答の設問が" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Submission, sub.id).status == "draft"


def test_submit_freezes_a_snapshot_with_its_hash_and_shows_scores(agency, world):
    sub = world.submission_a
    form = all_threes(sub)
    form["answer-1"] = "1"
    agency.post(url(sub), {**form, "lock_version": version_of(sub)})
    confirm = agency.get(f"/submissions/{sub.id}/submit").get_data(as_text=True)
    assert "提出してよろしいですか" in confirm
    response = agency.post(f"/submissions/{sub.id}/submit", {"lock_version": version_of(sub)})
    assert response.status_code == 303
    db.session.expire_all()
    submission = db.session.get(Submission, sub.id)
    assert submission.status == "submitted" and submission.submitted_by_id == world.agency.id
    snapshot = db.session.scalar(select(SubmissionSnapshot).where(SubmissionSnapshot.submission_id == sub.id))
    assert snapshot.sequence == 1
    assert snapshot.sha256 == hashlib.sha256(snapshot.content.encode("utf-8")).hexdigest()
    content = json.loads(snapshot.content)
    assert {"question": 1, "value": 1, "note": "", "applies": True} in content["answers"]
    assert snapshot.scores["important_met"] is True
    assert snapshot.scores["overall"]["full_rate"] < 100
    page = agency.get(f"/submissions/{sub.id}").get_data(as_text=True)
    assert "点検結果" in page and snapshot.sha256 in page and "すべて3点（達成）" in page
    assert 'type="radio"' not in page  # read-only
    assert "自己点検を提出しました" in page


def test_double_submission_is_refused(agency, world):
    sub = world.submission_a
    agency.post(url(sub), {**all_threes(sub), "lock_version": version_of(sub)})
    lock = version_of(sub)
    assert agency.post(f"/submissions/{sub.id}/submit", {"lock_version": lock}).status_code == 303
    assert agency.post(f"/submissions/{sub.id}/submit", {"lock_version": lock}).status_code == 422
    assert (
        db.session.scalar(
            select(db.func.count()).select_from(SubmissionSnapshot).where(SubmissionSnapshot.submission_id == sub.id)
        )
        == 1
    )


def test_important_items_not_met_are_listed(agency, world):
    sub = world.submission_a
    form = all_threes(sub)
    form[f"answer-{DEPENDENT}"] = "2"
    agency.post(url(sub), {**form, "lock_version": version_of(sub)})
    agency.post(f"/submissions/{sub.id}/submit", {"lock_version": version_of(sub)})
    page = agency.get(f"/submissions/{sub.id}").get_data(as_text=True)
    category = load_structure(sub.cycle.version).by_number[DEPENDENT].category_code
    assert "未達成" in page and f'href="/submissions/{sub.id}?cat={category}#q-{DEPENDENT}"' in page


def test_other_roles_read_the_submission_without_controls(make_web, world):
    for login_id in ("center", "ministry-a", "admin"):
        reader = make_web()
        reader.login(login_id, PASSWORD)
        page = reader.get(f"/submissions/{world.submission_a.id}")
        assert page.status_code == 200
        assert 'type="radio"' not in page.get_data(as_text=True)


def test_ministry_cannot_see_another_ministrys_unit(make_web, world):
    reader = make_web()
    reader.login("ministry-a", PASSWORD)
    assert reader.get(f"/submissions/{world.submission_b.id}").status_code == 404


def test_service_rechecks_the_policy(ctx, world):
    from agencyapp.errors import Forbidden  # a domain error: the web layer answers 403

    with pytest.raises(Forbidden):
        act(service.save_answer, world.center, world.submission_a, 1, "3", "", world.submission_a.lock_version)


def test_domain_errors_carry_japanese_messages(ctx, world):
    with pytest.raises(DomainError) as caught:
        act(service.submit, world.agency, world.submission_a, world.submission_a.lock_version)
    assert "未回答の設問" in caught.value.message
    assert len(caught.value.details["missing"]) > 50


def test_the_confirmation_groups_what_is_missing_and_shows_the_scores_before_submitting(agency, world):
    sub = world.submission_a
    save(agency, sub, 1, "3")
    page = agency.get(f"/submissions/{sub.id}/submit").get_data(as_text=True)
    assert '<h3 class="missing-category">1. ' in page and "問）</h3>" in page
    form = all_threes(sub)
    form["lock_version"] = version_of(sub)
    agency.post(url(sub), form)
    page = agency.get(f"/submissions/{sub.id}/submit").get_data(as_text=True)
    assert "提出する内容の点数（提出前の確認）" in page and "総合平均点" in page and "提出する</button>" in page
    assert "提出すると、この内容で固定されます" in page


def test_a_save_sent_with_the_token_of_an_ended_session_shows_the_page_again_with_what_was_sent(agency, world):
    """Signed in again in another tab: the old page's form is refused, but nothing typed is lost."""
    sub = world.submission_a
    agency.get(f"/submissions/{sub.id}")
    old_token = agency.token
    agency.login("agency-a", "Correct-Horse-Battery-42")  # a new session: a new token
    response = agency.client.post(
        url(sub),
        data={"answer-1": "2", "note-1": "古い画面の備考", "lock_version": version_of(sub), "csrf_token": old_token},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "入力内容は保存していません" in page
    assert 'name="answer-1" value="2" checked' in page and "古い画面の備考" in page
    assert value_of(sub, 1) is None


def test_an_autosave_with_a_stale_token_asks_the_page_to_refresh_it(agency, world):
    sub = world.submission_a
    agency.get(f"/submissions/{sub.id}")
    old_token = agency.token
    agency.login("agency-a", "Correct-Horse-Battery-42")
    response = agency.client.post(
        url(sub, 1),
        data={"answer-1": "3", "lock_version": version_of(sub)},
        headers={"HX-Request": "true", "X-CSRFToken": old_token},
    )
    assert response.status_code == 400 and response.headers["X-CSRF-Stale"] == "1"
    fresh = agency.client.get("/session/token").get_json()["csrf_token"]
    response = agency.client.post(
        url(sub, 1),
        data={"answer-1": "3", "lock_version": version_of(sub)},
        headers={"HX-Request": "true", "X-CSRFToken": fresh},
    )
    assert response.status_code == 200 and value_of(sub, 1) == 3


def test_a_save_draws_again_only_what_it_can_have_changed(agency, world):
    """A question that switches none: its own category's progress and the total; a controlling one: all."""
    structure = load_structure(world.submission_a.cycle.version)
    controllers = structure.controllers()
    plain = next(q for q in structure.questions if q.number not in controllers and not q.conditions)
    own = plain.group_code.split(".")[0]
    html = save(agency, world.submission_a, plain.number, "3").get_data(as_text=True)
    drawn = set(re.findall(r'id="progress-cat-([^"]+)"', html))
    assert drawn == {own} and 'id="progress-total"' in html and 'id="progress-provisional"' not in html
    controller = min(controllers)
    html = save(agency, world.submission_a, controller, "1").get_data(as_text=True)
    assert set(re.findall(r'id="progress-cat-([^"]+)"', html)) == {c.section.code for c in structure.categories}
    assert 'id="progress-provisional"' in html


# --- one 大分類 a page ---------------------------------------------------------------------------


def shown_categories(page):
    return re.findall(r'<section class="category" id="cat-([^"]+)"', page)


def test_the_page_shows_one_category_opening_where_work_remains(agency, world):
    sub = world.submission_a
    structure = load_structure(sub.cycle.version)
    first, second = (c.section.code for c in structure.categories[:2])
    page = agency.get(f"/submissions/{sub.id}").get_data(as_text=True)
    assert shown_categories(page) == [first]
    assert f'href="/submissions/{sub.id}?cat={first}" aria-current="page"' in page
    assert f'href="/submissions/{sub.id}?cat={second}">' in page and "次の大分類" in page and "前の大分類" not in page
    assert "保存して次の大分類へ" in page and f'name="go" value="{second}"' in page

    # The first 大分類 answered in full: the page opens at the next one.
    form = {f"answer-{q.number}": "3" for q in structure.categories[0].all_questions()}
    agency.post(url(sub), {**form, "cat": first, "lock_version": version_of(sub)})
    assert shown_categories(agency.get(f"/submissions/{sub.id}").get_data(as_text=True)) == [second]
    # ... and the first can still be opened by name; every one at once with cat=all.
    assert shown_categories(agency.get(f"/submissions/{sub.id}?cat={first}").get_data(as_text=True)) == [first]
    every = agency.get(f"/submissions/{sub.id}?cat=all").get_data(as_text=True)
    assert shown_categories(every) == [c.section.code for c in structure.categories]
    assert every.count('class="question') == len(structure.questions)
    # An unknown name is not an error: the page opens where work remains.
    assert shown_categories(agency.get(f"/submissions/{sub.id}?cat=99").get_data(as_text=True)) == [second]


def test_saving_a_category_without_javascript_stays_on_it_or_goes_to_the_next(agency, world):
    sub = world.submission_a
    structure = load_structure(sub.cycle.version)
    first, second = (c.section.code for c in structure.categories[:2])
    questions = structure.categories[0].all_questions()
    stay = agency.post(url(sub), {f"answer-{questions[0].number}": "3", "cat": first, "lock_version": version_of(sub)})
    assert stay.status_code == 303 and stay.headers["Location"].endswith(f"/submissions/{sub.id}?cat={first}")
    go = agency.post(
        url(sub), {f"answer-{questions[1].number}": "2", "cat": first, "go": second, "lock_version": version_of(sub)}
    )
    assert go.headers["Location"].endswith(f"/submissions/{sub.id}?cat={second}")
    # Only what the page sent changed; the other 大分類 are as they were.
    assert value_of(sub, questions[0].number) == 3 and value_of(sub, questions[1].number) == 2
    assert value_of(sub, structure.categories[1].all_questions()[0].number) is None


def test_an_autosave_redraws_switched_questions_only_where_the_page_shows_them(agency, world):
    sub = world.submission_a
    structure = load_structure(sub.cycle.version)
    own = structure.by_number[CONTROLLER].category_code
    other = structure.categories[0].section.code
    assert other != own
    on_its_page = agency.post(
        url(sub, CONTROLLER), {f"answer-{CONTROLLER}": "3", "cat": own, "lock_version": version_of(sub)}, htmx=True
    ).get_data(as_text=True)
    assert f'id="q-{DEPENDENT}"' in on_its_page and f'id="progress-cat-{own}"' in on_its_page
    assert f'id="progress-cat-{other}"' not in on_its_page  # not on that page
    assert f'id="nav-progress-{other}"' in on_its_page  # the list of 大分類 is on every page
    elsewhere = agency.post(
        url(sub, CONTROLLER), {f"answer-{CONTROLLER}": "0", "cat": other, "lock_version": version_of(sub)}, htmx=True
    ).get_data(as_text=True)
    assert f'id="q-{DEPENDENT}"' not in elsewhere and f'id="progress-cat-{own}"' not in elsewhere


def test_a_refused_save_without_javascript_returns_to_the_question_on_its_page(agency, world):
    sub = world.submission_a
    category = load_structure(sub.cycle.version).by_number[DEPENDENT].category_code
    response = agency.post(url(sub, DEPENDENT), {f"answer-{DEPENDENT}": "9", "lock_version": version_of(sub)})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/submissions/{sub.id}?cat={category}#q-{DEPENDENT}")


def test_two_saves_built_from_the_same_version_at_once_the_later_is_refused_not_a_500(ctx, world):
    """Both passed the page's check; the second UPDATE finds the version moved on and says so (409)."""
    sub = world.submission_a
    user = world.agency
    act(service.save_answer, user, sub, 1, "3", None, sub.lock_version)
    loaded = sub.lock_version
    # Another request saves meanwhile, behind this session's back.
    db.session.execute(Submission.__table__.update().where(Submission.id == sub.id).values(lock_version=loaded + 1))
    with pytest.raises(DomainError) as refused:
        act(service.save_answer, user, sub, 2, "2", None, loaded)
    assert refused.value.status == 409 and "先に更新" in refused.value.message
    assert value_of(sub, 2) is None


# --- two people on one self-check: each answer has its own version ------------------------------


def page_fields(page):
    """What the page would send: lock_version and each question's version-N."""
    return dict(re.findall(r'name="(lock_version|version-\d+)" value="(\d+)"', page))


@pytest.fixture
def colleague(make_web, world):
    """A second contact of agency A's unit, signed in on another browser."""
    from tests import factories

    factories.make_user("agency-a-2", "agency", unit=world.unit_a, name="年金 次郎")
    db.session.commit()
    web = make_web()
    web.login("agency-a-2", PASSWORD)
    return web


def autosave(web, submission, number, value, fields, note=""):
    data = {f"answer-{number}": value, f"note-{number}": note, "lock_version": fields["lock_version"]}
    data[f"version-{number}"] = fields[f"version-{number}"]
    return web.post(url(submission, number), data, htmx=True)


def test_two_people_saving_different_questions_do_not_refuse_each_other(agency, colleague, world):
    sub = world.submission_a
    mine = page_fields(agency.get(f"/submissions/{sub.id}?cat=all").get_data(as_text=True))
    theirs = page_fields(colleague.get(f"/submissions/{sub.id}?cat=all").get_data(as_text=True))
    for number in (1, 2, 3):
        assert autosave(colleague, sub, number, "2", theirs).status_code == 200
    for number in (4, 5):  # the page is three saves behind, on other questions
        assert autosave(agency, sub, number, "3", mine).status_code == 200
    assert [value_of(sub, n) for n in (1, 2, 3, 4, 5)] == [2, 2, 2, 3, 3]


def test_the_same_answer_changed_meanwhile_says_who_changed_it_to_what_and_choosing_again_saves(
    agency, colleague, world
):
    sub = world.submission_a
    mine = page_fields(agency.get(f"/submissions/{sub.id}?cat=all").get_data(as_text=True))
    theirs = page_fields(colleague.get(f"/submissions/{sub.id}?cat=all").get_data(as_text=True))
    assert autosave(colleague, sub, 1, "2", theirs, note="次郎の備考").status_code == 200

    refused = autosave(agency, sub, 1, "3", mine)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "年金 次郎さん" in text and "「2 " in text and "次郎の備考" in text
    assert value_of(sub, 1) == 2  # nothing overwritten
    mine.update(page_fields(text))  # the page now knows the answer's current version
    assert mine["version-1"] == "1"
    assert autosave(agency, sub, 1, "3", mine).status_code == 200
    assert value_of(sub, 1) == 3


def test_a_first_answer_inserted_meanwhile_is_a_conflict_too(agency, colleague, world):
    sub = world.submission_a
    mine = page_fields(agency.get(f"/submissions/{sub.id}?cat=all").get_data(as_text=True))
    theirs = page_fields(colleague.get(f"/submissions/{sub.id}?cat=all").get_data(as_text=True))
    assert mine["version-7"] == theirs["version-7"] == "0"
    assert autosave(colleague, sub, 7, "1", theirs).status_code == 200
    assert autosave(agency, sub, 7, "3", mine).status_code == 409
    assert value_of(sub, 7) == 1


def test_a_write_that_loses_the_race_after_the_check_is_a_409_not_a_500(ctx, world):
    """Both requests read version 1; the first UPDATE moves it to 2; the second's finds no row."""
    sub = world.submission_a
    user = world.agency
    act(service.save_answer, user, sub, 1, "3", None, None, 0)
    state = service.load_state(sub, plain=True)
    stale_row = state.answers[1]
    act(service.save_answer, user, sub, 1, "2", None, None, 1)  # the other request, committed first
    question = state.structure.by_number[1]
    with pytest.raises(DomainError) as refused:
        service._write_answer(sub, question, stale_row, 1, "", user, datetime.now(UTC))
    assert refused.value.status == 409 and "設問1" in refused.value.message
    db.session.rollback()
    assert value_of(sub, 1) == 2


def test_submit_from_a_page_older_than_a_colleagues_save_is_still_refused(agency, colleague, world):
    sub = world.submission_a
    form = {**all_threes(sub), "lock_version": version_of(sub)}
    assert agency.post(url(sub), form).status_code == 303
    confirm = agency.get(f"/submissions/{sub.id}/submit").get_data(as_text=True)
    lock = page_fields(confirm)["lock_version"]
    theirs = page_fields(colleague.get(f"/submissions/{sub.id}?cat=all").get_data(as_text=True))
    assert autosave(colleague, sub, 1, "2", theirs).status_code == 200
    response = agency.post(f"/submissions/{sub.id}/submit", {"lock_version": lock})
    assert response.status_code == 409
    db.session.expire_all()
    assert db.session.get(Submission, sub.id).status == "draft"


def test_save_all_refuses_only_answers_changed_meanwhile_and_saves_nothing_then(agency, colleague, world):
    sub = world.submission_a
    mine = page_fields(agency.get(f"/submissions/{sub.id}?cat=all").get_data(as_text=True))
    theirs = page_fields(colleague.get(f"/submissions/{sub.id}?cat=all").get_data(as_text=True))
    assert autosave(colleague, sub, 2, "1", theirs).status_code == 200

    # A colleague's save on another question: the whole page still saves.
    ok = agency.post(url(sub), {**mine, "answer-3": "3", "answer-4": "2"})
    assert ok.status_code == 303 and (value_of(sub, 3), value_of(sub, 4), value_of(sub, 2)) == (3, 2, 1)

    # The same question: refused, nothing saved, both shown.
    refused = agency.post(url(sub), {**mine, "answer-2": "3", "answer-5": "3"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 409 and "設問2は" in page
    assert 'id="q-2-conflict"' in page and "「1 " in page
    assert value_of(sub, 5) is None and value_of(sub, 2) == 1
