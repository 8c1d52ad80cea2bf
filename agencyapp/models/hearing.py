"""Individual hearings (個別ヒアリング) and visits (訪問): selection, slots, preparation, record."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agencyapp.lifecycles import HEARING, HearingState
from agencyapp.models.base import Base, HasLifecycle, UTCDateTime, utcnow
from agencyapp.models.checklist import ChecklistQuestion
from agencyapp.models.cycle import Cycle
from agencyapp.models.improvement import ImprovementPoint
from agencyapp.models.org import Unit
from agencyapp.models.user import User

KIND_HEARING, KIND_VISIT = "hearing", "visit"
KIND_LABELS = {KIND_HEARING: "個別ヒアリング", KIND_VISIT: "訪問"}
DEFAULT_DOCUMENTS = (
    "住基ネットのセキュリティに関する規程（組織規程・アクセス管理規程・情報資産管理規程）",
    "事務処理の手順書・マニュアル",
    "操作者登録台帳と操作者識別の管理記録",
    "操作履歴と、その点検の記録",
    "委託契約書（再委託・返還廃棄・目的外使用禁止・秘密保持・事故報告の条項）",
    "委託先の調査・確認の記録",
    "入退室記録と鍵の管理記録",
    "研修の計画と受講記録",
)


class Hearing(HasLifecycle, Base):
    __tablename__ = "hearing"

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default=KIND_HEARING)
    status: Mapped[str] = mapped_column(String(16), default=HearingState.CANDIDATE.value, index=True)
    selection_reason: Mapped[str] = mapped_column(Text)
    priority_score: Mapped[float | None]
    priority_reasons: Mapped[list] = mapped_column(JSON, default=list)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    place: Mapped[str] = mapped_column(Text, default="")
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    center_attendees: Mapped[str] = mapped_column(Text, default="")
    agency_attendees: Mapped[str] = mapped_column(Text, default="")
    minutes: Mapped[str] = mapped_column(Text, default="")
    internal_notes: Mapped[str] = mapped_column(Text, default="")  # センター内部: never shown outside
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lock_version: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    cycle: Mapped[Cycle] = relationship()
    unit: Mapped[Unit] = relationship()
    staff: Mapped[User | None] = relationship(foreign_keys=[staff_id])
    slots: Mapped[list["HearingSlot"]] = relationship(
        back_populates="hearing", order_by="HearingSlot.starts_at", cascade="all, delete-orphan"
    )
    documents: Mapped[list["HearingDocument"]] = relationship(
        back_populates="hearing", order_by="HearingDocument.position", cascade="all, delete-orphan"
    )
    findings: Mapped[list["HearingFinding"]] = relationship(
        back_populates="hearing", order_by="HearingFinding.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": lock_version}
    __lifecycle__ = HEARING

    @property
    def kind_label(self):
        return KIND_LABELS[self.kind]


class HearingSlot(Base):
    """A proposed date and time (stored in UTC, entered and shown in Japan time)."""

    __tablename__ = "hearing_slot"

    id: Mapped[int] = mapped_column(primary_key=True)
    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearing.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str] = mapped_column(Text, default="")
    proposed_by: Mapped[str] = mapped_column(String(16))  # center | agency
    comment: Mapped[str] = mapped_column(Text, default="")
    chosen: Mapped[bool] = mapped_column(default=False)
    withdrawn: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    hearing: Mapped[Hearing] = relationship(back_populates="slots")


class HearingDocument(Base):
    """準備資料: what the agency should prepare."""

    __tablename__ = "hearing_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearing.id"), index=True)
    title: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(default=0)

    hearing: Mapped[Hearing] = relationship(back_populates="documents")


class HearingFinding(Base):
    """A finding tied (optionally) to a checklist question; may become an improvement point."""

    __tablename__ = "hearing_finding"

    id: Mapped[int] = mapped_column(primary_key=True)
    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearing.id"), index=True)
    question_id: Mapped[int | None] = mapped_column(ForeignKey("checklist_question.id"))
    text: Mapped[str] = mapped_column(Text)
    point_id: Mapped[int | None] = mapped_column(ForeignKey("improvement_point.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    hearing: Mapped[Hearing] = relationship(back_populates="findings")
    question: Mapped[ChecklistQuestion | None] = relationship()
    point: Mapped[ImprovementPoint | None] = relationship()
