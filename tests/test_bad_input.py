"""Bad input is neither accepted nor ignored in silence: each gets a clear message next to its field."""

from datetime import timedelta

import pytest

from agencyapp.formatting import today_tokyo
from agencyapp.services import DomainError, improvements
from agencyapp.services import hearings as hearing_service
from tests.factories import PASSWORD, act
from tests.test_hearings import create, reload, slot
from tests.test_review import issue, submitted  # noqa: F401  (a fixture)


def test_a_completion_date_in_the_past_is_refused(submitted):  # noqa: F811
    point = issue(submitted).points[0]
    with pytest.raises(DomainError, match="今日以降"):
        act(
            improvements.answer_point,
            submitted.agency,
            point,
            "計画",
            today_tokyo() - timedelta(days=1),
            "",
            None,
            point.lock_version,
        )
    assert reload_point(point).status == "issued"


def reload_point(point):
    from agencyapp.extensions import db
    from agencyapp.models import ImprovementPoint

    db.session.expire_all()
    return db.session.get(ImprovementPoint, point.id)


def test_picking_without_choosing_a_slot_says_so(submitted):  # noqa: F811
    hearing = create(submitted)
    act(hearing_service.propose_slots, submitted.center, hearing, [slot(7, 10, 11)], hearing.lock_version)
    hearing = reload(hearing)
    with pytest.raises(DomainError, match="候補日時を1つ選んでください"):
        act(hearing_service.pick_slot, submitted.agency, hearing, None, "", hearing.lock_version)


def test_bad_priority_weights_are_named_beside_their_field(submitted, make_web):  # noqa: F811
    web = make_web()
    web.login("center", PASSWORD)
    page = web.get("/hearings/candidates?w_low_mean=abc&w_drop=500").get_data(as_text=True)
    assert 'id="w_low_mean-error" role="alert">「abc」は数値ではない' in page
    assert 'id="w_drop-error" role="alert">重みは0〜100で' in page
    assert 'aria-describedby="w_low_mean-error"' in page


def test_bad_dates_in_the_history_filter_are_named(submitted, make_web):  # noqa: F811
    web = make_web()
    web.login("center", PASSWORD)
    page = web.get("/audit/?from=2026-13-40&to=2020-01-01").get_data(as_text=True)
    assert 'id="from-error" role="alert">開始日は 2026-12-01 の形式' in page
    page = web.get("/audit/?from=2026-12-01&to=2026-11-01").get_data(as_text=True)
    assert 'id="to-error" role="alert">終了日は開始日以降' in page


@pytest.mark.parametrize("url", ["/review/?page=99", "/improvements/?page=99", "/notifications/?page=99"])
def test_a_page_past_the_end_goes_to_the_last_page_and_says_so(submitted, make_web, url):  # noqa: F811
    web = make_web()
    web.login("center", PASSWORD)
    response = web.client.get(url)
    assert response.status_code == 302 and "page=1" in response.headers["Location"]
    page = web.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "99ページ目はありません" in page
