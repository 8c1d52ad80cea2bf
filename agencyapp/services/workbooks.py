"""The self-check as an Excel workbook in the official 調査表 layout, and back.

Download: the sheet 「回答」 (大分類, 中分類, 小分類, 管理目標, 小項目番号, 管理状況, 設問番号, 回答, 備考) with the
answer cells as drop-down lists of the allowed answers (該当なし only where allowed) and everything but the
answers and notes protected, an instructions sheet, A4 print settings, and a hidden sheet 「_state」 that
records the self-check, the checklist version and each answer's state at download, signed (HMAC with the
app's secret) so that a changed record is refused.

Upload: never a save. The file is checked (type, size, expansion: agencyapp/attachments.py) and kept, read
with openpyxl in read-only mode (XML through defusedxml) under a cell cap, and compared with the answers
online: every change, every error by cell (「回答!H12：…」) and every conflict — an answer changed online
since the download and differently in the file — for the contact to decide one by one. Applying writes the
chosen changes in one transaction, audited. An empty cell means "no change". A file of another self-check
is refused; one of an older version of the checklist is translated through the mapping.
"""

import hashlib
import hmac
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import current_app
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.worksheet.datavalidation import DataValidation

from agencyapp import attachments
from agencyapp.extensions import db
from agencyapp.formatting import datetime_ja, fiscal_year_label
from agencyapp.models import ChecklistVersion, Submission, User, WorkbookImport
from agencyapp.services import DomainError, revisions, workflow
from agencyapp.services.checklists import load_structure

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ANSWERS, GUIDE, STATE = "回答", "記入方法", "_state"
HEADER_ROW, FIRST_ROW = 4, 5
COLUMNS = ["大分類", "中分類", "小分類", "管理目標", "小項目番号", "管理状況", "設問番号", "回答", "備考"]
NUMBER_COL, ANSWER_COL, NOTE_COL = 7, 8, 9  # G, H, I
MAX_BYTES = 2 * 1024 * 1024
MAX_CELLS = 40_000  # cells read from the answer sheet at most (a genuine file has about 1,300)
MAX_ROWS = 2_000

_THIN = Side(style="thin", color="808080")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP = Alignment(wrap_text=True, vertical="top")
_INPUT = PatternFill("solid", fgColor="FFF9DB")


def _rows(structure):
    """(大分類, 中分類, 小分類, 管理目標, 小項目番号, 管理状況, question) per question, in the document's order."""
    for cat in structure.categories:
        for sub in cat.children:
            for group in sub.children:
                for g in group.goals:
                    goal = f"{g.goal.number}. {g.goal.text}"
                    names = (f"{cat.section.code} {cat.section.title}", f"{sub.section.code} {sub.section.title}")
                    names += (f"{group.section.code} {group.section.title}",)
                    if g.question:
                        yield (*names, goal, "", g.question.text, g.question)
                    for item, q in g.items:
                        if q:
                            yield (*names, goal, item.number, item.text, q)


def _sign(text: str) -> str:
    key = current_app.config["SECRET_KEY"].encode("utf-8")
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def _note_digest(note: str) -> str:
    return hashlib.sha256((note or "").encode("utf-8")).hexdigest()[:16]


def build(submission: Submission, user: User) -> bytes:
    """The workbook of the self-check as it stands now."""
    from agencyapp.services.selfcheck import load_state

    state = load_state(submission)
    structure = state.structure
    cycle, unit = submission.cycle, submission.unit
    now = datetime.now(UTC)
    book = Workbook()
    sheet = book.active
    sheet.title = ANSWERS
    year = fiscal_year_label(cycle.fiscal_year)
    sheet["A1"] = f"{year} {cycle.title} 調査表"
    sheet["A1"].font = Font(bold=True, size=13)
    sheet["A2"] = (
        f"{unit.full_name}　チェックリスト：{cycle.version.code}"
        f"　ダウンロード：{datetime_ja(now)}（{user.display_name}）"
    )
    sheet.append([])
    sheet.append(COLUMNS)
    for cell in sheet[HEADER_ROW]:
        cell.font, cell.border, cell.alignment = Font(bold=True), _BOX, _WRAP
        cell.fill = PatternFill("solid", fgColor="E8E8E8")
    lists = {}
    record = {}
    row = FIRST_ROW
    for *names, question in _rows(structure):
        answer = state.answers.get(question.number)
        value = state.values.get(question.number)
        note = answer.note if answer else ""
        sheet.append([*names, question.number, value, note or None])
        allowed = ",".join(str(v) for v in sorted(question.allowed_values, reverse=True))
        if allowed not in lists:
            lists[allowed] = DataValidation(
                type="list",
                formula1=f'"{allowed}"',
                allow_blank=True,
                showErrorMessage=True,
                errorTitle="回答の値",
                error=f"回答は {allowed.replace(',', '・')} のいずれかを選んでください。",
                promptTitle="回答",
                prompt="3 実施している／2 一部実施している／1 実施していない"
                + ("／0 該当なし" if "0" in allowed else ""),
            )
        lists[allowed].add(f"H{row}")
        for column in range(1, NOTE_COL + 1):
            cell = sheet.cell(row=row, column=column)
            cell.border, cell.alignment = _BOX, _WRAP
        for column in (ANSWER_COL, NOTE_COL):
            cell = sheet.cell(row=row, column=column)
            cell.protection, cell.fill = Protection(locked=False), _INPUT
        if not state.applies[question.number]:
            sheet.cell(row=row, column=6).value = f"{names[-1]}（現在は該当なし：{state.off_reason(question)}）"
        record[str(question.number)] = [
            question.key,
            answer.version if answer else 0,
            value,
            _note_digest(note),
            row,
        ]
        row += 1
    for validation in lists.values():
        sheet.add_data_validation(validation)
    for letter, width in zip("ABCDEFGHI", (16, 18, 20, 30, 8, 50, 8, 8, 40), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = f"A{FIRST_ROW}"
    sheet.protection.sheet = True
    sheet.protection.formatRows = False  # row heights may change, to read long notes
    sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.oddHeader.center.text = f"{year} 自己点検 調査表　{unit.full_name}"
    sheet.oddFooter.center.text = "&P / &N"

    guide = book.create_sheet(GUIDE)
    for line in (
        "記入方法",
        "",
        "1. 「回答」シートの黄色の欄（回答・備考）だけを記入します。ほかの欄は変更できません。",
        "2. 回答は一覧から選びます（3 実施している／2 一部実施している／1 実施していない、"
        "該当なしを認める設問だけ 0 該当なし）。",
        "3. 空欄のままの回答・備考は「変更なし」として扱います（画面の回答は消えません）。",
        "4. 記入したファイルは、自己点検の画面の「Excel ファイルを取り込む」からアップロードします。",
        "   取り込む前に、変更される設問・誤りのあるセル・ダウンロードの後に画面で変更された設問が一覧されます。",
        "   内容を確かめてから「取り込む」を押すまで、何も保存されません。",
        "5. このファイルはこの機関のこの年度の自己点検専用です。行の追加・削除、シート名の変更はしないでください。",
        "6. 非表示のシート「_state」はダウンロード時の記録です。変更すると取り込めなくなります。",
        "",
        f"ダウンロード：{datetime_ja(now)}　{unit.full_name}　{year}",
    ):
        guide.append([line])
    guide["A1"].font = Font(bold=True, size=13)
    guide.column_dimensions["A"].width = 120
    guide.protection.sheet = True

    hidden = book.create_sheet(STATE)
    document = json.dumps(
        {
            "v": 1,
            "submission": submission.id,
            "unit": unit.code,
            "cycle": cycle.id,
            "fiscal_year": cycle.fiscal_year,
            "version_id": cycle.version_id,
            "version": cycle.version.code,
            "downloaded_at": now.isoformat(),
            "answers": record,
        },
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    hidden["A1"], hidden["A2"] = document, _sign(document)
    hidden.sheet_state = "hidden"
    hidden.protection.sheet = True
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- reading a file back ----------------------------------------------------------------------------


@dataclass
class Change:
    number: int
    cell: str
    online: tuple  # (value, note) now
    file: tuple  # (value, note) in the file; None where the file leaves it unchanged


@dataclass
class Conflict:
    number: int
    cell: str
    downloaded: tuple  # (value, note digest) at download
    online: tuple  # (value, note) now
    file: tuple  # (value, note) in the file


@dataclass
class Preview:
    changes: list = field(default_factory=list)
    conflicts: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # 「回答!H12：…」
    translated_from: str = ""  # the older checklist version the file was made for


def _refuse(message: str):
    raise DomainError(message)


def _read(data: bytes):
    """The state record and the answer rows of a workbook: (state, {row: (number, value, note)})."""
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - any failure of the reader means a broken file, said in Japanese
        _refuse("Excel ファイルを読み込めませんでした。ダウンロードしたファイルに記入して、そのまま保存してください。")
    try:
        if STATE not in book.sheetnames or ANSWERS not in book.sheetnames:
            _refuse("この自己点検のためにダウンロードした Excel ファイルではありません（必要なシートがありません）。")
        state_sheet = book[STATE]
        cells = [
            row[0] if row else None for row in state_sheet.iter_rows(min_row=1, max_row=2, max_col=1, values_only=True)
        ]
        document, signature = (cells + [None, None])[:2]
        if (
            not isinstance(document, str)
            or not isinstance(signature, str)
            or not hmac.compare_digest(_sign(document), signature)
        ):
            _refuse("ファイルの記録（非表示のシート「_state」）が壊れているか、書き換えられているため取り込めません。")
        state = json.loads(document)
        rows, count = {}, 0
        for index, row in enumerate(
            book[ANSWERS].iter_rows(min_row=FIRST_ROW, max_col=NOTE_COL, values_only=True), start=FIRST_ROW
        ):
            count += len(row)
            if count > MAX_CELLS or index >= FIRST_ROW + MAX_ROWS:
                _refuse("ファイルのセルが多すぎるため取り込めません。ダウンロードしたファイルに記入してください。")
            if not any(v not in (None, "") for v in row):
                continue
            padded = list(row) + [None] * (NOTE_COL - len(row))
            rows[index] = (padded[NUMBER_COL - 1], padded[ANSWER_COL - 1], padded[NOTE_COL - 1])
        return state, rows
    finally:
        book.close()


def _value_of(raw, question, cell):
    """An answer from a cell: None for an empty cell (no change); DomainError with the cell's reference."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    allowed = sorted(question.allowed_values, reverse=True)
    text = str(raw).strip()
    if isinstance(raw, float) and raw.is_integer():
        text = str(int(raw))
    if text.isdigit() and int(text) in question.allowed_values:
        return int(text)
    raise DomainError(
        f"{cell}：設問{question.number}の回答は {'・'.join(map(str, allowed))} のいずれかです（「{text[:10]}」）。"
    )


def preview(submission: Submission, data: bytes) -> Preview:
    """What applying the file would change, its errors by cell and its conflicts (changes nothing)."""
    from agencyapp.services.selfcheck import NOTE_MAX, load_state

    file_state, rows = _read(data)
    if file_state.get("submission") != submission.id:
        same_unit = file_state.get("unit") == submission.unit.code
        _refuse(
            "このファイルは別の年度の自己点検のものです。今年度の自己点検の画面からダウンロードし直してください。"
            if same_unit
            else "このファイルは別の機関の自己点検のものです。自分の機関の自己点検の画面からダウンロードしてください。"
        )
    structure = load_structure(submission.cycle.version)
    result = Preview()
    translate = None
    if file_state.get("version_id") != submission.cycle.version_id:
        old = db.session.get(ChecklistVersion, file_state.get("version_id"))
        lines = revisions.lineage(old.id, submission.cycle.version) if old is not None else {}
        if not lines:
            _refuse("このファイルのチェックリストの版は、今年度の版と対応していないため取り込めません。")
        by_old_key = {}
        for key, line in lines.items():
            if line.carry == "copy" and len(line.old_keys) == 1:
                by_old_key.setdefault(line.old_keys[0], []).append(key)
        numbers = {q.key: q.number for q in structure.questions}
        translate = {
            int(n): [numbers[k] for k in by_old_key.get(entry[0], []) if k in numbers]
            for n, entry in file_state["answers"].items()
        }
        result.translated_from = old.code
    state = load_state(submission)
    recorded = file_state["answers"]
    by_row = {entry[4]: int(n) for n, entry in recorded.items()}
    for row, (shown_number, raw_value, raw_note) in sorted(rows.items()):
        number = by_row.get(row)
        if number is None or shown_number != number:
            if raw_value not in (None, "") or raw_note not in (None, ""):
                result.errors.append(f"{ANSWERS}!G{row}：設問番号の欄が変わっているか、行が追加・移動されています。")
            continue
        targets = translate.get(number, []) if translate is not None else [number]
        if translate is not None and not targets:
            if raw_value not in (None, "") or raw_note not in (None, ""):
                result.errors.append(
                    f"{ANSWERS}!H{row}：設問{number}（{result.translated_from}）はチェックリストの改訂で変わったため、"
                    "このファイルからは取り込めません。画面で回答してください。"
                )
            continue
        for target in targets:
            question = structure.by_number[target]
            cell = f"{ANSWERS}!H{row}"
            try:
                value = _value_of(raw_value, question, cell)
            except DomainError as exc:
                result.errors.append(exc.message)
                continue
            note = None
            if raw_note not in (None, ""):
                note = str(raw_note).replace("\r\n", "\n").strip()
                if len(note) > NOTE_MAX:
                    result.errors.append(
                        f"{ANSWERS}!I{row}：設問{target}の備考は{NOTE_MAX}文字以内です（{len(note)}文字）。"
                    )
                    continue
            if value is not None and not state.applies[target]:
                result.errors.append(
                    f"{cell}：設問{target}は{state.off_reason(question)}に回答する設問のため、現在は該当なしです。"
                )
                continue
            answer = state.answers.get(target)
            online = (state.values.get(target), answer.note if answer else "")
            wanted = (value if value is not None else online[0], note if note is not None else online[1])
            if wanted == online:  # (a carried answer left as it is stays to be confirmed on the page)
                continue
            entry = recorded[str(number)]
            moved = translate is None and (answer.version if answer else 0) != entry[1]
            file_side = (value, note)
            if moved:
                result.conflicts.append(Conflict(target, cell, (entry[2], entry[3]), online, file_side))
            else:
                result.changes.append(Change(target, cell, online, file_side))
    return result


def upload(user: User, submission: Submission, file_storage) -> tuple[WorkbookImport, Preview]:
    """Keep the uploaded file (checked) and say what it would change; nothing in the self-check changes."""
    workflow.check(submission, "import_workbook", user)
    data, kind = attachments.read_checked(
        file_storage,
        MAX_BYTES,
        too_big=f"ファイルが大きすぎます（{MAX_BYTES // (1024 * 1024)}MB まで）。",
        empty="Excel ファイルを選んでください。",
    )
    if kind != attachments.XLSX:
        raise DomainError("Excel ファイル（.xlsx）を選んでください。")
    result = preview(submission, data)
    file_storage.stream = io.BytesIO(data)
    stored = attachments.store(file_storage)
    row = WorkbookImport(
        submission_id=submission.id,
        stored_name=stored.stored_name,
        original_name=stored.original_name,
        sha256=stored.sha256,
        uploaded_by_id=user.id,
    )
    db.session.add(row)
    db.session.flush()
    return row, result


def apply(user: User, submission: Submission, import_id: int, choices: dict[int, str], lock_version: int | None) -> int:
    """Write the file's changes and, for each conflict, the side chosen (``choices``: number → "file" or
    "online"), in one transaction; refused if the preview is out of date or a conflict is undecided."""
    from agencyapp.services.approvals import superseded_by_change
    from agencyapp.services.selfcheck import STALE, _write_answer, load_state

    workflow.check(submission, "import_workbook", user)
    workflow.check_lock(submission, lock_version, STALE)
    row = db.session.get(WorkbookImport, import_id)
    if row is None or row.submission_id != submission.id or row.status != "previewed":
        raise DomainError("取り込むファイルが見つかりません。もう一度アップロードしてください。")
    result = preview(submission, attachments.read(row.stored_name))
    if result.errors:
        raise DomainError("ファイルに誤りがあるため取り込めません。誤りを直してからアップロードし直してください。")
    undecided = [c.number for c in result.conflicts if choices.get(c.number) not in ("file", "online")]
    if undecided:
        raise DomainError(
            f"設問{'、'.join(map(str, undecided))}は、画面とファイルのどちらにするか選んでください。",
            conflicts=undecided,
        )
    writes = [(c.number, c.online, c.file) for c in result.changes]
    writes += [(c.number, c.online, c.file) for c in result.conflicts if choices[c.number] == "file"]
    state = load_state(submission, plain=True)
    now = datetime.now(UTC)
    if writes:
        superseded_by_change(submission, user)
    for number, online, file_side in writes:
        value = file_side[0] if file_side[0] is not None else online[0]
        note = file_side[1] if file_side[1] is not None else online[1]
        question = state.structure.by_number[number]
        _write_answer(submission, question, state.answers.get(number), value, note, user, now)
    row.status, row.applied_at, row.changes = "applied", now, len(writes)
    workflow.apply(
        submission,
        "import_workbook",
        user,
        summary=f"Excel ファイル「{row.original_name}」から{len(writes)}件の回答を取り込みました",
        after={"file": row.original_name, "sha256": row.sha256, "questions": [n for n, _, _ in writes]},
    )
    workflow.bump_lock(submission, updated_at=now)
    return len(writes)


def previewed(submission: Submission, import_id: int) -> tuple[WorkbookImport, Preview] | None:
    """An upload of the self-check not yet applied, with its preview as things stand now; None if there is none."""
    row = db.session.get(WorkbookImport, import_id)
    if row is None or row.submission_id != submission.id or row.status != "previewed":
        return None
    try:
        return row, preview(submission, attachments.read(row.stored_name))
    except DomainError:
        return None
