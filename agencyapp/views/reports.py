"""委員会への報告 (the year's report to the 住基ネット調査委員会): on screen with charts, as .xlsx and on A4.

The center sees the national report (or one ministry's); a ministry's 統括課 sees its own bureaus' beside the
national figures, read-only. A closed cycle's report is the one frozen when it was closed.
"""

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user

from agencyapp import charts, report_sheets
from agencyapp.actions import Action
from agencyapp.inputs import ident
from agencyapp.policy import can
from agencyapp.services import committee_report, hearings, oversight
from agencyapp.views.common import chosen_cycle, run

bp = Blueprint("reports", __name__, url_prefix="/reports")


def _report():
    cycles, cycle = chosen_cycle()
    if cycle is None:
        abort(404)
    # The service decides the scope: a ministry's 統括課 gets its own whatever it asks for.
    return cycles, committee_report.report(current_user, cycle, request.args.get("ministry", type=ident))


def _charts(report):
    f = report.figures
    categories = [(c["code"], f"{c['code']}. {c['title']}") for c in f["categories"] if c["code"]]
    series = [(report.scope_name, {c["code"]: c["mean"] for c in f["categories"]})]
    if report.nation is not None:
        series.append(("全国", {c["code"]: c["mean"] for c in report.nation["categories"]}))
    if f.get("last_year"):
        series.append((f"前年度（{report.scope_name}）", f["last_year"]["categories"]))
    means = charts.bar_chart("大分類ごとの平均点（3点満点）", categories, series)
    bands = [(str(i), b["label"]) for i, b in enumerate(f["response"]["distribution"])]
    most = max([b["units"] for b in f["response"]["distribution"]] + [1])
    spread = charts.bar_chart(
        "平均点の分布（機関数）",
        bands,
        [("機関数", {str(i): b["units"] for i, b in enumerate(f["response"]["distribution"])})],
        max_value=float(most),
        counts=True,
    )
    return means, spread


@bp.get("/")
def show():
    cycles, report = _report()
    means, spread = _charts(report)
    return render_template(
        "reports/show.html",
        cycles=cycles,
        report=report,
        means=means,
        spread=spread,
        ministries=hearings.ministries() if can(current_user, Action.OVERSIGHT_ANY_MINISTRY) else [],
    )


@bp.get("/print")
def print_view():
    _, report = _report()
    means, spread = _charts(report)
    return render_template("reports/print.html", report=report, means=means, spread=spread)


@bp.get("/report.xlsx")
def export_xlsx():
    _, report = _report()
    body = report_sheets.workbook(report)
    state = "暫定" if report.provisional else "確定"
    run(
        oversight.record_export,
        current_user,
        f"委員会への報告（{state}・Excel）",
        f"{report.scope_name}・{report.cycle.title}",
        1,
    )
    name = f"committee-report-{report.cycle.fiscal_year}{'-provisional' if report.provisional else ''}.xlsx"
    return Response(
        body, mimetype=report_sheets.XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
