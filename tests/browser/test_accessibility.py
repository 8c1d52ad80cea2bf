"""WCAG 2.1 A/AA rules checked by axe-core on every main page, as each role sees it."""

from pathlib import Path

import pytest
from sqlalchemy import select

from agencyapp.extensions import db
from tests.browser.test_journey_review import open_page

AXE = (Path(__file__).parent / "vendor" / "axe-4.14.1.min.js").read_text(encoding="utf-8")
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def ids(app, demo_data):
    """This year's submission of demo-agency, a submitted one for the review page, and a unit."""
    from agencyapp.models import Submission, Unit

    with app.app_context():
        submitted = db.session.scalar(
            select(Submission)
            .where(
                Submission.status == "submitted",
                Submission.cycle_id.in_(select(Submission.cycle_id).where(Submission.id == demo_data.submission_id)),
            )
            .limit(1)
        )
        unit = db.session.scalar(select(Unit.id).where(Unit.code == "mhlw-nenkin"))
        result = (demo_data.submission_id, submitted.id, unit)
        db.session.remove()
    return result


def violations(page, url):
    page.goto(url)
    page.evaluate(AXE)  # evaluated through the DevTools protocol, so the page's CSP stays strict
    result = page.evaluate("rules => axe.run(document, {runOnly: rules})", RULES)
    assert result["passes"], f"axe found nothing to check on {url}"
    return [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"][:3]]) for v in result["violations"]]


@pytest.mark.parametrize(
    "login_id, urls",
    [
        (
            "demo-agency",
            [
                "/",
                "/submissions/{own}",
                "/submissions/{own}/submit",
                "/submissions/{own}/earlier-items",
                "/improvements/",
                "/hearings/",
                "/notifications/",
                "/account/password",
            ],
        ),
        (
            "demo-center",
            [
                "/",
                "/review/submissions/{submitted}",
                "/hearings/candidates",
                "/hearings/",
                "/oversight/",
                "/audit/",
                "/review/phrases",
                "/improvements/",
                "/cycles/",
                "/cycles/new",
                "/reports/",
                "/reports/print",
            ],
        ),
        ("demo-ministry", ["/", "/oversight/units/{unit}", "/submissions/{submitted}", "/exports/", "/reports/"]),
        ("demo-admin", ["/", "/admin/users", "/admin/users/new", "/admin/organisations/", "/audit/", "/admin/mail"]),
    ],
)
def test_pages_have_no_wcag_violations(app, new_context, console, demo_data, login_id, urls):
    own, submitted, unit = ids(app, demo_data)
    page = open_page(new_context, console, login_id, demo_data.password)
    found = {}
    for url in urls:
        url = url.format(own=own, submitted=submitted, unit=unit)
        problems = violations(page, url)
        if problems:
            found[url] = problems
    assert found == {}


def test_the_login_page_has_no_wcag_violations(page, demo_data):
    assert violations(page, "/login") == []


def test_the_check_bites(page, demo_data):
    """An image without alt text and an unlabelled input added to the page are reported."""
    page.goto("/login")
    page.evaluate("""() => document.querySelector('main').insertAdjacentHTML(
        'beforeend', '<img src="/static/favicon.svg"><input type="text">')""")
    page.evaluate(AXE)
    result = page.evaluate("rules => axe.run(document, {runOnly: rules})", RULES)
    assert {"image-alt", "label"} <= {v["id"] for v in result["violations"]}
