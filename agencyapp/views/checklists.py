"""チェックリストの改訂 (center): the versions, a draft's workbench, its old → new mapping and publishing."""

import csv
import io
import re

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from agencyapp import charts, checklist_sheets
from agencyapp.extensions import db
from agencyapp.formatting import fiscal_year_of, today_tokyo
from agencyapp.inputs import ident
from agencyapp.models import ChecklistVersion, Cycle
from agencyapp.services import DomainError, question_stats, revisions, workflow
from agencyapp.services.checklists import load_structure
from agencyapp.services.revisions import CARRIES, CHANGES, SENSES, DraftError, Edit
from agencyapp.views.common import chosen_cycle, page_arg, page_count, past_the_last_page, per_page, run

bp = Blueprint("checklists", __name__, url_prefix="/checklists")

EDIT_OPS = {
    "text",
    "add_goal",
    "add_item",
    "allow_zero",
    "question_number",
    "goal_number",
    "remove",
    "move",
    "split",
    "merge",
    "renumber",
}


def _version_or_404(version_id: int) -> ChecklistVersion:
    version = db.session.get(ChecklistVersion, version_id)
    if version is None:
        abort(404)
    return version


def _draft_or_404(version_id: int) -> ChecklistVersion:
    version = _version_or_404(version_id)
    if version.based_on_id is None:
        abort(404)  # a version that was never a draft has no mapping or workbench
    return version


@bp.get("/")
def index():
    rows = revisions.versions()
    published = [v for v, _ in rows if v.status == "published"]
    today = today_tokyo()
    return render_template(
        "checklists/index.html",
        rows=rows,
        published=published,
        default_year=fiscal_year_of(today) + 1,
        error=None,
        form={},
    )


@bp.post("/drafts")
def start_draft():
    source = _version_or_404(request.form.get("source_id", type=ident) or 0)
    try:
        draft = run(
            revisions.start_draft,
            source,
            current_user,
            code=request.form.get("code", ""),
            fiscal_year=request.form.get("fiscal_year", type=ident) or 0,
            title=request.form.get("title", ""),
        )
    except DraftError as exc:
        return _index_with_error("・".join(exc.problems))
    except DomainError as exc:
        return _index_with_error(exc.message)
    flash(f"改訂案 {draft.code} を作成しました。", "success")
    return redirect(url_for("checklists.show", version_id=draft.id), code=303)


def _index_with_error(message):
    rows = revisions.versions()
    return render_template(
        "checklists/index.html",
        rows=rows,
        published=[v for v, _ in rows if v.status == "published"],
        default_year=fiscal_year_of(today_tokyo()) + 1,
        error=message,
        form=request.form,
    ), 422


@bp.get("/<int:version_id>")
def show(version_id):
    version = _version_or_404(version_id)
    return _show(version)


def _show(version, problems=(), focus="", status=200):
    structure = load_structure(version)
    editable = workflow.permitted(current_user, version, "edit")
    unmapped = revisions.unmapped(version) if version.based_on_id else []
    return render_template(
        "checklists/show.html",
        version=version,
        structure=structure,
        editable=editable,
        problems=problems,
        focus=focus,
        unmapped=unmapped,
        questions=structure.questions,
    ), status


@bp.post("/<int:version_id>/edit")
def edit(version_id):
    draft = _draft_or_404(version_id)
    op = request.form.get("op", "")
    if op not in EDIT_OPS:
        abort(400)
    number = request.form.get("number", "").strip()
    change = Edit(
        op=op,
        key=request.form.get("key", ""),
        text=(request.form.get("text") or "").strip(),
        number=int(number) if number.isdigit() and len(number) < 6 else None,
        flag=request.form.get("flag") == "1",
        other=request.form.get("other", ""),
        direction=request.form.get("direction", ""),
    )
    if op in ("question_number", "goal_number") and change.number is None:
        return _show(draft, ["番号は1〜99999の整数で入力してください。"], change.key, 422)
    if op == "merge" and not change.other:  # the page asks for the 設問番号 of the question to merge in
        wanted = request.form.get("other_number", "").strip()
        other = load_structure(draft).by_number.get(int(wanted)) if wanted.isdigit() and len(wanted) < 6 else None
        if other is None:
            return _show(draft, ["統合する設問の設問番号を、この改訂案にある番号で入力してください。"], change.key, 422)
        change.other = other.key
    try:
        summary = run(revisions.edit_draft, draft, current_user, change)
    except DraftError as exc:
        return _show(draft, exc.problems, change.key, 422)
    except DomainError as exc:
        return _show(draft, [exc.message], change.key, 422)
    flash(f"{summary}。", "success")
    anchor = f"#e-{change.key}" if change.key and op not in ("remove", "merge") else ""
    return redirect(url_for("checklists.show", version_id=draft.id) + anchor, code=303)


@bp.get("/<int:version_id>/source.yaml")
def source(version_id):
    version = _version_or_404(version_id)
    return Response(
        revisions.source_of(version),
        mimetype="application/x-yaml",
        headers={"Content-Disposition": f'attachment; filename="{version.code}.yaml"'},
    )


@bp.post("/<int:version_id>/source")
def upload_source(version_id):
    draft = _draft_or_404(version_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _show(draft, ["YAML ファイルを選んでください。"], "", 422)
    raw = upload.read(revisions.MAX_SOURCE + 1)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _show(draft, ["ファイルは UTF-8 の YAML にしてください。"], "", 422)
    try:
        run(revisions.import_draft_source, draft, current_user, text)
    except DraftError as exc:
        return _show(draft, exc.problems, "", 422)
    except DomainError as exc:
        return _show(draft, [exc.message], "", 422)
    flash("YAML ファイルの内容で改訂案を更新しました。", "success")
    return redirect(url_for("checklists.show", version_id=draft.id), code=303)


@bp.get("/<int:version_id>/mapping")
def mapping(version_id):
    version = _draft_or_404(version_id)
    return _mapping(version)


def _mapping(version, error="", focus="", status=200):
    lines = revisions.mapping_lines(version)
    return render_template(
        "checklists/mapping.html",
        version=version,
        lines=lines,
        changes=CHANGES,
        senses=SENSES,
        carries=CARRIES,
        editable=workflow.permitted(current_user, version, "map"),
        error=error,
        focus=focus,
        undecided=sum(1 for line in lines if line.old is not None and not line.decided),
    ), status


@bp.post("/<int:version_id>/mapping")
def set_mapping(version_id):
    draft = _draft_or_404(version_id)
    old_key = request.form.get("old_key", "")
    # The page names the new questions by 設問番号 ("12, 13" for a split); keys are accepted as well.
    new_keys = request.form.getlist("new_keys")
    by_number = load_structure(draft).by_number
    for wanted in re.split(r"[\s,、，]+", request.form.get("new_numbers", "").strip())[:50]:
        if not wanted:
            continue
        found = by_number.get(int(wanted)) if wanted.isdigit() and len(wanted) < 6 else None
        if found is None:
            return _mapping(draft, f"新設問の設問番号「{wanted[:10]}」はこの改訂案にありません。", old_key, 422)
        new_keys.append(found.key)
    try:
        run(
            revisions.set_mapping,
            draft,
            current_user,
            old_key=old_key,
            change=request.form.get("change", ""),
            new_keys=new_keys,
            sense=request.form.get("sense", ""),
            carry=request.form.get("carry", ""),
            reason=request.form.get("reason", ""),
        )
    except DomainError as exc:
        return _mapping(draft, exc.message, old_key, 422)
    flash("新旧対応を保存しました。", "success")
    return redirect(url_for("checklists.mapping", version_id=draft.id) + f"#m-{old_key}", code=303)


def _confirmed_step(version, step, call, *, unconfirmed, done, then):
    """A step that cannot be undone: refused until its confirmation box is ticked, then one transaction."""
    if request.form.get("confirm") != "1":
        return _show(version, [unconfirmed], step, 422)
    try:
        run(call, version, current_user)
    except DomainError as exc:
        return _show(version, [exc.message], step, 422)
    flash(done, "success")
    return redirect(then, code=303)


@bp.post("/<int:version_id>/publish")
def publish(version_id):
    draft = _draft_or_404(version_id)
    return _confirmed_step(
        draft,
        "publish",
        revisions.publish,
        unconfirmed="公開する前に、確認欄にチェックを入れてください。",
        done=f"{draft.title}（{draft.code}）を公開しました。このチェックリストで年度点検を開始できます。",
        then=url_for("checklists.show", version_id=draft.id),
    )


@bp.post("/<int:version_id>/discard")
def discard(version_id):
    draft = _draft_or_404(version_id)
    return _confirmed_step(
        draft,
        "discard",
        revisions.discard_draft,
        unconfirmed="削除する前に、確認欄にチェックを入れてください。",
        done="改訂案を削除しました。",
        then=url_for("checklists.index"),
    )


@bp.post("/<int:version_id>/retire")
def retire(version_id):
    version = _version_or_404(version_id)
    return _confirmed_step(
        version,
        "retire",
        revisions.retire,
        unconfirmed="廃止する前に、確認欄にチェックを入れてください。",
        done=f"{version.code} を廃止しました。新しい年度点検には選べません。",
        then=url_for("checklists.show", version_id=version.id),
    )


# --- 設問別の集計 (per-question statistics) -----------------------------------------------------


def _stats_rows(cycle):
    wanted, category = request.args.get("filter", ""), request.args.get("category", "")
    sort = request.args.get("sort", "number")
    return question_stats.filtered(cycle, wanted, category, sort), wanted, category, sort


@bp.get("/stats")
def stats():
    cycles, cycle = chosen_cycle()
    if cycle is None:
        return render_template("checklists/stats.html", cycle=None, cycles=cycles)
    rows, wanted, category, sort = _stats_rows(cycle)
    structure = load_structure(cycle.version)
    categories = [(c.section.code, f"{c.section.code}. {c.section.title}") for c in structure.categories]
    size = per_page(2)
    page = page_arg()
    redirect_ = past_the_last_page(page, len(rows), size)
    if redirect_:
        return redirect_
    shown = rows[(page - 1) * size : page * size]
    chart = charts.bar_chart(
        "設問ごとの平均点（表示中の設問、3点満点）",
        [(r.question.number, f"設問{r.question.number}") for r in shown[:30]],
        [("今年度", {r.question.number: r.mean for r in shown[:30]})]
        + (
            [("前年度", {r.question.number: r.last_mean for r in shown[:30]})]
            if any(r.last_mean for r in shown)
            else []
        ),
    )
    return render_template(
        "checklists/stats.html",
        cycle=cycle,
        cycles=cycles,
        rows=shown,
        total=len(rows),
        page=page,
        pages=page_count(len(rows), size),
        filters=question_stats.FILTERS,
        sorts=question_stats.SORTS,
        wanted=wanted,
        category=category,
        sort=sort,
        categories=categories,
        chart=chart,
        scale=[e for e in cycle.version.scale],
        error=None,
        focus="",
    )


def _attachment(body, mimetype, name):
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/stats.csv")
def stats_csv():
    _, cycle = chosen_cycle()
    if cycle is None:
        abort(404)
    rows, *_ = _stats_rows(cycle)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(checklist_sheets.stats_header(cycle.version.scale))
    writer.writerows(checklist_sheets.stats_rows(rows, cycle.version.scale))
    return _attachment("\ufeff" + out.getvalue(), "text/csv", f"question-stats-{cycle.fiscal_year}.csv")


@bp.get("/stats.xlsx")
def stats_xlsx():
    _, cycle = chosen_cycle()
    if cycle is None:
        abort(404)
    rows, *_ = _stats_rows(cycle)
    body = checklist_sheets.stats_workbook(cycle, rows)
    return _attachment(body, checklist_sheets.XLSX, f"question-stats-{cycle.fiscal_year}.xlsx")


@bp.get("/stats/<int:cycle_id>/questions/<int:number>")
def question_notes(cycle_id, number):
    cycle = db.session.get(Cycle, cycle_id) or abort(404)
    question = load_structure(cycle.version).by_number.get(number) or abort(404)
    search = (request.args.get("q") or "").strip()[:100]
    size, page = per_page(), page_arg()
    notes, total = question_stats.notes_of(cycle, question.id, search, limit=size, offset=(page - 1) * size)
    redirect_ = past_the_last_page(page, total, size)
    if redirect_:
        return redirect_
    return render_template(
        "checklists/notes.html",
        cycle=cycle,
        question=question,
        notes=notes,
        total=total,
        search=search,
        page=page,
        pages=page_count(total, size),
        points=question_stats.points_of(cycle, question.id),
        findings=question_stats.findings_of(cycle, question.id),
        scale={e["value"]: e["label"] for e in cycle.version.scale},
    )


@bp.post("/stats/<int:cycle_id>/questions/<int:number>/flag")
def flag_question(cycle_id, number):
    cycle = db.session.get(Cycle, cycle_id) or abort(404)
    question = load_structure(cycle.version).by_number.get(number) or abort(404)
    back = url_for("checklists.stats", cycle=cycle.id, **{k: v for k, v in request.args.items() if k != "cycle"})
    try:
        if request.form.get("unflag") == "1":
            run(question_stats.unflag, cycle, current_user, question)
            flash(f"設問{number}の改訂候補を取り消しました。", "success")
        else:
            run(question_stats.flag, cycle, current_user, question, request.form.get("reason", ""))
            flash(f"設問{number}を改訂候補にしました。", "success")
    except DomainError as exc:
        flash(f"設問{number}：{exc.message}", "error")
        return redirect(back + f"#q-{number}", code=303)
    return redirect(back + f"#q-{number}", code=303)


@bp.get("/<int:version_id>/comparison")
def comparison(version_id):
    version = _draft_or_404(version_id)
    rows, cycle = revisions.comparison(version)
    return render_template(
        "checklists/comparison.html",
        version=version,
        rows=rows,
        cycle=cycle,
        changes=CHANGES,
        carries=CARRIES,
        scale=version.based_on.scale,
    )


@bp.get("/<int:version_id>/comparison.xlsx")
def comparison_xlsx(version_id):
    version = _draft_or_404(version_id)
    rows, cycle = revisions.comparison(version)
    body = checklist_sheets.comparison_workbook(version, rows, cycle)
    return _attachment(body, checklist_sheets.XLSX, f"comparison-{version.code}.xlsx")
