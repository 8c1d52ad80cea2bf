"""Every lifecycle as one table: its states (label, badge) and its transitions.

A transition names the states it starts from, the state it leads to (``None``:
the object stays where it is, for work done within a state), the policy action
that allows it and the audit event it writes. ``services.workflow.apply`` is
the one function that applies a transition; services and templates ask these
tables instead of comparing status strings, and ``docs/workflows.md`` is
generated from them (``make docs``).
"""

from dataclasses import dataclass
from enum import StrEnum

from agencyapp.actions import Action


class State(StrEnum):
    """A state stored as its code (a string column); carries its Japanese label and badge style."""

    def __new__(cls, value, label, badge):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        member.badge = badge
        return member

    @classmethod
    def choices(cls, states=None) -> dict:
        """{code: label} for a filter's options (all states, or the ones given), in table order."""
        return {s.value: s.label for s in (cls if states is None else states)}


class SubmissionState(State):
    NOT_STARTED = "not_started", "未着手", "badge--not_started"
    DRAFT = "draft", "入力中", "badge--draft"
    AWAITING_APPROVAL = "approval", "承認待ち", "badge--approval"  # sent to the unit's approver (決裁)
    APPROVED = "approved", "承認済み", "badge--approved"  # approved inside the agency, not yet submitted
    SUBMITTED = "submitted", "提出済", "badge--submitted"
    RETURNED = "returned", "差戻し", "badge--returned"
    ACCEPTED = "accepted", "確認済", "badge--accepted"


class PointState(State):
    DRAFT = "draft", "下書き", "badge--point-draft"
    ISSUED = "issued", "依頼中", "badge--point-issued"
    ANSWERED = "answered", "回答済", "badge--point-answered"
    CLOSED = "closed", "完了", "badge--point-closed"


class HearingState(State):
    CANDIDATE = "candidate", "候補", "badge--hearing-candidate"
    PROPOSING = "proposing", "日程調整中", "badge--hearing-proposing"
    SCHEDULED = "scheduled", "確定", "badge--hearing-scheduled"
    HELD = "held", "実施済", "badge--hearing-held"
    REPORTED = "reported", "報告済", "badge--hearing-reported"
    CANCELLED = "cancelled", "中止", "badge--hearing-cancelled"


class VersionState(State):
    """A checklist version's states: drafted from a published one, published for a fiscal year, retired."""

    DRAFT = "draft", "作成中", "badge--draft"
    PUBLISHED = "published", "公開", "badge--accepted"
    RETIRED = "retired", "廃止", "badge--returned"


class CycleState(State):
    """A fiscal year's self-check round: open until the center closes the year."""

    OPEN = "open", "実施中", "badge--draft"
    CLOSED = "closed", "締め済", "badge--accepted"


@dataclass(frozen=True)
class Transition:
    name: str
    label: str  # what the step is called on screen and in the documentation
    sources: tuple  # the states it may start from
    target: State | None  # None: stays in its state
    action: Action
    event: str  # the audit event it writes
    cannot: str  # the predicate of the refusal: 「状況が「…」の自己点検は{cannot}」
    refusal: str = ""  # a whole refusal message ({state}: the state's label), where the general one reads badly
    # Whether the step can move figures computed over every unit (oversight totals, rankings, means):
    # when it changes a state, the cached figures are recomputed (services/figure_cache.py).
    moves_figures: bool = True

    def refused(self, lifecycle, state):
        """The Japanese message of a refusal from ``state``; it always names the state."""
        if self.refusal:
            return self.refusal.format(state=state.label)
        allowed = "・".join(f"「{s.label}」" for s in self.sources)
        return f"状況が「{state.label}」の{lifecycle.label}は{self.cannot}（{allowed}のときのみ）。"


@dataclass(frozen=True)
class Lifecycle:
    name: str
    label: str
    states: type
    initial: State
    transitions: tuple
    description: str = ""

    def __post_init__(self):
        names = [t.name for t in self.transitions]
        if len(names) != len(set(names)):
            raise ValueError(f"{self.name}: duplicate transition names")
        for t in self.transitions:
            for state in (*t.sources, t.target):
                if state is not None and not isinstance(state, self.states):
                    raise ValueError(f"{self.name}.{t.name}: {state!r} is not a {self.states.__name__}")

    def transition(self, name) -> Transition:
        for t in self.transitions:
            if t.name == name:
                return t
        raise ValueError(f"{self.name} has no transition {name!r}")

    def state(self, value) -> State:
        return self.states(value)

    def allows(self, name, state) -> bool:
        """May the transition start from ``state`` (a State or its stored code)?"""
        return self.states(state) in self.transition(name).sources

    def states_allowing(self, name) -> tuple:
        return self.transition(name).sources

    def target_of(self, name, state) -> State:
        target = self.transition(name).target
        return self.states(state) if target is None else target


S, P, H = SubmissionState, PointState, HearingState
FROZEN_REFUSAL = (
    "この自己点検は提出済み（状況「{state}」）のため変更できません。"
    "修正が必要な場合はセンターに差戻しを依頼してください。"
)
# Answers may change: a change while waiting for approval, or after it, withdraws that approval.
EDITING = (S.NOT_STARTED, S.DRAFT, S.RETURNED, S.AWAITING_APPROVAL, S.APPROVED)
PREPARING = (S.NOT_STARTED, S.DRAFT, S.RETURNED)  # being prepared by the unit's contacts
FROZEN = (S.SUBMITTED, S.ACCEPTED)

SUBMISSION = Lifecycle(
    "submission",
    "自己点検",
    SubmissionState,
    S.NOT_STARTED,
    (
        Transition(
            "save",
            "回答を保存",
            EDITING,
            S.DRAFT,
            Action.SUBMISSION_EDIT,
            "answer.saved",
            "変更できません",
            refusal=FROZEN_REFUSAL,
            moves_figures=False,  # 未着手 → 回答中: both still editable, no figure changes
        ),
        Transition(
            "save_all",
            "回答を一括保存",
            EDITING,
            S.DRAFT,
            Action.SUBMISSION_EDIT,
            "answers.saved_all",
            "変更できません",
            refusal=FROZEN_REFUSAL,
            moves_figures=False,
        ),
        Transition(
            "carry_over",
            "前年度の回答から始める",
            (S.NOT_STARTED,),
            S.DRAFT,
            Action.SUBMISSION_EDIT,
            "answers.carried_over",
            "前年度の回答を引き継げません",
            refusal="前年度の回答を引き継げるのは、まだ回答を始めていない自己点検だけです（状況「{state}」）。",
            moves_figures=False,
        ),
        Transition(
            "confirm_carried",
            "前年度の回答を確認",
            EDITING,
            S.DRAFT,
            Action.SUBMISSION_EDIT,
            "answers.carried_confirmed",
            "確認できません",
            refusal=FROZEN_REFUSAL,
            moves_figures=False,
        ),
        Transition(
            "import_workbook",
            "Excel ファイルから取り込み",
            EDITING,
            S.DRAFT,
            Action.SUBMISSION_EDIT,
            "answers.imported",
            "取り込めません",
            refusal=FROZEN_REFUSAL,
            moves_figures=False,
        ),
        Transition(
            "request_approval",
            "承認を依頼",
            PREPARING,
            S.AWAITING_APPROVAL,
            Action.SUBMISSION_EDIT,
            "approval.requested",
            "承認を依頼できません",
            moves_figures=False,
        ),
        Transition(
            "approve",
            "承認",
            (S.AWAITING_APPROVAL,),
            S.APPROVED,
            Action.SUBMISSION_APPROVE,
            "approval.approved",
            "承認できません",
            moves_figures=False,
        ),
        Transition(
            "return_internally",
            "承認者が差戻し",
            (S.AWAITING_APPROVAL,),
            S.DRAFT,
            Action.SUBMISSION_APPROVE,
            "approval.returned",
            "差し戻せません",
            moves_figures=False,
        ),
        Transition(
            "submit",
            "提出",
            (*PREPARING, S.APPROVED),
            S.SUBMITTED,
            Action.SUBMISSION_SUBMIT,
            "submission.submitted",
            "提出できません",
            refusal=FROZEN_REFUSAL,
        ),
        Transition(
            "assess",
            "センター確認点",
            FROZEN,
            None,
            Action.SUBMISSION_ASSESS,
            "assessment.saved",
            "確認点をつけられません",
            refusal="提出されていない自己点検は確認できません（状況「{state}」）。",
        ),
        Transition(
            "unassess",
            "センター確認点を取消",
            FROZEN,
            None,
            Action.SUBMISSION_ASSESS,
            "assessment.removed",
            "確認点を取り消せません",
            refusal="提出されていない自己点検は確認できません（状況「{state}」）。",
        ),
        Transition(
            "note", "内部メモ", tuple(S), None, Action.SUBMISSION_NOTE, "review_note.added", "メモを追加できません"
        ),
        Transition(
            "suggest",
            "改善点の案を作成",
            FROZEN,
            None,
            Action.POINT_DRAFT,
            "point.suggested",
            "改善点の案を作成できません",
            refusal="提出された自己点検にのみ改善点の案を作成できます（状況「{state}」）。",
        ),
        Transition(
            "issue",
            "改善依頼を発行",
            FROZEN,
            None,
            Action.POINT_ISSUE,
            "request.issued",
            "改善依頼を発行できません",
            refusal="提出された自己点検にのみ改善依頼を発行できます（状況「{state}」）。",
        ),
        Transition(
            "return",
            "差戻し",
            (S.SUBMITTED,),
            S.RETURNED,
            Action.SUBMISSION_RETURN,
            "submission.returned",
            "差し戻せません",
        ),
        Transition(
            "accept",
            "確認済にする",
            (S.SUBMITTED,),
            S.ACCEPTED,
            Action.SUBMISSION_ACCEPT,
            "submission.accepted",
            "確認済にできません",
        ),
        Transition(
            "reopen",
            "確認済を取り消す",
            (S.ACCEPTED,),
            S.SUBMITTED,
            Action.SUBMISSION_ACCEPT,
            "submission.reopened",
            "確認済を取り消せません",
        ),
    ),
    "年度点検を開くと対象機関ごとに未着手で作られ、最初の保存で入力中になる。提出で内容が凍結され"
    "（スナップショットとSHA-256）、センターが差し戻すと再び入力できる。確認済は理由を添えて取り消せる（提出済に戻る）。"
    "期限超過は保存せず期限から導く。",
)

POINT = Lifecycle(
    "point",
    "改善点",
    PointState,
    P.DRAFT,
    (
        Transition(
            "edit",
            "下書きを編集",
            (P.DRAFT,),
            None,
            Action.POINT_DRAFT,
            "point.edited",
            "編集できません",
            refusal="依頼済みの改善点は編集・削除できません（状況「{state}」）。",
        ),
        Transition(
            "delete",
            "下書きを削除",
            (P.DRAFT,),
            None,
            Action.POINT_DRAFT,
            "point.deleted",
            "削除できません",
            refusal="依頼済みの改善点は編集・削除できません（状況「{state}」）。",
        ),
        Transition(
            "issue",
            "改善依頼として発行",
            (P.DRAFT,),
            P.ISSUED,
            Action.POINT_ISSUE,
            "point.issued",
            "依頼できません",
            refusal="この改善点は既に依頼済みです（状況「{state}」）。",
        ),
        Transition(
            "answer",
            "回答（改善計画・完了報告）",
            (P.ISSUED,),
            P.ANSWERED,
            Action.POINT_ANSWER,
            "point.answered",
            "回答できません",
        ),
        Transition(
            "withdraw",
            "回答を取り下げる（センターが開く前）",
            (P.ANSWERED,),
            P.ISSUED,
            Action.POINT_ANSWER,
            "point.withdrawn",
            "回答を取り下げられません",
        ),
        Transition(
            "return",
            "回答を差戻し",
            (P.ANSWERED,),
            P.ISSUED,
            Action.POINT_RETURN,
            "point.returned",
            "差し戻せません",
            refusal="回答済の改善点のみ差し戻せます（状況「{state}」）。",
        ),
        Transition(
            "close",
            "完了にする",
            (P.ANSWERED,),
            P.CLOSED,
            Action.POINT_CLOSE,
            "point.closed",
            "完了にできません",
            refusal="回答済の改善点のみ完了にできます（状況「{state}」）。",
        ),
    ),
    "センターが下書きし（機関・省には見えない）、改善依頼として発行すると機関と省に見える。"
    "機関が回答し、センターが完了にするか差し戻す。年度末に未完了の改善点は翌年度に持ち越して数える。",
)

ARRANGING = (H.CANDIDATE, H.PROPOSING, H.SCHEDULED)

HEARING = Lifecycle(
    "hearing",
    "ヒアリング・訪問",
    HearingState,
    H.CANDIDATE,
    (
        Transition(
            "propose",
            "候補日時を提示",
            (H.CANDIDATE, H.PROPOSING),
            H.PROPOSING,
            Action.HEARING_MANAGE,
            "hearing.slots_proposed",
            "候補日時を提示できません",
        ),
        Transition(
            "pick",
            "日時を選択",
            (H.PROPOSING,),
            None,
            Action.HEARING_RESPOND,
            "hearing.slot_picked",
            "日時を選択できません",
        ),
        Transition(
            "counter",
            "別の日時を提案",
            (H.PROPOSING,),
            None,
            Action.HEARING_RESPOND,
            "hearing.counter_proposed",
            "別の日時を提案できません",
        ),
        Transition(
            "confirm",
            "日時を確定",
            (H.PROPOSING,),
            H.SCHEDULED,
            Action.HEARING_MANAGE,
            "hearing.confirmed",
            "日時を確定できません",
        ),
        Transition(
            "reschedule",
            "日程を変更",
            (H.SCHEDULED,),
            H.PROPOSING,
            Action.HEARING_MANAGE,
            "hearing.rescheduled",
            "日程を変更できません",
        ),
        Transition(
            "documents",
            "準備資料を変更",
            ARRANGING,
            None,
            Action.HEARING_MANAGE,
            "hearing.documents",
            "準備資料を変更できません",
        ),
        Transition(
            "record",
            "出席者と議事録を記録",
            (H.SCHEDULED, H.HELD),
            H.HELD,
            Action.HEARING_MANAGE,
            "hearing.recorded",
            "記録できません",
        ),
        Transition(
            "add_finding",
            "所見を追加",
            (H.HELD,),
            None,
            Action.HEARING_MANAGE,
            "hearing.finding_added",
            "所見を追加できません",
        ),
        Transition(
            "finding_to_point",
            "所見を改善点に",
            (H.HELD, H.REPORTED),
            None,
            Action.HEARING_MANAGE,
            "hearing.finding_to_point",
            "所見を改善点にできません",
        ),
        Transition(
            "publish",
            "報告を公開",
            (H.HELD,),
            H.REPORTED,
            Action.HEARING_MANAGE,
            "hearing.reported",
            "報告を公開できません",
        ),
        Transition(
            "cancel", "中止", ARRANGING, H.CANCELLED, Action.HEARING_MANAGE, "hearing.cancelled", "中止できません"
        ),
    ),
    "センターが優先度から候補を選び（候補は機関・省には見えない）、候補日時を提示する。機関が選ぶか別の日時を提案し、"
    "センターが確定する。実施後に議事録と所見を記録し、報告を公開すると機関と省に見える。",
)

V = VersionState

VERSION = Lifecycle(
    "version",
    "チェックリスト",
    VersionState,
    V.DRAFT,
    (
        Transition(
            "edit",
            "改訂案を編集",
            (V.DRAFT,),
            None,
            Action.CHECKLIST_MANAGE,
            "checklist.draft_edited",
            "変更できません",
            refusal="公開済みのチェックリストは変更できません（状況「{state}」）。改訂は改訂案を作成して行います。",
            moves_figures=False,
        ),
        Transition(
            "map",
            "新旧対応を設定",
            (V.DRAFT,),
            None,
            Action.CHECKLIST_MANAGE,
            "checklist.mapping_set",
            "新旧対応を変更できません",
            refusal="公開済みのチェックリストの新旧対応は変更できません（状況「{state}」）。",
            moves_figures=False,
        ),
        Transition(
            "discard",
            "改訂案を削除",
            (V.DRAFT,),
            None,
            Action.CHECKLIST_MANAGE,
            "checklist.draft_discarded",
            "削除できません",
            moves_figures=False,
        ),
        Transition(
            "publish",
            "公開",
            (V.DRAFT,),
            V.PUBLISHED,
            Action.CHECKLIST_MANAGE,
            "checklist.published",
            "公開できません",
            moves_figures=False,
        ),
        Transition(
            "retire",
            "廃止",
            (V.PUBLISHED,),
            V.RETIRED,
            Action.CHECKLIST_MANAGE,
            "checklist.retired",
            "廃止できません",
            moves_figures=False,
        ),
    ),
    "センターが公開済みの版を写して改訂案を作り、設問を編集し、旧版の全設問の新旧対応を決めてから年度の版として公開する。"
    "公開した版は変更できず（本文・番号・尺度）、年度点検はこの版で開く。使わなくなった版は廃止し、新たな点検に選べなくなる。",
)

C = CycleState

CYCLE = Lifecycle(
    "cycle",
    "年度点検",
    CycleState,
    C.OPEN,
    (
        Transition(
            "close",
            "年度を締める",
            (C.OPEN,),
            C.CLOSED,
            Action.CYCLE_MANAGE,
            "cycle.closed",
            "締められません",
            refusal="この年度点検は既に締められています（状況「{state}」）。",
        ),
    ),
    "センターが年度を締めると、期限までに提出しなかった機関が遅延として記録され、未完了の改善点が翌年度の点検に"
    "繰り越され（経緯はそのまま）、委員会への報告の数値が締めた時点で固定される。締めた後の訂正は固定した報告を変えない。",
)

LIFECYCLES = (SUBMISSION, POINT, HEARING, VERSION, CYCLE)

# What agency and ministry users may see of hearings: nothing of a mere candidate.
HEARING_VISIBLE_OUTSIDE_CENTER = tuple(s for s in HearingState if s is not H.CANDIDATE)
# Hearings still going on (a unit has at most one per cycle).
HEARING_ACTIVE = (H.CANDIDATE, H.PROPOSING, H.SCHEDULED, H.HELD)
# Hearings that took place, and those with a date in a calendar.
HEARING_HELD = (H.HELD, H.REPORTED)
HEARING_DATED = (H.SCHEDULED, H.HELD, H.REPORTED)
# Points the unit still has to act on, or the center to decide on.
POINT_OPEN = (P.ISSUED, P.ANSWERED)
