"""チェックリストの改訂 (center): the versions, a draft's workbench, its old → new mapping and publishing."""

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from agencyapp.extensions import db
from agencyapp.formatting import fiscal_year_of, today_tokyo
from agencyapp.inputs import ident
from agencyapp.models import ChecklistVersion
from agencyapp.services import DomainError, revisions, workflow
from agencyapp.services.checklists import load_structure
from agencyapp.services.revisions import CARRIES, CHANGES, SENSES, DraftError, Edit
from agencyapp.views.common import run

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
    try:
        summary = run(revisions.edit_draft, draft, current_user, change)
    except DraftError as exc:
        db.session.rollback()
        return _show(draft, exc.problems, change.key, 422)
    except DomainError as exc:
        db.session.rollback()
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
        db.session.rollback()
        return _show(draft, exc.problems, "", 422)
    except DomainError as exc:
        db.session.rollback()
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
        new_questions=load_structure(version).questions,
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
    try:
        run(
            revisions.set_mapping,
            draft,
            current_user,
            old_key=old_key,
            change=request.form.get("change", ""),
            new_keys=request.form.getlist("new_keys"),
            sense=request.form.get("sense", ""),
            carry=request.form.get("carry", ""),
            reason=request.form.get("reason", ""),
        )
    except DomainError as exc:
        db.session.rollback()
        return _mapping(draft, exc.message, old_key, 422)
    flash("新旧対応を保存しました。", "success")
    return redirect(url_for("checklists.mapping", version_id=draft.id) + f"#m-{old_key}", code=303)


@bp.post("/<int:version_id>/publish")
def publish(version_id):
    draft = _draft_or_404(version_id)
    if request.form.get("confirm") != "1":
        return _show(draft, ["公開する前に、確認欄にチェックを入れてください。"], "publish", 422)
    try:
        run(revisions.publish, draft, current_user)
    except DomainError as exc:
        db.session.rollback()
        return _show(draft, [exc.message], "publish", 422)
    flash(f"{draft.title}（{draft.code}）を公開しました。このチェックリストで年度点検を開始できます。", "success")
    return redirect(url_for("checklists.show", version_id=draft.id), code=303)


@bp.post("/<int:version_id>/discard")
def discard(version_id):
    draft = _draft_or_404(version_id)
    if request.form.get("confirm") != "1":
        return _show(draft, ["削除する前に、確認欄にチェックを入れてください。"], "discard", 422)
    try:
        run(revisions.discard_draft, draft, current_user)
    except DomainError as exc:
        db.session.rollback()
        return _show(draft, [exc.message], "discard", 422)
    flash("改訂案を削除しました。", "success")
    return redirect(url_for("checklists.index"), code=303)


@bp.post("/<int:version_id>/retire")
def retire(version_id):
    version = _version_or_404(version_id)
    if request.form.get("confirm") != "1":
        return _show(version, ["廃止する前に、確認欄にチェックを入れてください。"], "retire", 422)
    try:
        run(revisions.retire, version, current_user)
    except DomainError as exc:
        db.session.rollback()
        return _show(version, [exc.message], "retire", 422)
    flash(f"{version.code} を廃止しました。新しい年度点検には選べません。", "success")
    return redirect(url_for("checklists.show", version_id=version.id), code=303)
