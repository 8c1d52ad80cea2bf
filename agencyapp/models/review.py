"""The center's review of a submission: validated scores and internal notes."""

from datetime import datetime

from sqlalchemy import ForeignKey, SmallInteger, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agencyapp.models.base import Base, UTCDateTime, utcnow
from agencyapp.models.user import User


class CenterAssessment(Base):
    """センター確認点: the center's score where it disagrees with the self-rating."""

    __tablename__ = "center_assessment"
    __table_args__ = (UniqueConstraint("submission_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("checklist_question.id"))
    value: Mapped[int] = mapped_column(SmallInteger)
    reason: Mapped[str] = mapped_column(Text)
    assessed_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    assessed_by: Mapped[User] = relationship()


class ReviewNote(Base):
    """センター内部メモ: never shown to agency or ministry users."""

    __tablename__ = "review_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User] = relationship()
