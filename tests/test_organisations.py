"""The administrator maintains ministries and units; nobody else can."""

from sqlalchemy import select

from agencyapp.extensions import db
from agencyapp.models import AuditEvent, Ministry, Unit
from tests.factories import PASSWORD


def admin(make_web):
    web = make_web()
    web.login("admin", PASSWORD)
    web.get("/admin/organisations/")
    return web


def test_admin_adds_a_ministry_and_a_unit(ctx, world, make_web):
    web = admin(make_web)
    assert web.post("/admin/organisations/ministries", {"code": "mod", "name": "防衛省"}).status_code == 303
    ministry = db.session.scalar(select(Ministry).where(Ministry.code == "mod"))
    response = web.post(
        "/admin/organisations/units",
        {"ministry_id": ministry.id, "code": "mod-jinji", "name": "防衛省 人事教育局", "kind": "原局"},
    )
    assert response.status_code == 303
    unit = db.session.scalar(select(Unit).where(Unit.code == "mod-jinji"))
    assert unit.ministry_id == ministry.id
    assert "防衛省 人事教育局" in web.get("/admin/organisations/").get_data(as_text=True)
    assert {"organisation.ministry_added", "organisation.unit_added"} <= set(
        db.session.scalars(select(AuditEvent.action))
    )


def test_bad_codes_and_names_are_refused(ctx, world, make_web):
    web = admin(make_web)
    for data, message in [
        ({"code": "MHLW", "name": "x"}, "コードは"),
        ({"code": "mhlw", "name": "重複"}, "既に使われて"),
        ({"code": "new-one", "name": " "}, "府省名を入力"),
    ]:
        response = web.post("/admin/organisations/ministries", data)
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    response = web.post("/admin/organisations/units", {"ministry_id": "", "code": "u-1", "name": "機関"})
    assert response.status_code == 422 and "府省を選んで" in response.get_data(as_text=True)
    assert db.session.scalar(select(Unit).where(Unit.code == "u-1")) is None


def test_units_can_be_renamed_and_deactivated(ctx, world, make_web):
    web = admin(make_web)
    response = web.post(
        f"/admin/organisations/units/{world.unit_a2.id}",
        {"name": "厚生労働省 職業安定局 雇用保険課（旧）", "kind": "原局"},
    )
    assert response.status_code == 303
    db.session.expire_all()
    unit = db.session.get(Unit, world.unit_a2.id)
    assert unit.active is False and unit.name.endswith("（旧）")
    assert web.post("/admin/organisations/units/999999", {"name": "x"}).status_code == 404


def test_only_the_administrator_maintains_organisations(ctx, world, make_web):
    for login_id in ("center", "agency-a", "ministry-a"):
        web = make_web()
        web.login(login_id, PASSWORD)
        web.get("/")
        assert web.get("/admin/organisations/").status_code == 403
        assert web.post("/admin/organisations/ministries", {"code": "x-y", "name": "偽省"}).status_code == 403
    assert db.session.scalar(select(Ministry).where(Ministry.code == "x-y")) is None


def test_units_are_searched_filtered_and_paged(ctx, world, make_web, app):
    """Two thousand units: the page lists one page of them, by name or code and by ministry."""
    from tests import factories

    for i in range(app.config["PAGE_SIZE"] * 2 + 3):
        factories.make_unit(world.ministry_b, f"bulk-{i:03d}", f"外務省 一括機関{i:03d}", 100 + i)
    db.session.commit()
    web = admin(make_web)
    first = web.get("/admin/organisations/").get_data(as_text=True)
    assert "1 / 2 ページ" in first and "name-" in first
    assert first.count('class="assess-form unit-row"') == app.config["PAGE_SIZE"] * 2
    found = web.get("/admin/organisations/?q=一括機関007").get_data(as_text=True)
    assert "外務省 一括機関007" in found and "一括機関008" not in found and "該当 1機関" in found
    by_code = web.get("/admin/organisations/?q=bulk-012").get_data(as_text=True)
    assert "一括機関012" in by_code
    own = web.get(f"/admin/organisations/?ministry={world.ministry_a.id}").get_data(as_text=True)
    assert "年金局" in own and "一括機関" not in own
    assert web.get("/admin/organisations/?ministry=999999").status_code == 404
