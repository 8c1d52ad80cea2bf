"""All models, imported here so that Alembic and the app see one metadata."""

from agencyapp.models.audit import AuditEvent, ReadLog
from agencyapp.models.checklist import (
    ChecklistGoal,
    ChecklistItem,
    ChecklistMapping,
    ChecklistQuestion,
    ChecklistSection,
    ChecklistVersion,
    QuestionFlag,
)
from agencyapp.models.counter import ChangeCounter
from agencyapp.models.cycle import Cycle, CycleReport, cycle_important_goal
from agencyapp.models.export import ExportJob
from agencyapp.models.hearing import Hearing, HearingDocument, HearingFinding, HearingSlot
from agencyapp.models.improvement import Attachment, FileBlob, ImprovementPoint, ImprovementRequest, PointEvent
from agencyapp.models.notification import Notification, Reminder
from agencyapp.models.org import Ministry, Unit
from agencyapp.models.phrase import Phrase
from agencyapp.models.review import CenterAssessment, ReviewNote
from agencyapp.models.submission import (
    Answer,
    Submission,
    SubmissionApproval,
    SubmissionFigure,
    SubmissionSnapshot,
    WorkbookImport,
)
from agencyapp.models.user import LoginDevice, User

__all__ = [
    "Attachment",
    "CenterAssessment",
    "ChangeCounter",
    "ExportJob",
    "FileBlob",
    "ImprovementPoint",
    "ImprovementRequest",
    "LoginDevice",
    "Notification",
    "Reminder",
    "Phrase",
    "QuestionFlag",
    "PointEvent",
    "ReviewNote",
    "ReadLog",
    "Hearing",
    "HearingDocument",
    "HearingFinding",
    "HearingSlot",
    "Answer",
    "AuditEvent",
    "ChecklistGoal",
    "ChecklistItem",
    "ChecklistMapping",
    "ChecklistQuestion",
    "ChecklistSection",
    "ChecklistVersion",
    "Cycle",
    "CycleReport",
    "Ministry",
    "Submission",
    "SubmissionApproval",
    "SubmissionFigure",
    "SubmissionSnapshot",
    "WorkbookImport",
    "Unit",
    "User",
    "cycle_important_goal",
]
