"""年度点検: one fiscal year's self-check round."""

from datetime import date, datetime

from sqlalchemy import Column, Date, ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agencyapp.models.base import Base, UTCDateTime, utcnow
from agencyapp.models.checklist import ChecklistGoal, ChecklistVersion

cycle_important_goal = Table(
    "cycle_important_goal",
    Base.metadata,
    Column("cycle_id", ForeignKey("cycle.id"), primary_key=True),
    Column("goal_id", ForeignKey("checklist_goal.id"), primary_key=True),
)


class Cycle(Base):
    __tablename__ = "cycle"
    __table_args__ = (UniqueConstraint("fiscal_year", "version_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("checklist_version.id"))
    title: Mapped[str] = mapped_column(String(200))
    opens_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    important_label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    version: Mapped[ChecklistVersion] = relationship()
    important_goals: Mapped[list[ChecklistGoal]] = relationship(
        secondary=cycle_important_goal, order_by=ChecklistGoal.position
    )
