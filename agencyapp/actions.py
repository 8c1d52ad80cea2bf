"""The actions the access policy decides on.

An enum rather than bare strings: a misspelt action fails when the module is
imported, not silently as a refusal. ``policy.RULES`` gives each one its rule.
"""

from enum import StrEnum


class Action(StrEnum):
    # self-check
    SUBMISSION_VIEW = "submission.view"
    SUBMISSION_EDIT = "submission.edit"
    SUBMISSION_SUBMIT = "submission.submit"
    SUBMISSION_APPROVE = "submission.approve"  # the unit's approver (承認者): approve or return, inside the agency
    SUBMISSION_VIEWS = "submission.views"  # the read log: who has opened it
    # review (center)
    SUBMISSION_REVIEW = "submission.review"
    SUBMISSION_ASSESS = "submission.assess"
    SUBMISSION_NOTE = "submission.note"
    SUBMISSION_RETURN = "submission.return"
    SUBMISSION_ACCEPT = "submission.accept"
    # improvement points
    POINT_VIEW = "point.view"
    POINT_DRAFT = "point.draft"
    POINT_ISSUE = "point.issue"
    POINT_ANSWER = "point.answer"
    POINT_RETURN = "point.return"
    POINT_CLOSE = "point.close"
    PHRASE_MANAGE = "phrase.manage"
    # hearings and visits
    HEARING_VIEW = "hearing.view"
    HEARING_MANAGE = "hearing.manage"
    HEARING_RESPOND = "hearing.respond"
    HEARING_SEE_RECORD = "hearing.see_record"  # minutes and findings
    HEARING_SEE_CANDIDATES = "hearing.see_candidates"  # hearings not yet offered to the unit
    # oversight and administration
    OVERSIGHT_VIEW = "oversight.view"
    AUDIT_VIEW = "audit.view"  # the operation history and its export
    OVERSIGHT_ANY_MINISTRY = "oversight.any_ministry"  # choose which ministry to look at
    OBSERVE_ONLY = "observe_only"  # the user watches the cycle's work and never takes part in it
    CYCLE_MANAGE = "cycle.manage"
    CHECKLIST_MANAGE = "checklist.manage"  # statistics, revision flags, drafts, mapping, publishing
    REMINDER_SEND = "reminder.send"  # 督促 to chosen units, in the app and by mail
    ORGANISATION_MANAGE = "organisation.manage"
    USER_MANAGE = "user.manage"
