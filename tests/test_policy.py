"""The access policy as pure logic, and the route inventory that keeps it complete."""

from types import SimpleNamespace

import pytest

from agencyapp import policy


def fake_user(role, unit_id=None, ministry_id=None):
    return SimpleNamespace(role=role, unit_id=unit_id, ministry_id=ministry_id, is_authenticated=True)


SUBMISSION = SimpleNamespace(unit_id=10)


def test_every_endpoint_declares_a_policy(app):
    missing = sorted(rule.endpoint for rule in app.url_map.iter_rules() if policy.endpoint_rule(rule.endpoint) is None)
    assert missing == [], f"endpoints without an entry in policy.ENDPOINTS: {missing}"


def test_policy_table_names_no_endpoint_that_does_not_exist(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert set(policy.ENDPOINTS) - endpoints == set()


def test_an_endpoint_without_a_policy_is_refused(web, world, monkeypatch):
    """Deny by default: an endpoint missing from the table answers 403 even to a signed-in user."""
    web.login("agency-a", "Correct-Horse-Battery-42")
    assert web.get("/").status_code == 200
    monkeypatch.delitem(policy.ENDPOINTS, "dashboard.home")
    assert web.get("/").status_code == 403


@pytest.mark.parametrize(
    "login, sees",
    [
        ("agency", {"a"}),
        ("agency_b", {"b"}),
        ("ministry_user", {"a", "a2"}),
        ("center", {"a", "a2", "b"}),
        ("admin", {"a", "a2", "b"}),
    ],
)
def test_unit_scope(ctx, world, login, sees):
    """The one scoping rule, applied in SQL: own unit, own ministry's units, or all."""
    from sqlalchemy import select

    from agencyapp.extensions import db
    from agencyapp.models import Submission

    names = {world.submission_a.id: "a", world.submission_a2.id: "a2", world.submission_b.id: "b"}
    found = db.session.scalars(policy.scope_submissions(getattr(world, login), select(Submission.id))).all()
    assert {names[i] for i in found} == sees


@pytest.mark.parametrize(
    "role, unit_id, ministry_id",
    [
        ("ministry", None, 1),
        ("center", None, None),
        ("admin", None, None),
        ("agency", 11, None),
    ],
)
def test_only_the_units_own_agency_user_edits_or_submits(role, unit_id, ministry_id):
    user = fake_user(role, unit_id, ministry_id)
    assert not policy.can(user, "submission.edit", SUBMISSION)
    assert not policy.can(user, "submission.submit", SUBMISSION)


def test_agency_user_edits_own_submission():
    user = fake_user("agency", 10)
    assert policy.can(user, "submission.edit", SUBMISSION)
    assert policy.can(user, "submission.submit", SUBMISSION)


def test_unknown_actions_raise_and_anonymous_users_are_denied():
    """A misspelt action is a programming error, not a silent refusal."""
    with pytest.raises(ValueError):
        policy.can(fake_user("admin"), "submission.delete", SUBMISSION)
    assert not policy.can(SimpleNamespace(is_authenticated=False, role=None), "submission.view", SUBMISSION)


def test_every_action_has_a_rule():
    from agencyapp.actions import Action

    assert set(policy.RULES) == set(Action)


def test_require_raises_a_domain_forbidden_with_a_japanese_message():
    from agencyapp.actions import Action
    from agencyapp.errors import Forbidden

    with pytest.raises(Forbidden) as caught:
        policy.require(fake_user("ministry", ministry_id=1), Action.SUBMISSION_RETURN, SUBMISSION)
    assert "権限" in caught.value.message
    policy.require(fake_user("center"), Action.SUBMISSION_RETURN, SUBMISSION)


def test_ministry_role_reaches_no_write_endpoint(app):
    """The ministry role may POST only to sign out, change its own password, mark its notifications read and
    ask the queue for an export of what it may read (the job is its own; no business data changes)."""
    allowed_posts = {
        "auth.logout",
        "auth.password",
        "notifications.mark_read",
        "notifications.mark_all_read",
        "oversight.export_xlsx",
    }
    for rule in app.url_map.iter_rules():
        methods = rule.methods - {"GET", "HEAD", "OPTIONS"}
        if not methods or rule.endpoint in allowed_posts:
            continue
        declared = policy.endpoint_rule(rule.endpoint)
        assert declared != policy.PUBLIC or rule.endpoint == "auth.login"
        if declared != policy.PUBLIC:
            assert "ministry" not in declared, f"{rule.endpoint} is open to the ministry role"
