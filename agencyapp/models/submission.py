"""A unit's answers to a cycle, with the snapshots frozen at each submission."""

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, SmallInteger, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agencyapp.lifecycles import SUBMISSION, SubmissionState
from agencyapp.models.base import Base, HasLifecycle, UTCDateTime, utcnow
from agencyapp.models.cycle import Cycle
from agencyapp.models.org import Unit
from agencyapp.models.user import User


class Submission(HasLifecycle, Base):
    __tablename__ = "submission"
    __table_args__ = (UniqueConstraint("cycle_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=SubmissionState.NOT_STARTED.value, index=True)
    lock_version: Mapped[int] = mapped_column(default=1)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Copied from the latest snapshot's scores at each submission, so lists sort and filter in SQL.
    score_mean: Mapped[float | None]
    score_full_rate: Mapped[float | None]
    important_met: Mapped[bool | None]
    important_below: Mapped[int | None]  # important-item questions scored below the top
    # Earlier years' important items (services/important.py): all kept at the top, and how many are not;
    # None when the cycle has no earlier important items (or before the first submission).
    earlier_met: Mapped[bool | None]
    earlier_below: Mapped[int | None]
    # Set when the cycle is closed: not submitted by the due date (or not at all), or submitted in time.
    late_at_close: Mapped[bool | None]
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    return_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The earlier self-check whose answers this one started from (services/carryover.py), if any.
    carried_from_id: Mapped[int | None] = mapped_column(ForeignKey("submission.id"))

    cycle: Mapped[Cycle] = relationship()
    unit: Mapped[Unit] = relationship()
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])

    __mapper_args__ = {"version_id_col": lock_version}
    __lifecycle__ = SUBMISSION

    @property
    def editable(self):
        """Answers may still change (the lifecycle allows saving)."""
        return SUBMISSION.allows("save", self.status)

    @property
    def frozen(self):
        """Submitted: the answers are a snapshot the center may review."""
        return SUBMISSION.allows("assess", self.status)


class Answer(Base):
    __tablename__ = "answer"
    __table_args__ = (UniqueConstraint("submission_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("checklist_question.id"), index=True)
    value: Mapped[int | None] = mapped_column(SmallInteger)
    note: Mapped[str] = mapped_column(Text, default="")
    updated_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Moves on with every change of this answer: a save is refused only when this answer changed since
    # the page was loaded (services/selfcheck.py), not when another question of the same self-check did.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    # Copied from last year's self-check and not yet confirmed or changed by the contact: shown as
    # 「前年度の回答・未確認」 and counted as unanswered for submission.
    carried: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class SubmissionSnapshot(Base):
    """The frozen content of one submission event; never changed after it is written."""

    __tablename__ = "submission_snapshot"
    __table_args__ = (UniqueConstraint("submission_id", "sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    sequence: Mapped[int]
    content: Mapped[str] = mapped_column(Text)  # canonical JSON
    sha256: Mapped[str] = mapped_column(String(64))
    scores: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))

    created_by: Mapped[User] = relationship()


class SubmissionFigure(Base):
    """Per 大分類 sums of a submission's latest snapshot (written with it), so that means over many units
    are one SQL aggregate instead of decoding every snapshot's JSON."""

    __tablename__ = "submission_figure"

    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), primary_key=True)
    category_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    answered: Mapped[int]  # scored answers (該当なし excluded)
    points: Mapped[int]
    full: Mapped[int]  # answers at the top of the scale


class SubmissionApproval(Base):
    """One request for the unit's internal approval (決裁): the content sent, frozen with its hash, and
    what the approver decided. A change to the answers after it was sent supersedes it."""

    __tablename__ = "submission_approval"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    content: Mapped[str] = mapped_column(Text)  # canonical JSON of the answers sent
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, approved, returned, superseded
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    comment: Mapped[str] = mapped_column(Text, default="", server_default="")

    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    LABELS = {
        "pending": "承認待ち",
        "approved": "承認済み",
        "returned": "差戻し",
        "superseded": "回答の変更により取消し",
    }

    @property
    def label(self) -> str:
        return self.LABELS.get(self.status, self.status)

    @property
    def is_approved(self) -> bool:
        return self.status == "approved"

    @property
    def is_returned(self) -> bool:
        return self.status == "returned"


class WorkbookImport(Base):
    """An Excel file uploaded to a self-check: kept (agencyapp/attachments.py), previewed, then applied or
    left; what it changed is in the operation history."""

    __tablename__ = "workbook_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    stored_name: Mapped[str] = mapped_column(String(64))
    original_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="previewed")  # previewed, applied
    changes: Mapped[int] = mapped_column(default=0)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
