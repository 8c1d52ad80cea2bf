"""Ministries (府省) and their units (機関・原局)."""

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agencyapp.models.base import Base


class Ministry(Base):
    __tablename__ = "ministry"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(default=0)

    units: Mapped[list["Unit"]] = relationship(back_populates="ministry", order_by="Unit.position")


class Unit(Base):
    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    ministry_id: Mapped[int] = mapped_column(ForeignKey("ministry.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(150))
    kind: Mapped[str] = mapped_column(String(50), default="原局")
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)

    ministry: Mapped[Ministry] = relationship(back_populates="units")

    @property
    def full_name(self):
        """The unit's name as shown in lists: ministry, then unit."""
        if self.name.startswith(self.ministry.name):
            return self.name
        return f"{self.ministry.name} {self.name}"
