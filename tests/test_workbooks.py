"""The Excel round trip: the official layout read back with openpyxl; an upload previewed (changes, errors by
cell, conflicts) and applied in one transaction; other files, a changed record, a zip bomb and an oversized
file refused with nothing changed."""

import io
import zipfile
from datetime import date

import openpyxl
import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from agencyapp.extensions import db
from agencyapp.models import Answer, AuditEvent, Submission, WorkbookImport
from agencyapp.services import DomainError, workbooks
from agencyapp.services.checklists import load_structure
from agencyapp.services.selfcheck import load_state, save_all, save_answer
from tests.factories import PASSWORD, act, make_cycle, submission_of
from tests.test_selfcheck import all_threes


def _reload(submission):
    db.session.expire_all()
    return db.session.get(Submission, submission.id)


@pytest.fixture
def answered(ctx, world):
    submission = world.submission_a
    act(save_all, world.agency, submission, all_threes(submission), submission.lock_version)
    return _reload(submission)


def _book(submission, user):
    return openpyxl.load_workbook(io.BytesIO(workbooks.build(submission, user)))


def _row_of(sheet, number):
    return next(r for r in range(workbooks.FIRST_ROW, sheet.max_row + 1) if sheet.cell(r, 7).value == number)


def _upload(book, name="回答.xlsx"):
    out = io.BytesIO()
    book.save(out)
    return FileStorage(io.BytesIO(out.getvalue()), filename=name)


def _answers(submission):
    return dict(
        db.session.execute(select(Answer.question_id, Answer.value).where(Answer.submission_id == submission.id)).all()
    )


def test_the_workbook_in_the_official_layout(answered, world):
    book = _book(answered, world.agency)
    sheet = book[workbooks.ANSWERS]
    assert [c.value for c in sheet[workbooks.HEADER_ROW]] == workbooks.COLUMNS
    structure = load_structure(answered.cycle.version)
    assert sheet.max_row - workbooks.FIRST_ROW + 1 == len(structure.questions)
    # Drop-downs of the allowed answers, 0 only where 該当なし is allowed.
    lists = {dv.formula1: str(dv.sqref) for dv in sheet.data_validations.dataValidation}
    assert set(lists) == {'"3,2,1"', '"3,2,1,0"'}
    zero = next(q for q in structure.questions if 0 in q.allowed_values)
    assert f"H{_row_of(sheet, zero.number)}" in lists['"3,2,1,0"'].split()
    # Everything protected but the answers and notes.
    row = _row_of(sheet, 1)
    assert sheet.protection.sheet
    assert not sheet.cell(row, 8).protection.locked and not sheet.cell(row, 9).protection.locked
    assert sheet.cell(row, 6).protection.locked and sheet.cell(row, 7).protection.locked
    # A4, fit to width, headings repeated, 和暦 in the header.
    assert str(sheet.page_setup.paperSize) == sheet.PAPERSIZE_A4 and sheet.page_setup.fitToWidth == 1
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.print_title_rows == "$4:$4"
    assert "令和" in sheet.oddHeader.center.text
    assert "記入方法" in book.sheetnames and book[workbooks.STATE].sheet_state == "hidden"
    assert sheet.cell(row, 8).value == 3


def test_an_upload_previews_then_applies_in_one_transaction(answered, world):
    book = _book(answered, world.agency)
    sheet = book[workbooks.ANSWERS]
    for number, value in ((2, 2), (3, 1), (4, 2)):
        sheet.cell(_row_of(sheet, number), 8).value = value
    sheet.cell(_row_of(sheet, 5), 9).value = "規程の第5条で定めている"
    sheet.cell(_row_of(sheet, 6), 8).value = None  # an empty cell: no change
    before = _answers(answered)
    imported, result = act(workbooks.upload, world.agency, answered, _upload(book))
    assert sorted(c.number for c in result.changes) == [2, 3, 4, 5] and not result.errors and not result.conflicts
    assert _answers(_reload(answered)) == before  # a preview saves nothing
    submission = _reload(answered)
    done = act(workbooks.apply, world.agency, submission, imported.id, {}, submission.lock_version)
    assert done == 4
    state = load_state(_reload(answered))
    assert (state.values[2], state.values[3], state.values[4], state.values[6]) == (2, 1, 2, 3)
    assert state.answers[5].note == "規程の第5条で定めている"
    assert db.session.get(WorkbookImport, imported.id).status == "applied"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "answers.imported"))
    assert event.after["questions"] == [2, 3, 4, 5]
    from agencyapp import attachments

    assert attachments.read(imported.stored_name)[:2] == b"PK"  # the file is kept


def test_errors_are_named_by_cell_and_nothing_is_applied(answered, world):
    book = _book(answered, world.agency)
    sheet = book[workbooks.ANSWERS]
    row = _row_of(sheet, 21)
    sheet.cell(row, 8).value = 5
    sheet.cell(_row_of(sheet, 2), 8).value = 1
    imported, result = act(workbooks.upload, world.agency, answered, _upload(book))
    assert any(e.startswith(f"回答!H{row}：設問21の回答は 3・2・1・0 のいずれかです") for e in result.errors)
    submission = _reload(answered)
    with pytest.raises(DomainError, match="誤りがあるため取り込めません"):
        act(workbooks.apply, world.agency, submission, imported.id, {}, submission.lock_version)
    assert load_state(_reload(answered)).values[2] == 3


def test_a_conflict_with_a_change_online_is_resolved_one_by_one(answered, world):
    book = _book(answered, world.agency)
    act(save_answer, world.agency, answered, 2, "1", "画面で変更", answered.lock_version)
    sheet = book[workbooks.ANSWERS]
    sheet.cell(_row_of(sheet, 2), 8).value = 2
    sheet.cell(_row_of(sheet, 3), 8).value = 2
    submission = _reload(answered)
    imported, result = act(workbooks.upload, world.agency, submission, _upload(book))
    assert [c.number for c in result.conflicts] == [2] and [c.number for c in result.changes] == [3]
    conflict = result.conflicts[0]
    assert conflict.downloaded[0] == 3 and conflict.online == (1, "画面で変更") and conflict.file[0] == 2
    submission = _reload(answered)
    with pytest.raises(DomainError, match="設問2は、画面とファイルのどちらにするか"):
        act(workbooks.apply, world.agency, submission, imported.id, {}, submission.lock_version)
    act(workbooks.apply, world.agency, submission, imported.id, {2: "online"}, submission.lock_version)
    state = load_state(_reload(answered))
    assert state.values[2] == 1 and state.values[3] == 2


@pytest.mark.parametrize("case", ["other unit", "other year", "tampered", "not ours"])
def test_other_files_are_refused_and_nothing_changes(answered, world, case):
    if case == "other unit":
        theirs = world.submission_b
        book = _book(theirs, world.agency_b)
        match = "別の機関の自己点検"
    elif case == "other year":
        later = make_cycle([world.unit_a], fiscal_year=2027, due_on=date(2028, 1, 31))
        book = _book(submission_of(later, world.unit_a), world.agency)
        match = "別の年度の自己点検"
    elif case == "tampered":
        book = _book(answered, world.agency)
        hidden = book[workbooks.STATE]
        hidden["A1"] = hidden["A1"].value.replace(f'"submission":{answered.id}', '"submission":999')
        match = "書き換えられている"
    else:
        book = openpyxl.Workbook()
        book.active["A1"] = "ほかのファイル"
        match = "ダウンロードした Excel ファイルではありません"
    book[book.sheetnames[0]].cell(workbooks.FIRST_ROW, 8).value = 1 if case != "not ours" else None
    counts = db.session.scalar(select(func.count()).select_from(WorkbookImport))
    with pytest.raises(DomainError, match=match):
        act(workbooks.upload, world.agency, answered, _upload(book))
    assert db.session.scalar(select(func.count()).select_from(WorkbookImport)) == counts
    assert load_state(_reload(answered)).values[1] == 3


def test_a_zip_bomb_and_an_oversized_file_are_refused(answered, world):
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", "<a>" + "0" * 300_000_000 + "</a>")
    with pytest.raises(DomainError, match="展開後のサイズが大きすぎる|大きすぎます"):
        act(workbooks.upload, world.agency, answered, FileStorage(io.BytesIO(bomb.getvalue()), filename="b.xlsx"))
    big = FileStorage(io.BytesIO(b"PK" + b"\0" * (workbooks.MAX_BYTES + 10)), filename="big.xlsx")
    with pytest.raises(DomainError, match="ファイルが大きすぎます"):
        act(workbooks.upload, world.agency, answered, big)
    assert db.session.scalar(select(func.count()).select_from(WorkbookImport)) == 0


def test_the_round_trip_in_the_pages(answered, world, make_web):
    web = make_web()
    web.login("agency-a", PASSWORD)
    page = web.get(f"/submissions/{answered.id}").get_data(as_text=True)
    assert "Excel ファイルをダウンロード" in page
    response = web.get(f"/submissions/{answered.id}/workbook.xlsx")
    assert response.status_code == 200 and response.content_type.startswith(workbooks.XLSX)
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = book[workbooks.ANSWERS]
    sheet.cell(_row_of(sheet, 2), 8).value = 1
    out = io.BytesIO()
    book.save(out)
    preview = web.post(f"/submissions/{answered.id}/workbook", {"file": (io.BytesIO(out.getvalue()), "回答.xlsx")})
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "まだ何も保存していません" in text and "回答!H" in text
    imported = db.session.scalar(select(WorkbookImport).order_by(WorkbookImport.id.desc()))
    applied = web.post(
        f"/submissions/{answered.id}/workbook/{imported.id}/apply",
        {"lock_version": str(_reload(answered).lock_version)},
    )
    assert applied.status_code == 303
    assert load_state(_reload(answered)).values[2] == 1
    other = make_web()
    other.login("agency-b", PASSWORD)
    assert other.get(f"/submissions/{answered.id}/workbook.xlsx").status_code == 404


def test_a_file_of_the_older_version_is_translated_through_the_mapping(answered, world):
    """Downloaded before the checklist changed (Q1 renumbered to 900, Q8 split): its answers land on this
    version's questions; a row whose question was split cannot be taken over and says so by cell."""
    from agencyapp.services import revisions
    from agencyapp.services.revisions import Edit

    book = _book(answered, world.agency)  # made for this year's version
    draft = act(revisions.start_draft, answered.cycle.version, world.center, code="national-r9", fiscal_year=2027)
    structure = load_structure(draft)
    first, q8 = structure.by_number[1], structure.by_number[8]
    act(revisions.edit_draft, draft, world.center, Edit("question_number", key=first.key, number=900))
    act(revisions.edit_draft, draft, world.center, Edit("split", key=q8.key, text="分割した後半"))
    act(revisions.publish, draft, world.center)
    # The same self-check moved to the new version, as if the file had been kept from the year before.
    submission = _reload(answered)
    from sqlalchemy import update

    from agencyapp.models import Cycle

    old_ids = {q.key: q.id for q in load_structure(submission.cycle.version).questions}
    new_ids = {q.key: q.id for q in load_structure(draft).questions}
    for key, old_id in old_ids.items():
        db.session.execute(
            update(Answer)
            .where(Answer.submission_id == submission.id, Answer.question_id == old_id)
            .values(question_id=new_ids[key])
        )
    db.session.execute(update(Cycle).where(Cycle.id == submission.cycle_id).values(version_id=draft.id))
    db.session.commit()
    sheet = book[workbooks.ANSWERS]
    sheet.cell(_row_of(sheet, 1), 8).value = 2  # old Q1 → new Q900
    sheet.cell(_row_of(sheet, 8), 8).value = 1  # old Q8 was split: copied to both parts
    sheet.cell(_row_of(sheet, 2), 8).value = 1
    submission = _reload(answered)
    imported, result = act(workbooks.upload, world.agency, submission, _upload(book))
    assert result.translated_from == "national-r8" and not result.errors, result.errors
    lines = {line.old.number: line for line in revisions.mapping_lines(draft) if line.old is not None}
    parts = [q.number for q in lines[8].new]
    assert len(parts) == 2 and sorted(c.number for c in result.changes) == sorted([2, 900, *parts])
    submission = _reload(answered)
    act(workbooks.apply, world.agency, submission, imported.id, {}, submission.lock_version)
    state = load_state(_reload(answered))
    assert state.values[900] == 2 and state.values[2] == 1 and all(state.values[n] == 1 for n in parts)


def test_a_file_with_too_many_cells_is_refused(answered, world):
    book = _book(answered, world.agency)
    sheet = book[workbooks.ANSWERS]
    for row in range(sheet.max_row + 1, workbooks.FIRST_ROW + workbooks.MAX_ROWS + 5):
        sheet.cell(row, 9).value = "x"
    with pytest.raises(DomainError, match="セルが多すぎる"):
        act(workbooks.upload, world.agency, answered, _upload(book))
