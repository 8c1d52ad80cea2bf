"""In-app notices to one user."""

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agencyapp.models.base import Base, UTCDateTime, utcnow


class Notification(Base):
    """An in-app notice to one user (and by mail when SMTP is configured)."""

    __tablename__ = "notification"
    # The header's unread count on every page: (user_id, read_at) answers it from the index alone.
    __table_args__ = (Index("ix_notification_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # The mail that mirrors it, sent by the task queue (agencyapp/tasks.py): "" none, "pending", "sent",
    # "failed" (every retry failed; an administrator sees it and can send it again).
    mail_state: Mapped[str] = mapped_column(String(16), default="", server_default="")
    mail_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    mail_error: Mapped[str] = mapped_column(String(500), default="", server_default="")
    mail_base_url: Mapped[str] = mapped_column(String(255), default="", server_default="")


class Reminder(Base):
    """督促: one reminder the center sent to one unit, from a phrase. The same text reaches a unit at most
    once a Japan day (the unique key), however many times the center sends it."""

    __tablename__ = "reminder"
    __table_args__ = (UniqueConstraint("unit_id", "message_sha", "sent_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycle.id"), index=True)
    selection: Mapped[str] = mapped_column(String(32), default="")  # who was chosen: not_started, draft, …
    message: Mapped[str] = mapped_column(Text)
    message_sha: Mapped[str] = mapped_column(String(64))
    sent_on: Mapped[date] = mapped_column(Date)  # the Japan day it was sent
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    recipients: Mapped[int] = mapped_column(default=0)  # the unit's contacts it reached
