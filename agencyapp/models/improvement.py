"""Improvement requests (改善依頼) and their points (改善点), with each point's history and attachments."""

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agencyapp.lifecycles import POINT, POINT_OPEN, PointState
from agencyapp.models.base import Base, HasLifecycle, UTCDateTime, utcnow
from agencyapp.models.checklist import ChecklistQuestion
from agencyapp.models.submission import Submission
from agencyapp.models.user import User


class ImprovementRequest(Base):
    """改善依頼: the issued set of points with a due date."""

    __tablename__ = "improvement_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    due_on: Mapped[date] = mapped_column(Date)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    message: Mapped[str] = mapped_column(Text, default="")

    submission: Mapped[Submission] = relationship()
    issued_by: Mapped[User] = relationship()
    points: Mapped[list["ImprovementPoint"]] = relationship(
        back_populates="request", order_by="ImprovementPoint.position"
    )


class ImprovementPoint(HasLifecycle, Base):
    """改善点 for one question (or the submission as a whole)."""

    __tablename__ = "improvement_point"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    question_id: Mapped[int | None] = mapped_column(ForeignKey("checklist_question.id"), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("improvement_request.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=PointState.DRAFT.value, index=True)
    position: Mapped[int] = mapped_column(default=0)
    finding: Mapped[str] = mapped_column(Text)  # 指摘事項
    requested_action: Mapped[str] = mapped_column(Text, default="")  # 改善を求める事項
    plan: Mapped[str] = mapped_column(Text, default="")  # 改善計画（機関）
    plan_due_on: Mapped[date | None] = mapped_column(Date)
    report: Mapped[str] = mapped_column(Text, default="")  # 完了報告（機関）
    center_comment: Mapped[str] = mapped_column(Text, default="")  # 最新の差戻し・完了コメント
    source: Mapped[str] = mapped_column(String(16), default="review")  # review | suggestion | hearing
    lock_version: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the center first opened the latest answer; until then the agency may withdraw and correct it.
    answer_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Still open when its cycle was closed: carried into this later cycle (services/year_end.py), keeping
    # its history; a point carried again names the latest.
    carried_to_cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycle.id"), index=True)

    submission: Mapped[Submission] = relationship()
    question: Mapped[ChecklistQuestion | None] = relationship()
    request: Mapped[ImprovementRequest | None] = relationship(back_populates="points")
    events: Mapped[list["PointEvent"]] = relationship(back_populates="point", order_by="PointEvent.id")

    __mapper_args__ = {"version_id_col": lock_version}
    __lifecycle__ = POINT

    @property
    def issued(self):
        """Past the draft: visible to the unit and its ministry."""
        return self.state is not POINT.initial

    @property
    def is_open(self):
        return self.state in POINT_OPEN


class PointEvent(Base):
    """One step in a point's history, shown to everyone who may see the point."""

    __tablename__ = "point_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("improvement_point.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # issued | answered | returned | closed
    body: Mapped[str] = mapped_column(Text, default="")
    plan_due_on: Mapped[date | None] = mapped_column(Date)
    actor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    point: Mapped[ImprovementPoint] = relationship(back_populates="events")
    actor: Mapped[User] = relationship()
    attachments: Mapped[list["Attachment"]] = relationship(back_populates="event")


class Attachment(Base):
    """A file attached to an answer; stored outside the web root under a server-made name."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("point_event.id"), index=True)
    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    event: Mapped[PointEvent] = relationship(back_populates="attachments")


class FileBlob(Base):
    """The bytes of an attached file, in the database every host shares (the default storage; see
    agencyapp/attachments.py). Written in the transaction that records the file, so it is gone with it
    when that rolls back, and it is in every database backup."""

    __tablename__ = "file_blob"

    stored_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
