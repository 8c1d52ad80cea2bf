"""Commits at the edge: one action is one transaction, and a failure anywhere in it leaves nothing behind."""

import pytest
from sqlalchemy import func, select

from agencyapp.errors import DomainError
from agencyapp.extensions import db
from agencyapp.models import AuditEvent, HearingFinding, ImprovementPoint, Notification
from agencyapp.services import hearings as service
from agencyapp.services import workflow
from agencyapp.unit_of_work import after_commit, after_rollback, unit_of_work
from tests.factories import PASSWORD, act
from tests.test_hearings import reload, scene, scheduled  # noqa: F401  (scene is a fixture)


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def held(scene):  # noqa: F811
    """A held hearing with one finding, not yet a point."""
    hearing = scheduled(scene)
    act(service.save_record, scene.center, hearing, "", "", "議事録", "", hearing.lock_version)
    finding = act(service.add_finding, scene.center, reload(hearing), 87, "委託先の調査記録がない")
    return scene, reload(hearing), finding


def _fail_second_half(monkeypatch, error):
    """Make the hearing's own step (after the point was drafted) fail."""
    real = workflow.apply

    def failing(obj, name, *args, **kwargs):
        if name == "finding_to_point":
            raise error
        return real(obj, name, *args, **kwargs)

    monkeypatch.setattr(service.workflow, "apply", failing)


@pytest.mark.parametrize("error", [DomainError("後半で失敗しました。"), RuntimeError("boom")], ids=["refused", "crash"])
def test_a_failure_in_the_second_half_of_finding_to_point_leaves_nothing(held, monkeypatch, make_web, error):
    world, hearing, finding = held
    points_before = _count(ImprovementPoint)
    _fail_second_half(monkeypatch, error)
    web = make_web()
    web.login("center", PASSWORD)
    audit_before = _count(AuditEvent)  # the sign-in is history of its own
    url = f"/hearings/{hearing.id}/findings/{finding.id}/point"
    if isinstance(error, DomainError):
        assert web.post(url, {}).status_code == 422  # the page again, with the message
    else:
        with pytest.raises(RuntimeError):  # TESTING propagates what production answers with a 500 page
            web.post(url, {})
    db.session.expire_all()
    assert _count(ImprovementPoint) == points_before
    assert _count(AuditEvent, AuditEvent.action.in_(("point.drafted", "hearing.finding_to_point"))) == 0
    assert _count(AuditEvent) == audit_before
    assert db.session.get(HearingFinding, finding.id).point_id is None


def test_finding_to_point_is_one_transaction_when_it_succeeds(held, make_web):
    world, hearing, finding = held
    web = make_web()
    web.login("center", PASSWORD)
    assert web.post(f"/hearings/{hearing.id}/findings/{finding.id}/point", {}).status_code == 303
    db.session.expire_all()
    point_id = db.session.get(HearingFinding, finding.id).point_id
    assert db.session.get(ImprovementPoint, point_id).source == "hearing"
    assert _count(AuditEvent, AuditEvent.action == "point.drafted") == 1
    assert _count(AuditEvent, AuditEvent.action == "hearing.finding_to_point") == 1


def test_services_leave_the_commit_to_the_caller(held):
    """Without a unit of work nothing a service did is written: a later rollback takes it all back."""
    world, hearing, finding = held
    service.finding_to_point(world.center, hearing, finding)
    db.session.rollback()
    assert _count(ImprovementPoint, ImprovementPoint.source == "hearing") == 0


def test_side_effects_run_after_the_commit_and_never_after_a_rollback(ctx):
    ran, undone = [], []
    with unit_of_work():
        after_commit(lambda: ran.append("mail"))
        after_rollback(lambda: undone.append("file"))
    assert ran == ["mail"] and undone == []
    ran.clear()
    with pytest.raises(DomainError), unit_of_work():
        after_commit(lambda: ran.append("mail"))
        after_rollback(lambda: undone.append("file"))
        raise DomainError("だめ")
    assert ran == [] and undone == ["file"]


def test_a_notification_of_a_rolled_back_action_is_gone(held):
    world, hearing, _ = held
    before = _count(Notification)
    with pytest.raises(DomainError), unit_of_work():
        service.publish_report(world.center, hearing, hearing.lock_version)
        assert _count(Notification) > before  # written in the transaction...
        raise DomainError("公開を取りやめ")
    assert _count(Notification) == before  # ...and gone with it


def test_a_response_that_leaves_changes_uncommitted_is_an_error(app, world):
    """A view that called a service outside the unit of work would lose its change without a word."""
    from agencyapp.models import Phrase

    with app.test_request_context("/"):
        db.session.add(Phrase(title="忘れたコミット", body="本文", updated_by_id=world.center.id))
        with pytest.raises(RuntimeError, match="uncommitted"):
            app.process_response(app.response_class("ok"))
        db.session.rollback()
        app.process_response(app.response_class("ok"))  # nothing left: fine
