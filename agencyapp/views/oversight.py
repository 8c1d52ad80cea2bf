"""Read-only oversight: ministries see their own units, the center all (with a ministry filter)."""

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user
from sqlalchemy import select

from agencyapp import charts, policy
from agencyapp.actions import Action
from agencyapp.extensions import db
from agencyapp.formatting import fiscal_year_label, stamp_tokyo
from agencyapp.htmx import page_of
from agencyapp.models import Answer, ChecklistQuestion, Ministry, Submission
from agencyapp.services import oversight as service
from agencyapp.services.checklists import load_structure
from agencyapp.services.selfcheck import latest_snapshot
from agencyapp.views.common import chosen_cycle, per_page, run

bp = Blueprint("oversight", __name__, url_prefix="/oversight")


def _context():
    """Cycle, the ministry filter (center and admin only) and a label for the scope."""
    cycles, cycle = chosen_cycle()
    ministries = db.session.scalars(select(Ministry).order_by(Ministry.position)).all()
    if not policy.can(current_user, Action.OVERSIGHT_ANY_MINISTRY):
        ministry_id = policy.own_ministry_id(current_user)
    else:
        ministry_id = request.args.get("ministry", type=int)
        if ministry_id and ministry_id not in {m.id for m in ministries}:
            abort(404)
    ministry = next((m for m in ministries if m.id == ministry_id), None)
    return cycles, cycle, ministries, ministry


def _category_labels(cycle):
    structure = load_structure(cycle.version)
    return [(c.section.code, f"{c.section.code}. {c.section.title}") for c in structure.categories]


@bp.get("/")
def home():
    cycles, cycle, ministries, ministry = _context()
    if cycle is None:
        return render_template("oversight/home.html", cycle=None)
    rows = service.unit_rows(current_user, cycle, ministry.id if ministry else None)
    own, national = service.category_comparison(current_user, cycle, ministry.id if ministry else None)
    scope_name = ministry.name if ministry else "全府省"
    series = [(scope_name, own), ("全国", national)] if ministry else [("全国", national)]
    chart = charts.bar_chart(
        f"大分類ごとの平均点（{scope_name + 'と' if ministry else ''}全国、3点満点）", _category_labels(cycle), series
    )
    unit_ids = [r.submission.unit_id for r in rows]
    trend = service.year_over_year(unit_ids, cycle.version.edition) if unit_ids else []
    trend_chart = (
        charts.bar_chart(
            f"{scope_name}の平均点の推移",
            [(y, fiscal_year_label(y)) for y, _, _ in trend],
            [(scope_name, {y: m for y, m, _ in trend})],
        )
        if len(trend) > 1
        else None
    )
    totals = service.totals(rows)
    rows, page, pages = page_of(rows, request.args.get("page", type=int), per_page(2))
    return render_template(
        "oversight/home.html",
        cycles=cycles,
        cycle=cycle,
        ministries=ministries,
        ministry=ministry,
        rows=rows,
        totals=totals,
        chart=chart,
        trend_chart=trend_chart,
        scope_name=scope_name,
        page=page,
        pages=pages,
    )


@bp.get("/units/<int:unit_id>")
def unit(unit_id):
    cycles, cycle, _, _ = _context()
    unit = policy.get_unit_or_404(current_user, unit_id)
    if cycle is None:
        abort(404)
    submission = db.session.scalar(
        select(Submission).where(Submission.cycle_id == cycle.id, Submission.unit_id == unit.id)
    )
    snapshot = latest_snapshot(submission) if submission else None
    if submission is not None:
        run(service.record_view, current_user, submission, "oversight")
    everyone = service.latest_scores(cycle.id)
    ministry_ids = set(db.session.scalars(policy.scoped_unit_ids(current_user, unit.ministry_id)))
    ministry_means = service.pooled_by_category([s for u, s in everyone.items() if u in ministry_ids])
    national = service.pooled_by_category(everyone.values())
    own = {code: entry["mean"] for code, entry in snapshot.scores["by_category"].items()} if snapshot else {}
    chart = charts.bar_chart(
        f"{unit.name}の大分類ごとの平均点（府省・全国との比較）",
        _category_labels(cycle),
        [(unit.name, own), (unit.ministry.name, ministry_means), ("全国", national)],
    )
    trend = service.year_over_year([unit.id], cycle.version.edition)
    trend_chart = (
        charts.bar_chart(
            f"{unit.name}の平均点の推移",
            [(y, fiscal_year_label(y)) for y, _, _ in trend],
            [(unit.name, {y: m for y, m, _ in trend})],
        )
        if len(trend) > 1
        else None
    )
    return render_template(
        "oversight/unit.html",
        cycles=cycles,
        cycle=cycle,
        unit=unit,
        submission=submission,
        snapshot=snapshot,
        chart=chart,
        trend_chart=trend_chart,
        points=service.issued_points(current_user, cycle.id, [unit.id])[unit.id],
        hearings=service.unit_hearings(current_user, unit.id),
    )


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
