"""重要点検項目 across years: each year's important goals are remembered, and a self-check is judged on this
year's and on every earlier year's, followed through a changed checklist version; maintained and not
maintained, shown on the pages and counted in the hearing priority as a reason of its own."""

from datetime import date

import pytest

from agencyapp import priority
from agencyapp.extensions import db
from agencyapp.models import Submission
from agencyapp.services import hearings, important, oversight, revisions
from agencyapp.services.checklists import load_structure
from agencyapp.services.revisions import Edit
from agencyapp.services.selfcheck import save_all, submit
from tests.factories import act, make_cycle, national_version, outsourcing_goals, submission_of
from tests.test_review import signed_in


def _goal_of(version, number):
    return load_structure(version).by_number[number].goal_number


@pytest.fixture
def three_years(ctx, world):
    """FY2024 (goal of Q5–Q7 important), FY2025 (goals of Q8–Q10 and Q11–Q13), FY2026 (the world's cycle,
    委託先の管理), all on national-r8; then a revision for FY2027 rewords Q7, splits Q8, merges Q10 into Q9
    and withdraws Q12, and FY2027's cycle opens on it with 委託先の管理 important again."""
    r8 = national_version()
    make_cycle([world.unit_a, world.unit_b], fiscal_year=2024, due_on=date(2025, 1, 31), important=[_goal_of(r8, 5)])
    make_cycle(
        [world.unit_a, world.unit_b],
        fiscal_year=2025,
        due_on=date(2026, 1, 30),
        important=[_goal_of(r8, 8), _goal_of(r8, 11)],
    )
    draft = act(revisions.start_draft, r8, world.center, code="national-r9", fiscal_year=2027)
    s = load_structure(draft)
    act(revisions.edit_draft, draft, world.center, Edit("text", key=s.by_number[7].key, text="文言を改めた設問"))
    act(revisions.edit_draft, draft, world.center, Edit("split", key=s.by_number[8].key, text="分割した後半"))
    act(revisions.edit_draft, draft, world.center, Edit("merge", key=s.by_number[9].key, other=s.by_number[10].key))
    act(revisions.edit_draft, draft, world.center, Edit("remove", key=s.by_number[12].key))
    act(
        revisions.set_mapping,
        draft,
        world.center,
        old_key=s.by_number[12].key,
        change="withdrawn",
        new_keys=[],
        sense="none",
        carry="empty",
        reason="廃止",
    )
    act(revisions.publish, draft, world.center)
    cycle = make_cycle(
        [world.unit_a, world.unit_b],
        fiscal_year=2027,
        due_on=date(2028, 1, 31),
        version=draft,
        important=outsourcing_goals(draft),
    )
    world.r8, world.r9, world.cycle_2027 = r8, draft, cycle
    return cycle


def _current(earlier, year, old_number):
    return next(
        q for item in earlier.items if item.fiscal_year == year for q in item.questions if q.old_number == old_number
    )


def test_earlier_items_followed_through_the_mapping(three_years, world):
    earlier = important.earlier(three_years)
    years = sorted({item.fiscal_year for item in earlier.items})
    assert years == [2024, 2025, 2026]
    r9 = load_structure(world.r9)
    assert _current(earlier, 2024, 7).change == "文言修正"
    assert r9.by_number[_current(earlier, 2024, 7).current[0]].text == "文言を改めた設問"
    split = _current(earlier, 2025, 8)
    assert len(split.current) == 2 and split.change == "分割"
    assert _current(earlier, 2025, 9).current == _current(earlier, 2025, 10).current  # merged into one
    withdrawn = _current(earlier, 2025, 12)
    assert withdrawn.current == () and withdrawn.change == "廃止"
    # 委託先の管理 is important this year again: those questions are judged as this year's, not twice.
    this_year = {q.number for q in r9.questions if q.goal_number in set(outsourcing_goals(world.r9))}
    assert this_year and not (this_year & earlier.numbers)
    assert _current(earlier, 2024, 6).current[0] in earlier.numbers
    assert earlier.labels([_current(earlier, 2024, 6).current[0]]) == [
        f"設問{_current(earlier, 2024, 6).current[0]}（令和6年度）"
    ]


def _answer_all(user, submission, overrides=None):
    structure = load_structure(submission.cycle.version)
    form = {f"answer-{q.number}": "3" for q in structure.questions}
    form.update(overrides or {})
    act(save_all, user, submission, form, submission.lock_version)
    act(submit, user, submission, submission.lock_version)
    db.session.expire_all()
    return db.session.get(Submission, submission.id)


def test_maintained_and_not_maintained(three_years, world, make_web):
    earlier = important.earlier(three_years)
    below = _current(earlier, 2024, 6).current[0]
    a = _answer_all(world.agency, submission_of(three_years, world.unit_a), {f"answer-{below}": "2"})
    b = _answer_all(world.agency_b, submission_of(three_years, world.unit_b))
    assert (a.important_met, a.earlier_met, a.earlier_below) == (True, False, 1)
    assert (b.important_met, b.earlier_met, b.earlier_below) == (True, True, 0)

    totals = oversight.totals(world.center, three_years)
    assert totals["earlier_not_met"] == 1 and totals["important_not_met"] == 0
    rows = {r.unit.id: r for r in oversight.unit_rows(world.center, three_years)}
    assert "過年度の重要点検項目 未維持（1項目）" in rows[world.unit_a.id].attention
    assert not rows[world.unit_b.id].attention

    # The hearing priority counts it as its own, visible reason.
    candidates, _ = hearings.candidate_page(world.center, three_years, priority.WEIGHTS)
    by_unit = {c.submission.unit_id: c for c in candidates}
    reasons = {r.key: r for r in by_unit[world.unit_a.id].priority.reasons}
    assert reasons["earlier_below"].amount == 1 and reasons["earlier_below"].label == priority.LABELS["earlier_below"]
    assert "important_below" not in reasons
    assert "earlier_below" not in {r.key for r in by_unit[world.unit_b.id].priority.reasons}

    # Shown where scores are shown: the self-check's result, the review queue and the oversight list.
    agency = signed_in(make_web, "agency-a")
    body = agency.get(f"/submissions/{a.id}").get_data(as_text=True)
    assert "過年度の重要点検項目" in body and "未維持（1項目）" in body and f"設問{below}（令和6年度）" in body
    center = signed_in(make_web, "center")
    queue = center.get(f"/?cycle={three_years.id}").get_data(as_text=True)
    assert "過年度の重要点検項目" in queue and "未維持（1項目）" in queue and "維持</span>" in queue
    page = center.get(f"/oversight/?cycle={three_years.id}").get_data(as_text=True)
    assert "過年度の重要点検項目 未維持" in page
    review = center.get(f"/review/submissions/{a.id}").get_data(as_text=True)
    assert f"設問{below}（令和6年度）" in review


def test_agency_sees_earlier_items_below_three_before_submitting(three_years, world, make_web):
    earlier = important.earlier(three_years)
    below = _current(earlier, 2025, 11).current[0]
    submission = submission_of(three_years, world.unit_a)
    structure = load_structure(submission.cycle.version)
    form = {f"answer-{q.number}": "3" for q in structure.questions}
    form[f"answer-{below}"] = "1"
    act(save_all, world.agency, submission, form, submission.lock_version)
    agency = signed_in(make_web, "agency-a")
    page = agency.get(f"/submissions/{submission.id}?cat={structure.by_number[below].category_code}").get_data(
        as_text=True
    )
    assert "過年度の重要点検項目（令和7年度）" in page  # the goal carries its badge while answering
    assert f"/submissions/{submission.id}/earlier-items" in page
    listing = agency.get(f"/submissions/{submission.id}/earlier-items").get_data(as_text=True)
    assert "廃止（今年度のチェックリストにはありません）" not in listing  # no goal of those years was withdrawn whole
    assert "（当時の設問12は廃止）" in listing  # FY2025's goal of Q11–Q13 lost Q12 in the revision
    assert "令和6年度（2024年度）" in listing and "（今年度も重要点検項目）" in listing  # 2026's 委託先の管理
    other = signed_in(make_web, "agency-b")
    assert other.get(f"/submissions/{submission.id}/earlier-items").status_code == 404  # out of scope
    confirm = agency.get(f"/submissions/{submission.id}/submit").get_data(as_text=True)
    assert "未維持（1項目）" in confirm and f"設問{below}（令和7年度）" in confirm


def test_first_year_has_no_earlier_items(ctx, world):
    assert important.earlier(world.cycle).items == ()
    s = _answer_all(world.agency, world.submission_a)
    assert s.earlier_met is None and s.earlier_below is None
