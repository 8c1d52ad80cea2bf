"""Opening a fiscal year's cycle from the center's screen."""

from sqlalchemy import func, select

from agencyapp.extensions import db
from agencyapp.models import AuditEvent, Cycle, Submission
from tests.factories import PASSWORD, national_version, outsourcing_goals


def center(make_web):
    web = make_web()
    web.login("center", PASSWORD)
    return web


def form(world, **changes):
    data = {
        "action": "open",
        "version_id": national_version().id,
        "fiscal_year": "2027",
        "title": "令和9年度 自己点検",
        "opens_on": "2027-10-01",
        "due_on": "2028-01-31",
        "important_label": "委託先の管理",
        "goals": [str(n) for n in outsourcing_goals(national_version())],
        "unit_ids": [str(world.unit_a.id), str(world.unit_b.id)],
    }
    data.update(changes)
    return data


def test_center_opens_a_cycle_for_the_chosen_units(ctx, world, make_web):
    web = center(make_web)
    page = web.get("/cycles/new").get_data(as_text=True)
    assert "管理目標29" in page and "年金局" in page
    response = web.post("/cycles/new", form(world))
    assert response.status_code == 303
    cycle = db.session.scalar(select(Cycle).where(Cycle.fiscal_year == 2027))
    assert cycle.important_label == "委託先の管理" and len(cycle.important_goals) == len(
        outsourcing_goals(cycle.version)
    )
    units = set(db.session.scalars(select(Submission.unit_id).where(Submission.cycle_id == cycle.id)))
    assert units == {world.unit_a.id, world.unit_b.id}
    assert (
        db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "cycle.opened").order_by(AuditEvent.id.desc())
        ).actor_id
        == world.center.id
    )
    assert "令和9年度 自己点検" in web.get("/cycles/").get_data(as_text=True)


def test_bad_cycles_are_refused_and_nothing_is_created(ctx, world, make_web):
    web = center(make_web)
    web.get("/cycles/new")
    before = db.session.scalar(select(func.count()).select_from(Cycle))
    for changes, message in [
        ({"due_on": "2027-09-01"}, "提出期限は開始日より後"),
        ({"unit_ids": []}, "対象機関を1つ以上"),
        ({"fiscal_year": "abc"}, "年度を西暦で"),
        ({"fiscal_year": "2026"}, "既にあります"),
        ({"goals": ["999"]}, "管理目標 999"),
        ({"due_on": ""}, "提出期限を入力"),
    ]:
        response = web.post("/cycles/new", form(world, **changes))
        assert response.status_code == 422 and message in response.get_data(as_text=True), message
    assert db.session.scalar(select(func.count()).select_from(Cycle)) == before


def test_only_the_center_opens_cycles(ctx, world, make_web):
    for login_id in ("agency-a", "ministry-a", "admin"):
        web = make_web()
        web.login(login_id, PASSWORD)
        web.get("/")
        assert web.post("/cycles/new", form(world)).status_code == 403
    assert db.session.scalar(select(Cycle).where(Cycle.fiscal_year == 2027)) is None
