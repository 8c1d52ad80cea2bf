"""Each home says what to do next: the agency's points, hearing dates and self-checks; the center's answers
to check and dates to confirm."""

from datetime import timedelta

from agencyapp.formatting import today_tokyo
from agencyapp.services import hearings, improvements
from tests.factories import PASSWORD, act
from tests.test_hearings import create, reload, slot
from tests.test_review import issue, submitted  # noqa: F401  (a fixture)


def test_the_agency_home_lists_points_to_answer_dates_to_pick_and_the_self_check(submitted, make_web):  # noqa: F811
    request_row = issue(submitted)
    hearing = create(submitted)
    act(hearings.propose_slots, submitted.center, hearing, [slot(7, 10, 11)], hearing.lock_version)
    web = make_web()
    web.login("agency-a2", PASSWORD)  # unit A2 has not submitted yet
    page = web.get("/").get_data(as_text=True)
    assert "やること" in page and "自己点検に回答して提出する" in page
    web = make_web()
    web.login("agency-a", PASSWORD)
    page = web.get("/").get_data(as_text=True)
    todo = page[page.index('id="todos-title"') :]
    assert f"回答する改善点（{len(request_row.points)}件）" in todo
    assert f"/improvements/points/{request_row.points[0].id}" in todo
    assert "候補日時から都合のよい日時を選ぶ" in todo and f"/hearings/{hearing.id}" in todo
    assert "自己点検に回答して提出する" not in todo  # its self-check is submitted


def test_the_center_home_lists_answers_to_check_and_dates_to_confirm(submitted, make_web):  # noqa: F811
    point = issue(submitted).points[0]
    act(
        improvements.answer_point,
        submitted.agency,
        point,
        "規程を改正する",
        today_tokyo() + timedelta(days=30),
        "",
        None,
        point.lock_version,
    )
    hearing = create(submitted)
    act(hearings.propose_slots, submitted.center, hearing, [slot(7, 10, 11)], hearing.lock_version)
    hearing = reload(hearing)
    act(hearings.pick_slot, submitted.agency, hearing, hearing.slots[0].id, "", hearing.lock_version)
    web = make_web()
    web.login("center", PASSWORD)
    page = web.get("/").get_data(as_text=True)
    todo = page[page.index('id="todos-title"') :]
    assert "確認する改善点の回答（1件）" in todo and f"/improvements/points/{point.id}" in todo
    assert "機関の回答を見て日時を確定する" in todo and f"/hearings/{hearing.id}" in todo
