"""Oversight exports (.xlsx and .csv) of the scope the oversight pages show; routes on the oversight blueprint."""

from flask import Response, abort, request
from flask_login import current_user
from sqlalchemy import select

from agencyapp.extensions import db
from agencyapp.formatting import stamp_tokyo
from agencyapp.models import Answer, ChecklistQuestion
from agencyapp.services import oversight as service
from agencyapp.views.common import run
from agencyapp.views.oversight import _context, bp

# --- exports -------------------------------------------------------------------------------------


def _export_data(cycle, ministry):
    rows = service.unit_rows(current_user, cycle, ministry.id if ministry else None)
    summary = (
        [
            "府省",
            "機関",
            "状況",
            "提出日時",
            "平均点",
            "満点率(%)",
            "重要点検項目",
            "未完了の改善点",
            "期限超過の改善点",
            "ヒアリング・訪問",
            "注意事項",
        ],
        [
            [
                r.unit.ministry.name,
                r.unit.name,
                r.submission.status_label,
                r.submission.submitted_at,
                r.submission.score_mean,
                r.submission.score_full_rate,
                None if r.submission.important_met is None else ("達成" if r.submission.important_met else "未達成"),
                r.open_points,
                r.overdue_points,
                f"{r.hearing.kind_label}（{r.hearing.status_label}）" if r.hearing else "",
                "、".join(r.attention),
            ]
            for r in rows
        ],
    )
    by_submission = {r.submission.id: r for r in rows}
    frozen = [r.submission.id for r in rows if r.submission.frozen]
    version = cycle.version
    answers = (
        ["府省", "機関", "設問番号", "設問", "回答", "回答の意味", "備考"],
        [
            [
                by_submission[a.submission_id].unit.ministry.name,
                by_submission[a.submission_id].unit.name,
                number,
                text,
                a.value,
                version.scale_label(a.value) if a.value is not None else "",
                a.note,
            ]
            for a, number, text in db.session.execute(
                select(Answer, ChecklistQuestion.number, ChecklistQuestion.text)
                .join(ChecklistQuestion, ChecklistQuestion.id == Answer.question_id)
                .where(Answer.submission_id.in_(frozen))
                .order_by(Answer.submission_id, ChecklistQuestion.position)
            )
        ],
    )
    points = (
        [
            "府省",
            "機関",
            "設問番号",
            "指摘事項",
            "改善を求める事項",
            "状況",
            "回答期限",
            "改善計画",
            "完了予定日",
            "完了報告",
            "センターのコメント",
        ],
        [],
    )
    hearings = (["府省", "機関", "種別", "状況", "日時", "場所", "議事録（公開済みのみ）"], [])
    issued = service.issued_points(current_user, cycle.id, [r.unit.id for r in rows])
    for row in rows:
        for point in issued[row.unit.id]:
            points[1].append(
                [
                    row.unit.ministry.name,
                    row.unit.name,
                    point.question.number if point.question else None,
                    point.finding,
                    point.requested_action,
                    point.status_label,
                    point.request.due_on if point.request else None,
                    point.plan,
                    point.plan_due_on,
                    point.report,
                    point.center_comment,
                ]
            )
        if row.hearing is not None:
            h = row.hearing
            hearings[1].append(
                [
                    row.unit.ministry.name,
                    row.unit.name,
                    h.kind_label,
                    h.status_label,
                    h.starts_at,
                    h.place,
                    h.minutes if h.reported_at else "",
                ]
            )
    return {
        "summary": ("概要",) + summary,
        "answers": ("回答",) + answers,
        "points": ("改善点",) + points,
        "hearings": ("ヒアリング・訪問",) + hearings,
    }


def _filename(cycle, ministry, suffix):
    scope = ministry.code if ministry else "all"
    return f"oversight-{cycle.fiscal_year}-{scope}-{stamp_tokyo()}.{suffix}"


def _download(body, mimetype, filename):
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/export.xlsx")
def export_xlsx():
    from agencyapp.exports import workbook_bytes

    _, cycle, _, ministry = _context()
    if cycle is None:
        abort(404)
    data = _export_data(cycle, ministry)
    body = workbook_bytes([data[k] for k in ("summary", "answers", "points", "hearings")])
    run(
        service.record_export,
        current_user,
        "Excel（.xlsx）",
        ministry.name if ministry else "全府省",
        sum(len(v[2]) for v in data.values()),
    )
    return _download(
        body, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _filename(cycle, ministry, "xlsx")
    )


@bp.get("/export.csv")
def export_csv():
    from agencyapp.exports import csv_bytes

    _, cycle, _, ministry = _context()
    if cycle is None:
        abort(404)
    view = request.args.get("view", "summary")
    data = _export_data(cycle, ministry)
    if view not in data:
        abort(404)
    title, headers, rows = data[view]
    run(service.record_export, current_user, f"CSV（{title}）", ministry.name if ministry else "全府省", len(rows))
    response = _download(csv_bytes(headers, rows), "text/csv", _filename(cycle, ministry, f"{view}.csv"))
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    return response
