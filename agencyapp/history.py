"""The operation history (操作履歴) as people read it: Japanese names of events, objects and fields,
state codes as their labels, times in Japan time, and the object's name with a link."""

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from agencyapp.extensions import db
from agencyapp.formatting import datetime_ja
from agencyapp.lifecycles import LIFECYCLES

# Events written outside the lifecycle tables (those inside are named by their transition's label).
EVENTS = {
    "login.success": "ログイン",
    "login.failure": "ログイン失敗",
    "login.locked": "ロック中のログイン試行",
    "login.lockout": "アカウントのロック",
    "logout": "ログアウト",
    "backup.created": "バックアップの作成",
    "mail.resent": "メールの再送",
    "export.failed": "出力の作成の失敗",
    "backup.restored": "バックアップからの復元",
    "access.denied": "拒否されたアクセス",
    "user.created": "アカウントの作成",
    "user.updated": "アカウントの更新",
    "user.activated": "アカウントを有効化",
    "user.deactivated": "アカウントを無効化",
    "user.unlocked": "ロックの解除",
    "user.password_changed": "パスワードの変更",
    "user.password_change_failed": "パスワード変更の失敗",
    "submission.status_changed": "自己点検の状況の変更",
    "point.drafted": "改善点の下書き作成",
    "hearing.selected": "ヒアリング・訪問の候補に選定",
    "hearing.reminded": "ヒアリング・訪問の事前通知",
    "reminder.sent": "督促の送信",
    "approval.superseded": "承認の取消（回答の変更）",
    "phrase.created": "定型文の登録",
    "phrase.edited": "定型文の更新",
    "phrase.deleted": "定型文の削除",
    "cycle.opened": "年度点検の開始",
    "cycle.targets_added": "年度点検の対象追加",
    "checklist.imported": "チェックリストの登録",
    "checklist.labels_updated": "チェックリストの回答名の更新",
    "organisation.ministry_added": "府省の追加",
    "organisation.unit_added": "機関の追加",
    "organisation.unit_updated": "機関の更新",
    "export": "出力",
    "demo.history": "デモデータの作成",
}
for _lifecycle in LIFECYCLES:
    for _transition in _lifecycle.transitions:
        EVENTS.setdefault(_transition.event, f"{_lifecycle.label}：{_transition.label}")

# object_type (the model's class name in lower case) -> (Japanese name, (endpoint, its id argument) or None)
OBJECTS = {
    "submission": ("自己点検", ("selfcheck.show", "submission_id")),
    "improvementpoint": ("改善点", ("improvements.point", "point_id")),
    "improvementrequest": ("改善依頼", ("improvements.request", "request_id")),
    "hearing": ("ヒアリング・訪問", ("hearings.show", "hearing_id")),
    "user": ("利用者", ("admin.user", "user_id")),
    "cycle": ("年度点検", None),
    "checklistversion": ("チェックリスト", None),
    "unit": ("機関", None),
    "ministry": ("府省", None),
    "phrase": ("定型文", None),
}

FIELDS = {
    "status": "状況",
    "value": "回答",
    "note": "備考",
    "reason": "理由",
    "question": "設問",
    "comment": "コメント",
    "minutes": "議事録",
    "plan": "改善計画",
    "plan_due_on": "完了予定日",
    "report": "完了報告",
    "due_on": "回答期限",
    "slots": "候補日時",
    "slot": "選んだ日時",
    "starts_at": "日時",
    "place": "場所",
    "sha256": "SHA-256",
    "sequence": "版",
    "active": "有効",
    "role": "役割",
    "title": "見出し",
    "body": "本文",
    "documents": "準備資料",
    "kind": "種別",
    "points": "改善点",
    "created": "作成数",
    "changed": "変更数",
    "attachment": "添付ファイル（SHA-256）",
    "double_booked": "担当者の予定と重複",
    "finding": "指摘事項",
    "requested_action": "改善を求める事項",
    "name": "名称",
    "code": "コード",
    "fiscal_year": "年度",
    "version": "チェックリスト",
    "important_goals": "重要点検項目（管理目標）",
    "late": "遅延の機関数",
    "unsubmitted": "未提出の機関数",
    "carried_points": "繰り越した改善点の数",
    "carried_to": "繰越先の年度点検",
    "request": "改善依頼",
    "rows": "行数",
    "scope": "範囲",
    "unit": "機関",
    "ministry": "府省",
    "questions": "設問数",
    "display_name": "氏名",
    "email": "メールアドレス",
}
ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
STATE_LABELS = {lc.name: {s.value: s.label for s in lc.states} for lc in LIFECYCLES}
OBJECT_LIFECYCLE = {"submission": "submission", "improvementpoint": "point", "hearing": "hearing"}


def event_label(action: str) -> str:
    return EVENTS.get(action, action)


def value_text(value, object_type: str = "", field: str = "") -> str:
    """A recorded value as a person reads it."""
    if value is None:
        return "－"
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, list):
        return "、".join(value_text(v, object_type, field) for v in value) or "－"
    if isinstance(value, dict):
        return "、".join(f"{FIELDS.get(k, k)}：{value_text(v)}" for k, v in value.items())
    if isinstance(value, str):
        if field == "status":
            return STATE_LABELS.get(OBJECT_LIFECYCLE.get(object_type, ""), {}).get(value, value)
        if ISO_MOMENT.match(value):
            try:
                return datetime_ja(datetime.fromisoformat(value))
            except ValueError:
                return value
    return str(value)


@dataclass
class Change:
    field: str
    before: str
    after: str


def changes(event) -> list[Change]:
    """The event's before/after as rows of (項目, 変更前, 変更後), in Japanese."""
    before, after = event.before or {}, event.after or {}
    keys = list(dict.fromkeys([*before, *after]))
    return [
        Change(
            FIELDS.get(key, key),
            value_text(before.get(key), event.object_type, key) if key in before else "",
            value_text(after.get(key), event.object_type, key) if key in after else "",
        )
        for key in keys
    ]


def object_names(events) -> dict[tuple[str, int], str]:
    """Names of the objects the events are about, a statement per kind present (at most a handful)."""
    from agencyapp.models import Hearing, Ministry, Submission, Unit, User

    wanted: dict[str, set] = {}
    for event in events:
        if event.object_id is not None:
            wanted.setdefault(event.object_type, set()).add(event.object_id)
    names = {}
    queries = {
        "user": lambda ids: select(User.id, User.display_name).where(User.id.in_(ids)),
        "submission": lambda ids: (
            select(Submission.id, Unit.name).join(Unit, Unit.id == Submission.unit_id).where(Submission.id.in_(ids))
        ),
        "hearing": lambda ids: (
            select(Hearing.id, Unit.name).join(Unit, Unit.id == Hearing.unit_id).where(Hearing.id.in_(ids))
        ),
        "unit": lambda ids: select(Unit.id, Unit.name).where(Unit.id.in_(ids)),
        "ministry": lambda ids: select(Ministry.id, Ministry.name).where(Ministry.id.in_(ids)),
    }
    for kind, ids in wanted.items():
        if kind in queries:
            names.update({(kind, oid): name for oid, name in db.session.execute(queries[kind](ids))})
    return names


def object_text(event, names) -> str:
    label = OBJECTS.get(event.object_type, (event.object_type, None))[0]
    if event.object_id is None:
        return label or "－"
    name = names.get((event.object_type, event.object_id))
    return f"{label}：{name}" if name else f"{label}（番号 {event.object_id}）"


def object_link(event, may_reach) -> str | None:
    """Where the object is shown, when there is such a page and the reader may open it."""
    from flask import url_for

    target = OBJECTS.get(event.object_type, ("", None))[1]
    if target is None or event.object_id is None or not may_reach(target[0]):
        return None
    return url_for(target[0], **{target[1]: event.object_id})
