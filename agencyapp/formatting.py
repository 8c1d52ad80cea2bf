"""Japanese display of dates, fiscal years (年度, 和暦) and scores; template filters."""

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")
HTTPS_RE = re.compile(r"https://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
# (first day, era name); 令和 and 平成 cover every fiscal year the product handles.
ERAS = ((date(2019, 5, 1), "令和"), (date(1989, 1, 8), "平成"), (date(1926, 12, 25), "昭和"))


def fiscal_year_of(day):
    """年度 of a date: April to March."""
    return day.year if day.month >= 4 else day.year - 1


def era_year(year, month=12, day=31):
    """和暦 of a 西暦 year, e.g. (令和, 8); year one is 元."""
    when = date(year, month, day)
    for start, name in ERAS:
        if when >= start:
            number = year - start.year + 1
            return name, "元" if number == 1 else str(number)
    raise ValueError(f"{year} は対応していない年です")


def fiscal_year_label(year):
    """令和8年度 (2026年度); FY2019 is 令和元年度 as a whole."""
    name, number = era_year(year)  # as of 31 December, so 2019 is 令和
    return f"{name}{number}年度（{year}年度）"


def fiscal_year_short(year):
    name, number = era_year(year)
    return f"{name}{number}年度"


def to_tokyo(moment):
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(TOKYO)


def local_date(value):
    """The calendar date a person in Japan sees: a datetime (stored in UTC) becomes its Asia/Tokyo date."""
    if isinstance(value, datetime):
        return to_tokyo(value).date()
    return value


def date_ja(value):
    """2026年11月26日 (dates and datetimes, the latter in Japan time)."""
    if value is None:
        return ""
    value = local_date(value)
    return f"{value.year}年{value.month}月{value.day}日"


def date_wareki(value):
    """令和9年1月29日（2027年1月29日）; a datetime is taken on its Japan-time date for both parts."""
    if value is None:
        return ""
    return f"{wareki(value)}（{date_ja(value)}）"


def wareki(value):
    """令和8年12月2日: a date (or a datetime's Japan-time date) in 和暦 alone, for lists and tables."""
    if value is None:
        return ""
    value = local_date(value)
    name, number = era_year(value.year, value.month, value.day)
    return f"{name}{number}年{value.month}月{value.day}日"


def month_wareki(year, month):
    """令和8年12月（2026年12月）: a calendar month's heading."""
    name, number = era_year(year, month, 1)
    return f"{name}{number}年{month}月（{year}年{month}月）"


def datetime_wareki(value):
    """令和8年12月2日 10:05 in Japan time."""
    if value is None:
        return ""
    return f"{wareki(value)} {to_tokyo(value):%H:%M}"


def datetime_ja(value):
    """2026年11月26日 14:05 in Japan time."""
    if value is None:
        return ""
    local = to_tokyo(value)
    return f"{date_ja(local.date())} {local:%H:%M}"


WEEKDAYS = "月火水木金土日"


def datetime_wd(value):
    """2026年12月3日（木） 10:00 in Japan time: for appointments, where the weekday matters."""
    if value is None:
        return ""
    local = to_tokyo(value)
    return f"{date_ja(local.date())}（{WEEKDAYS[local.weekday()]}） {local:%H:%M}"


def https_links(text):
    """Text with its https:// addresses as links (nothing else: no http, no mail, no markup); escaped."""
    from markupsafe import Markup, escape

    if not text:
        return ""
    parts, last = [], 0
    for match in HTTPS_RE.finditer(text):
        parts.append(escape(text[last : match.start()]))
        url = match.group(0)
        parts.append(Markup('<a href="{0}" rel="noopener noreferrer" target="_blank">{0}</a>').format(url))
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


def time_ja(value):
    return to_tokyo(value).strftime("%H:%M") if value else ""


def score(value):
    return "－" if value is None else f"{value:.2f}"


def percent(value):
    return "－" if value is None else f"{value:.1f}%"


def today_tokyo():
    return datetime.now(TOKYO).date()


def stamp_tokyo():
    """Today's date in Japan for file names: 20261202."""
    return f"{today_tokyo():%Y%m%d}"


def now_utc():
    return datetime.now(UTC)


def tomorrow_tokyo():
    return today_tokyo() + timedelta(days=1)


def init_app(app):
    app.jinja_env.filters.update(
        date_ja=date_ja,
        date_wareki=date_wareki,
        datetime_ja=datetime_ja,
        datetime_wd=datetime_wd,
        wareki=wareki,
        datetime_wareki=datetime_wareki,
        https_links=https_links,
        time_ja=time_ja,
        fiscal_year=fiscal_year_label,
        fiscal_year_short=fiscal_year_short,
        score=score,
        percent=percent,
    )
    app.jinja_env.globals.update(
        month_wareki=month_wareki, today_tokyo=today_tokyo, tomorrow_tokyo=tomorrow_tokyo, now_utc=now_utc
    )
