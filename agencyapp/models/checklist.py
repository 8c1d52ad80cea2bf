"""A checklist version as loaded from its data file: sections, goals, items, questions."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agencyapp.lifecycles import VersionState
from agencyapp.models.base import Base, UTCDateTime, utcnow

EDITIONS = {"national": "国の行政機関等版", "prefecture": "都道府県版", "municipal": "市区町村版"}


class ChecklistVersion(Base):
    __tablename__ = "checklist_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    edition: Mapped[str] = mapped_column(String(16))
    fiscal_year: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=VersionState.PUBLISHED.value)
    # [{"value": 3, "label": "実施している", "points": 3}, ...]; points None = 該当なし
    scale: Mapped[list] = mapped_column(JSON)
    source_sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sections: Mapped[list["ChecklistSection"]] = relationship(
        back_populates="version", order_by="ChecklistSection.position", cascade="all, delete-orphan"
    )

    @property
    def edition_label(self):
        return EDITIONS.get(self.edition, self.edition)

    def scale_label(self, value):
        for entry in self.scale:
            if entry["value"] == value:
                return entry["label"]
        return ""


class ChecklistSection(Base):
    """大分類 (level 1), 中分類 (level 2) or 小分類 (level 3)."""

    __tablename__ = "checklist_section"
    __table_args__ = (UniqueConstraint("version_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("checklist_version.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("checklist_section.id"), index=True)
    level: Mapped[int]
    code: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    position: Mapped[int]

    version: Mapped[ChecklistVersion] = relationship(back_populates="sections")


class ChecklistGoal(Base):
    """管理目標."""

    __tablename__ = "checklist_goal"
    __table_args__ = (UniqueConstraint("version_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("checklist_version.id"), index=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("checklist_section.id"), index=True)
    number: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    position: Mapped[int]

    section: Mapped[ChecklistSection] = relationship()


class ChecklistItem(Base):
    """小項目; without a question it is a criterion shown under its goal."""

    __tablename__ = "checklist_item"
    __table_args__ = (UniqueConstraint("version_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("checklist_version.id"), index=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("checklist_goal.id"), index=True)
    number: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    position: Mapped[int]


class ChecklistQuestion(Base):
    """設問: carried by a goal or an item; the condition is the effective (inherited) one."""

    __tablename__ = "checklist_question"
    __table_args__ = (UniqueConstraint("version_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("checklist_version.id"), index=True)
    number: Mapped[int]
    goal_id: Mapped[int] = mapped_column(ForeignKey("checklist_goal.id"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("checklist_item.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    allow_zero: Mapped[bool] = mapped_column(default=False)
    # [{"question": 21, "in": [0]}, ...]: all clauses must hold; [] = always applies
    conditions: Mapped[list] = mapped_column(JSON, default=list)
    # {"0": "委託していない（…は該当なし）", ...}: this question's own names for its answers (JSON keys are text)
    answer_labels: Mapped[dict | None] = mapped_column(JSON)
    position: Mapped[int]
