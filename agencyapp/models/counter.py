"""Change counters: a number that grows whenever the data behind cached figures changes."""

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from agencyapp.models.base import Base


class ChangeCounter(Base):
    __tablename__ = "change_counter"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
