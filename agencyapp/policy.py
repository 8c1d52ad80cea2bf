"""Access policy: the only place where roles meet actions.

Every endpoint declares who may reach it in ``ENDPOINTS`` (deny by default:
an endpoint missing from the table answers 403 and a test fails). Object
rules are pure predicates over the user and the object, and the fetch helpers
combine fetching with authorising so that an out-of-scope object is a 404.
"""

from flask import abort
from sqlalchemy import select

from agencyapp.extensions import db
from agencyapp.models import (
    Attachment,
    Hearing,
    ImprovementPoint,
    ImprovementRequest,
    PointEvent,
    Submission,
    Unit,
)
from agencyapp.models.hearing import VISIBLE_OUTSIDE_CENTER
from agencyapp.models.review import POINT_DRAFT
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
    "review.queue": (CENTER,),
    "review.show": (CENTER,),
    "review.assess": (CENTER,),
    "review.add_note": (CENTER,),
    "review.return_submission": (CENTER,),
    "review.accept": (CENTER,),
    "review.add_point": (CENTER,),
    "review.edit_point": (CENTER,),
    "review.delete_point": (CENTER,),
    "review.suggest_points": (CENTER,),
    "review.issue_request": (CENTER,),
    "review.phrases": (CENTER,),
    "review.save_phrase": (CENTER,),
    "review.delete_phrase": (CENTER,),
    "improvements.index": SIGNED_IN,
    "improvements.point": SIGNED_IN,
    "improvements.answer": (AGENCY,),
    "improvements.return_point": (CENTER,),
    "improvements.close_point": (CENTER,),
    "improvements.attachment": SIGNED_IN,
    "improvements.request": SIGNED_IN,
    "hearings.candidates": (CENTER,),
    "hearings.create": (CENTER,),
    "hearings.index": SIGNED_IN,
    "hearings.show": SIGNED_IN,
    "hearings.ics": SIGNED_IN,
    "hearings.propose": (CENTER,),
    "hearings.pick": (AGENCY,),
    "hearings.counter": (AGENCY,),
    "hearings.confirm": (CENTER,),
    "hearings.reschedule": (CENTER,),
    "hearings.cancel": (CENTER,),
    "hearings.documents": (CENTER,),
    "hearings.record": (CENTER,),
    "hearings.add_finding": (CENTER,),
    "hearings.finding_to_point": (CENTER,),
    "hearings.publish": (CENTER,),
    "hearings.feed": PUBLIC,  # authorised by the signed URL itself (calendar apps cannot sign in)
    "oversight.home": (CENTER, MINISTRY, ADMIN),
    "oversight.unit": (CENTER, MINISTRY, ADMIN),
    "oversight.export_xlsx": (CENTER, MINISTRY, ADMIN),
    "oversight.export_csv": (CENTER, MINISTRY, ADMIN),
    "audit.index": (CENTER, ADMIN),
    "cycles.index": (CENTER, ADMIN),
    "cycles.new": (CENTER,),
    "admin.users": (ADMIN,),
    "admin.new_user": (ADMIN,),
    "admin.user": (ADMIN,),
    "admin.set_active": (ADMIN,),
    "admin.unlock": (ADMIN,),
    "admin.set_password": (ADMIN,),
    "organisations.index": (ADMIN,),
    "organisations.add_ministry": (ADMIN,),
    "organisations.add_unit": (ADMIN,),
    "organisations.update_unit": (ADMIN,),
    "notifications.index": SIGNED_IN,
    "notifications.mark_read": SIGNED_IN,
    "notifications.mark_all_read": SIGNED_IN,
}


def endpoint_rule(endpoint):
    """The declared rule of an endpoint, or None when it declares none."""
    return ENDPOINTS.get(endpoint)


def role_may_reach(role, rule):
    return rule == PUBLIC or role in rule


# --- object rules: pure predicates -------------------------------------------------


CENTER_ACTIONS = {
    "hearing.manage",
    "submission.review",
    "submission.return",
    "submission.accept",
    "submission.assess",
    "submission.note",
    "point.draft",
    "point.issue",
    "point.return",
    "point.close",
    "phrase.manage",
}


def can(user, action, obj=None):
    """May ``user`` do ``action`` on ``obj`` (a submission or a point already in scope)?"""
    if not getattr(user, "is_authenticated", False):
        return False
    if action in ("submission.view", "point.view"):
        return True
    if action in ("submission.edit", "submission.submit"):
        return user.role == AGENCY and obj is not None and obj.unit_id == user.unit_id
    if action == "point.answer":
        return (
            user.role == AGENCY
            and obj is not None
            and obj.status != POINT_DRAFT
            and obj.submission.unit_id == user.unit_id
        )
    if action == "organisation.manage":
        return user.role == ADMIN
    if action == "oversight.view":  # the read-only views across units
        return user.role in (CENTER, MINISTRY, ADMIN)
    if action == "submission.views":  # who has opened it: the unit itself and the center
        return user.role == CENTER or (user.role == AGENCY and obj is not None and obj.unit_id == user.unit_id)
    if action == "hearing.respond":
        return user.role == AGENCY and obj is not None and obj.unit_id == user.unit_id
    if action == "hearing.see_record":  # minutes and findings: the center, or anyone in scope once reported
        return user.role == CENTER or (obj is not None and obj.status == "reported")
    if action in CENTER_ACTIONS:
        return user.role == CENTER
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


def scope_points(user, stmt):
    """Restrict a ``select(ImprovementPoint)`` to what ``user`` may see: drafts never leave the center."""
    if user.role == CENTER:
        return stmt
    stmt = stmt.where(ImprovementPoint.status != POINT_DRAFT)
    if user.role == ADMIN:
        return stmt
    units = select(Submission.id).join(Unit, Unit.id == Submission.unit_id)
    if user.role == AGENCY:
        units = units.where(Submission.unit_id == user.unit_id)
    elif user.role == MINISTRY:
        units = units.where(Unit.ministry_id == user.ministry_id)
    else:
        return stmt.where(False)
    return stmt.where(ImprovementPoint.submission_id.in_(units))


def scope_hearings(user, stmt):
    """Restrict a ``select(Hearing)``: candidates stay with the center; units and ministries see their own."""
    if user.role == CENTER:
        return stmt
    stmt = stmt.where(Hearing.status.in_(VISIBLE_OUTSIDE_CENTER))
    if user.role == ADMIN:
        return stmt
    if user.role == AGENCY:
        return stmt.where(Hearing.unit_id == user.unit_id)
    if user.role == MINISTRY:
        return stmt.where(Hearing.unit_id.in_(select(Unit.id).where(Unit.ministry_id == user.ministry_id)))
    return stmt.where(False)


def get_hearing_or_404(user, hearing_id, action="hearing.view"):
    hearing = db.session.scalar(scope_hearings(user, select(Hearing).where(Hearing.id == hearing_id)))
    if hearing is None:
        abort(404)
    if action != "hearing.view" and not can(user, action, hearing):
        abort(403)
    return hearing


def get_point_or_404(user, point_id, action="point.view"):
    point = db.session.scalar(scope_points(user, select(ImprovementPoint).where(ImprovementPoint.id == point_id)))
    if point is None:
        abort(404)
    if not can(user, action, point):
        abort(403)
    return point


def get_request_or_404(user, request_id):
    """An issued request is visible to whoever may see its submission."""
    request_row = db.session.get(ImprovementRequest, request_id)
    if request_row is None:
        abort(404)
    get_submission_or_404(user, request_row.submission_id)
    return request_row


def get_attachment_or_404(user, attachment_id):
    """An attachment is visible to whoever may see its point."""
    row = db.session.execute(
        select(Attachment, PointEvent.point_id)
        .join(PointEvent, PointEvent.id == Attachment.event_id)
        .where(Attachment.id == attachment_id)
    ).first()
    if row is None:
        abort(404)
    get_point_or_404(user, row.point_id)
    return row.Attachment


def get_submission_or_404(user, submission_id, action="submission.view"):
    """Fetch a submission the user may see (else 404) and may ``action`` (else 403)."""
    stmt = scope_submissions(user, select(Submission).where(Submission.id == submission_id))
    submission = db.session.scalar(stmt)
    if submission is None:
        abort(404)
    if not can(user, action, submission):
        abort(403)
    return submission
