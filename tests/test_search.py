"""One search rule everywhere: what people type (full-width, IME spaces) finds what they mean."""

import pytest

from agencyapp.services import search_words
from tests.factories import PASSWORD, act


@pytest.mark.parametrize(
    "typed, words",
    [
        ("厚生労働省　年金局", ["厚生労働省", "年金局"]),  # the IME's full-width space separates words
        ("設問８８", ["設問88"]),  # full-width digits are digits
        ("  ＡＧＥＮＣＹ-a ", ["AGENCY-a"]),
        ("", []),
    ],
)
def test_typed_text_is_normalised_into_words(typed, words):
    assert search_words(typed) == words


def test_every_word_must_match_somewhere(ctx, world, make_web):
    web = make_web()
    web.login("center", PASSWORD)
    queue = web.get("/review/?q=厚生労働省　年金局").get_data(as_text=True)
    assert "年金局</a>" in queue and "雇用保険課</a>" not in queue and "旅券課</a>" not in queue
    assert "年金局</a>" in web.get("/review/?q=年金局　厚生労働省").get_data(as_text=True)  # any order
    assert "年金局</a>" not in web.get("/review/?q=年金局　外務省").get_data(as_text=True)


def test_the_operation_history_finds_full_width_numbers(ctx, world, make_web):
    from agencyapp.services import selfcheck

    sub = world.submission_a
    act(selfcheck.save_answer, world.agency, sub, 12, "3", "", sub.lock_version)
    web = make_web()
    web.login("center", PASSWORD)
    page = web.get("/audit/?q=設問１２").get_data(as_text=True)
    assert "設問12の回答を保存しました" in page


def test_the_user_list_search_ignores_case_and_width(ctx, world, make_web):
    web = make_web()
    web.login("admin", PASSWORD)
    page = web.get("/admin/users?q=ＡＧＥＮＣＹ－Ａ２").get_data(as_text=True)
    assert "agency-a2" in page and "agency-b" not in page
