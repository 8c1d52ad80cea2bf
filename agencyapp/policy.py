"""Access policy: the only place where roles meet actions.

Every endpoint declares who may reach it in ``ENDPOINTS`` (deny by default:
an endpoint missing from the table answers 403 and a test fails). Object
rules are pure predicates over the user and the object, and the fetch helpers
combine fetching with authorising so that an out-of-scope object is a 404.
"""
from flask import abort
from sqlalchemy import select

from agencyapp.extensions import db
from agencyapp.models import Submission, Unit
from agencyapp.models.user import ADMIN, AGENCY, CENTER, MINISTRY, ROLES

PUBLIC = "public"  # anyone, signed in or not
SIGNED_IN = ROLES  # any signed-in role

ENDPOINTS = {
    "static": PUBLIC,
    "health.healthz": PUBLIC,
    "auth.login": PUBLIC,
    "auth.logout": SIGNED_IN,
    "auth.password": SIGNED_IN,
    "dashboard.home": SIGNED_IN,
    "selfcheck.show": SIGNED_IN,
    "selfcheck.save_answer": (AGENCY,),
    "selfcheck.save_all": (AGENCY,),
    "selfcheck.confirm_submit": (AGENCY,),
    "selfcheck.submit": (AGENCY,),
}


def endpoint_rule(endpoint):
    """The declared rule of an endpoint, or None when it declares none."""
    return ENDPOINTS.get(endpoint)


def role_may_reach(role, rule):
    return rule == PUBLIC or role in rule


# --- object rules: pure predicates -------------------------------------------------


def in_unit_scope(user, unit_id, unit_ministry_id):
    """True when ``user`` may see data of the unit."""
    if user.role in (CENTER, ADMIN):
        return True
    if user.role == AGENCY:
        return user.unit_id == unit_id
    if user.role == MINISTRY:
        return user.ministry_id == unit_ministry_id
    return False


def can(user, action, submission=None):
    """May ``user`` do ``action`` on ``submission`` (which is already in scope)?"""
    if not getattr(user, "is_authenticated", False):
        return False
    if action == "submission.view":
        return True
    if action in ("submission.edit", "submission.submit"):
        return user.role == AGENCY and submission is not None and submission.unit_id == user.unit_id
    return False


# --- scoped queries and fetch-or-404 ------------------------------------------------


def scope_submissions(user, stmt):
    """Restrict a ``select(Submission)`` statement to what ``user`` may see."""
    if user.role in (CENTER, ADMIN):
        return stmt
    if user.role == AGENCY:
        return stmt.where(Submission.unit_id == user.unit_id)
    if user.role == MINISTRY:
        return stmt.where(Submission.unit_id.in_(select(Unit.id).where(Unit.ministry_id == user.ministry_id)))
    return stmt.where(False)


def get_submission_or_404(user, submission_id, action="submission.view"):
    """Fetch a submission the user may see (else 404) and may ``action`` (else 403)."""
    stmt = scope_submissions(user, select(Submission).where(Submission.id == submission_id))
    submission = db.session.scalar(stmt)
    if submission is None:
        abort(404)
    if not can(user, action, submission):
        abort(403)
    return submission
