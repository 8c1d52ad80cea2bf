"""年度点検: one fiscal year's self-check round."""

from datetime import date, datetime

from sqlalchemy import JSON, Column, Date, ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agencyapp.lifecycles import CYCLE, CycleState
from agencyapp.models.base import Base, HasLifecycle, UTCDateTime, utcnow
from agencyapp.models.checklist import ChecklistGoal, ChecklistVersion

cycle_important_goal = Table(
    "cycle_important_goal",
    Base.metadata,
    Column("cycle_id", ForeignKey("cycle.id"), primary_key=True),
    Column("goal_id", ForeignKey("checklist_goal.id"), primary_key=True),
)


class Cycle(HasLifecycle, Base):
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
    status: Mapped[str] = mapped_column(String(16), default=CycleState.OPEN.value, server_default="open")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    version: Mapped[ChecklistVersion] = relationship()
    important_goals: Mapped[list[ChecklistGoal]] = relationship(
        secondary=cycle_important_goal, order_by=ChecklistGoal.position
    )

    __lifecycle__ = CYCLE

    @property
    def closed(self) -> bool:
        return not CYCLE.allows("close", self.status)


class CycleReport(Base):
    """The figures of the year's report to the committee (住基ネット調査委員会), frozen when the cycle was
    closed (services/committee_report.py): later corrections do not change what was reported."""

    __tablename__ = "cycle_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"), unique=True)
    figures: Mapped[dict] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))
    frozen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    frozen_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
