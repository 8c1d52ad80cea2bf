"""操作履歴: one row per action, written in the same transaction as the change."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agencyapp.models.base import Base, UTCDateTime, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_event"
    # An object's own history (a submission's decisions) among millions of events.
    __table_args__ = (Index("ix_audit_event_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    actor_login: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(64), default="")
    object_id: Mapped[int | None]
    summary: Mapped[str] = mapped_column(Text, default="")
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    ip: Mapped[str] = mapped_column(String(64), default="")


class ReadLog(Base):
    """閲覧記録: someone outside the unit opened the unit's submission."""

    __tablename__ = "read_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    page: Mapped[str] = mapped_column(String(32))  # selfcheck | review | oversight
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
