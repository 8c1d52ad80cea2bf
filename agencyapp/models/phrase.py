"""The center's phrase library (定型文)."""

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agencyapp.models.base import Base, UTCDateTime, utcnow


class Phrase(Base):
    """定型文: reusable phrasings for findings and requested actions."""

    __tablename__ = "phrase"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # What it phrases: a finding or requested action (審査), or a reminder to units (督促).
    kind: Mapped[str] = mapped_column(String(16), default="finding", server_default="finding")
    updated_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
