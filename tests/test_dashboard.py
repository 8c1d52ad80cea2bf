"""Home pages per role, and bounded SQL per page whatever the data size."""

import pytest
from sqlalchemy import select

from agencyapp.extensions import db
from agencyapp.models import Cycle
from agencyapp.services.cycles import add_targets
from tests import factories
from tests.factories import PASSWORD, act


def signed_in(make_web, login_id):
    web = make_web()
    web.login(login_id, PASSWORD)
    return web


def test_agency_home_shows_own_cycle_status_deadline_and_progress(make_web, world):
    page = signed_in(make_web, "agency-a").get("/").get_data(as_text=True)
    assert "令和8年度（2026年度）" in page
    assert "令和9年1月29日（2027年1月29日）" in page
    assert "未着手" in page and "0 / " in page
    assert f"/submissions/{world.submission_a.id}" in page
    assert "旅券" not in page and "雇用保険" not in page


def test_agency_home_keeps_earlier_years_in_a_table_and_reads_no_more_with_more_years(
    make_web, world, count_statements
):
    """Ten years later the home is the same size: the newest year as a card, earlier years as a table."""
    from tests.test_review import submit_answers

    web = signed_in(make_web, "agency-a")
    with count_statements() as one_year:
        web.get("/")
    for year in (2023, 2024, 2025):
        past = factories.make_cycle([world.unit_a], fiscal_year=year)
        submit_answers(world.agency, factories.submission_of(past, world.unit_a))
    with count_statements() as four_years:
        page = web.get("/").get_data(as_text=True)
    assert four_years.count == one_year.count, (one_year, four_years)
    earlier = page.split('id="earlier-title"')[1]
    assert "令和8年度" not in earlier and all(f"令和{y - 2018}年度" in earlier for y in (2023, 2024, 2025))
    assert page.count('class="card cycle-card"') == 1 and "提出済" in earlier


def test_center_home_lists_every_unit_with_counts(make_web, world):
    page = signed_in(make_web, "center").get("/").get_data(as_text=True)
    for name in ("年金局", "雇用保険課", "領事局旅券課"):
        assert name in page
    assert "未着手 3件" in page


def test_ministry_home_lists_only_its_own_units(make_web, world):
    page = signed_in(make_web, "ministry-a").get("/").get_data(as_text=True)
    assert "年金局" in page and "雇用保険課" in page
    assert "旅券" not in page


def test_list_search_and_status_filter(make_web, world):
    web = signed_in(make_web, "center")
    page = web.get("/?q=旅券").get_data(as_text=True)
    assert "領事局旅券課" in page and "年金局" not in page
    page = web.get("/?status=submitted").get_data(as_text=True)
    assert "条件に合う提出はありません" in page
    assert "年金局</a>" not in web.get("/?q=%25").get_data(as_text=True)  # % is a literal, not a wildcard


def test_active_search_returns_the_list_fragment(make_web, world):
    web = signed_in(make_web, "admin")
    response = web.client.get("/?q=年金", headers={"HX-Request": "true", "HX-Target": "submission-list"})
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="submission-list">')
    assert "<html" not in html and "年金局" in html
    assert "HX-Request" in response.headers.get("Vary", "")


def test_list_paginates(make_web, world, app):
    ministry = world.ministry_b
    units = [factories.make_unit(ministry, f"extra-{i}", f"追加機関{i:02d}", i + 10) for i in range(30)]
    db.session.commit()
    act(add_targets, world.cycle, units)
    web = signed_in(make_web, "center")
    first = web.get("/").get_data(as_text=True)
    assert "1 / 2 ページ" in first and 'rel="next"' in first
    second = web.get(f"/?cycle={world.cycle.id}&page=2").get_data(as_text=True)
    assert "2 / 2 ページ" in second and "追加機関29" in second


def test_unknown_cycle_is_404(make_web, world):
    assert signed_in(make_web, "center").get("/?cycle=999999").status_code == 404


def grow(world, count):
    """Add ``count`` more units with partly answered submissions to the cycle."""
    from agencyapp.services import selfcheck

    units = [factories.make_unit(world.ministry_a, f"grow-{i}", f"増加機関{i:03d}", 100 + i) for i in range(count)]
    db.session.commit()
    act(add_targets, world.cycle, units)
    for unit in units[:5]:
        sub = factories.submission_of(world.cycle, unit)
        user = factories.make_user(f"user-{unit.code}", "agency", unit=unit)
        db.session.commit()
        act(selfcheck.save_all, user, sub, {"answer-1": "3", "answer-2": "2", "answer-3": "1"}, sub.lock_version)


@pytest.mark.parametrize("login_id", ["center", "ministry-a"])
def test_list_home_statement_count_does_not_grow_with_units(make_web, world, count_statements, login_id):
    web = signed_in(make_web, login_id)
    with count_statements() as small:
        assert web.get("/").status_code == 200
    grow(world, 60)
    web.get("/")  # the figures over every unit are computed again once after a change, then kept
    with count_statements() as large:
        assert web.get("/").status_code == 200
    assert large.count == small.count, (small, large)


def test_agency_home_statement_count_is_bounded(make_web, world, count_statements):
    web = signed_in(make_web, "agency-a")
    with count_statements() as counter:
        web.get("/")
    assert counter.count <= 12, counter


def test_selfcheck_page_and_save_statement_counts_do_not_grow(make_web, world, count_statements):
    """Answers, questions and units may grow; the statements per page and per save may not."""
    from tests.test_selfcheck import all_threes, version_of

    web = signed_in(make_web, "agency-a")
    sub = world.submission_a
    page_url, save_url = f"/submissions/{sub.id}", f"/submissions/{sub.id}/answers"
    data = {"answer-1": "3", "lock_version": version_of(sub)}
    with count_statements() as empty_page:
        assert web.get(page_url).status_code == 200
    with count_statements() as first_save:
        assert web.post(save_url + "/1", data, htmx=True).status_code == 200
    web.post(save_url, {**all_threes(sub), "lock_version": version_of(sub)})
    grow(world, 30)
    data = {"answer-2": "1", "lock_version": version_of(sub)}
    with count_statements() as full_page:
        assert web.get(page_url).status_code == 200
    with count_statements() as later_save:
        assert web.post(save_url + "/2", data, htmx=True).status_code == 200
    # The page of a self-check not yet started also looks for last year's answers to offer (one statement
    # more); with every answer in and thirty more units, the page needs no more than that.
    assert full_page.count <= empty_page.count <= full_page.count + 1, (empty_page, full_page)
    assert later_save.count <= first_save.count, (first_save, later_save)
    assert full_page.count <= 15 and later_save.count <= 6 and first_save.count <= 6, (first_save, later_save)


def test_selfcheck_page_statements_do_not_depend_on_the_number_of_questions(make_web, world, count_statements):
    """The municipal edition has fewer questions than the national one: same statement count."""
    from agencyapp.models import ChecklistVersion

    municipal = db.session.scalar(select(ChecklistVersion).where(ChecklistVersion.code == "municipal-h20"))
    other = factories.make_cycle([world.unit_a], fiscal_year=2008, version=municipal, important=list(range(32, 37)))
    web = signed_in(make_web, "agency-a")
    urls = [f"/submissions/{world.submission_a.id}", f"/submissions/{factories.submission_of(other, world.unit_a).id}"]
    with count_statements() as national:
        web.get(urls[0])
    with count_statements() as municipal_page:
        web.get(urls[1])
    assert national.count == municipal_page.count, (national, municipal_page)
    assert db.session.scalar(select(db.func.count()).select_from(Cycle)) == 2
