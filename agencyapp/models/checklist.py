"""A checklist version as loaded from its data file: sections, goals, items, questions."""

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agencyapp.lifecycles import VERSION, VersionState
from agencyapp.models.base import Base, HasLifecycle, UTCDateTime, utcnow

EDITIONS = {"national": "国の行政機関等版", "prefecture": "都道府県版", "municipal": "市区町村版"}


class ChecklistVersion(HasLifecycle, Base):
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
    # A draft is a copy of the version it is based on, kept as its data file (YAML in the loader's format,
    # with each goal's and item's permanent id) and as rows rebuilt from it after every accepted change.
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("checklist_version.id"))
    source: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    based_on: Mapped["ChecklistVersion | None"] = relationship(remote_side=[id])
    __lifecycle__ = VERSION

    sections: Mapped[list["ChecklistSection"]] = relationship(
        back_populates="version", order_by="ChecklistSection.position", cascade="all, delete-orphan"
    )

    @property
    def edition_label(self):
        return EDITIONS.get(self.edition, self.edition)

    @property
    def is_draft(self):
        return self.status == VersionState.DRAFT

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
    __table_args__ = (UniqueConstraint("version_id", "number"), UniqueConstraint("version_id", "key"))

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("checklist_version.id"), index=True)
    key: Mapped[str] = mapped_column(String(40))  # permanent identity across versions; the number may change
    section_id: Mapped[int] = mapped_column(ForeignKey("checklist_section.id"), index=True)
    number: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    position: Mapped[int]

    section: Mapped[ChecklistSection] = relationship()


class ChecklistItem(Base):
    """小項目; without a question it is a criterion shown under its goal."""

    __tablename__ = "checklist_item"
    __table_args__ = (UniqueConstraint("version_id", "number"), UniqueConstraint("version_id", "key"))

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("checklist_version.id"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    goal_id: Mapped[int] = mapped_column(ForeignKey("checklist_goal.id"), index=True)
    number: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    position: Mapped[int]


class ChecklistQuestion(Base):
    """設問: carried by a goal or an item; the condition is the effective (inherited) one."""

    __tablename__ = "checklist_question"
    __table_args__ = (UniqueConstraint("version_id", "number"), UniqueConstraint("version_id", "key"))

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("checklist_version.id"), index=True)
    key: Mapped[str] = mapped_column(String(40))  # its carrier's (goal's or item's) key
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


class ChecklistMapping(Base):
    """One link of an old version's question to the next version's (新旧対応): what became of it, what the
    answers mean across it, and what last year's answer does this year. ``old_key`` None: 新設;
    ``new_key`` None: 廃止 (a tombstone: the old question stays in its version, linked here)."""

    __tablename__ = "checklist_mapping"

    id: Mapped[int] = mapped_column(primary_key=True)
    old_version_id: Mapped[int] = mapped_column(ForeignKey("checklist_version.id"), index=True)
    new_version_id: Mapped[int] = mapped_column(ForeignKey("checklist_version.id"), index=True)
    old_key: Mapped[str | None] = mapped_column(String(40))
    new_key: Mapped[str | None] = mapped_column(String(40))
    change: Mapped[str] = mapped_column(String(16))  # revisions.CHANGES; "" = not decided yet
    sense: Mapped[str] = mapped_column(String(16))  # equal | subset | superset | intersect | none
    carry: Mapped[str] = mapped_column(String(16))  # copy | reference | empty
    reason: Mapped[str] = mapped_column(Text, default="")
    similarity: Mapped[float | None] = mapped_column(Float)
    proposed: Mapped[bool] = mapped_column(default=True)  # proposed by the draft, not yet set by a person
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QuestionFlag(Base):
    """A question the center marked as a candidate for revision (改訂候補), with why."""

    __tablename__ = "question_flag"
    __table_args__ = (UniqueConstraint("version_id", "question_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("checklist_version.id"))
    question_key: Mapped[str] = mapped_column(String(40))
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycle.id"))
    reason: Mapped[str] = mapped_column(Text)
    flagged_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    flagged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
