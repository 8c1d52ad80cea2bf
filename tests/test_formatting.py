"""年度, 和暦 and dates as the Japanese government writes them."""

from datetime import UTC, date, datetime

import pytest

from agencyapp.formatting import date_ja, date_wareki, datetime_ja, fiscal_year_label, fiscal_year_of


@pytest.mark.parametrize(
    "day, year",
    [
        (date(2026, 3, 31), 2025),
        (date(2026, 4, 1), 2026),
        (date(2027, 1, 29), 2026),
    ],
)
def test_fiscal_year_runs_april_to_march(day, year):
    assert fiscal_year_of(day) == year


@pytest.mark.parametrize(
    "year, label",
    [
        (2026, "令和8年度（2026年度）"),
        (2019, "令和元年度（2019年度）"),
        (2020, "令和2年度（2020年度）"),
        (2018, "平成30年度（2018年度）"),
        (2008, "平成20年度（2008年度）"),
        (1989, "平成元年度（1989年度）"),
    ],
)
def test_fiscal_year_label_in_wareki(year, label):
    assert fiscal_year_label(year) == label


def test_dates_in_japanese():
    assert date_ja(date(2026, 11, 26)) == "2026年11月26日"
    assert date_wareki(date(2027, 1, 29)) == "令和9年1月29日（2027年1月29日）"
    assert date_wareki(date(2019, 4, 30)) == "平成31年4月30日（2019年4月30日）"
    assert date_wareki(date(2019, 5, 1)) == "令和元年5月1日（2019年5月1日）"


def test_datetimes_are_shown_in_japan_time():
    moment = datetime(2026, 11, 26, 15, 30, tzinfo=UTC)
    assert datetime_ja(moment) == "2026年11月27日 00:30"


def test_appointments_show_their_weekday_in_japan_time():
    from datetime import UTC, datetime

    from agencyapp.formatting import datetime_wd

    assert datetime_wd(datetime(2026, 12, 3, 1, 0, tzinfo=UTC)) == "2026年12月3日（木） 10:00"


def test_only_https_addresses_become_links_and_everything_else_is_escaped():
    from agencyapp.formatting import https_links

    html = str(https_links("会議室A / https://meet.example.jp/abc?x=1 <b>http://evil.example</b> javascript:alert(1)"))
    assert '<a href="https://meet.example.jp/abc?x=1" rel="noopener noreferrer" target="_blank">' in html
    assert "&lt;b&gt;http://evil.example&lt;/b&gt;" in html and 'href="http://' not in html
    assert "javascript:alert(1)" in html and html.count("<a ") == 1
    assert str(https_links('https://x.example/"onmouseover="alert(1)')).count('"') == 6  # the quote ends the URL


def test_lists_show_dates_in_wareki():
    from datetime import UTC, date, datetime

    from agencyapp.formatting import datetime_wareki, wareki

    assert wareki(date(2027, 1, 29)) == "令和9年1月29日"
    assert wareki(date(2019, 5, 1)) == "令和元年5月1日"
    assert datetime_wareki(datetime(2026, 12, 1, 16, 30, tzinfo=UTC)) == "令和8年12月2日 01:30"
