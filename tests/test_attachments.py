"""Attachment storage: kinds decided by content, size and ZIP-bomb limits, safe names and paths."""

import hashlib
import io
import os
import re
import stat
import zipfile

import pytest
from werkzeug.datastructures import FileStorage

from agencyapp import attachments
from agencyapp.services import DomainError
from tests.ole2 import make_ole2

PDF_BYTES = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + b"\x00" * 32 + b"\xff\xd9"
OLE2_BYTES = make_ole2({"WordDocument": b"\xec\xa5" + b"\0" * 100, "1Table": b"\0" * 10})  # a Word 97–2003 file
OLE2_EXCEL = make_ole2({"Workbook": b"\x09\x08" + b"\0" * 100})
HTML_BYTES = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 56 + b"This program cannot be run in DOS mode."

CONTENT_TYPES_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/xml"/></Types>'
)
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STORED_RE = re.compile(r"[0-9a-f]{32}\.(pdf|docx|xlsx|doc|xls|png|jpg)")
TYPE_REFUSAL = "添付できるのは PDF、Word、Excel、画像（PNG・JPEG）のファイルです。"


def make_zip(entries):
    """A ZIP (deflated) holding ``entries``: {name: bytes or str}."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def make_docx(**extra):
    return make_zip(
        {
            "[Content_Types].xml": CONTENT_TYPES_XML,
            "word/document.xml": '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            "<w:body><w:p><w:r><w:t>改善計画</w:t></w:r></w:p></w:body></w:document>",
            **extra,
        }
    )


def make_xlsx():
    return make_zip(
        {
            "[Content_Types].xml": CONTENT_TYPES_XML,
            "xl/workbook.xml": '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            '<sheets><sheet name="Sheet1" sheetId="1"/></sheets></workbook>',
        }
    )


def upload(data, filename, content_type="application/octet-stream"):
    return FileStorage(stream=io.BytesIO(data), filename=filename, content_type=content_type)


@pytest.fixture
def store_dir(app, tmp_path, monkeypatch):
    """ATTACHMENT_DIR points into tmp_path; yields it inside an app context."""
    directory = tmp_path / "attachments"
    monkeypatch.setitem(app.config, "ATTACHMENT_DIR", str(directory))
    monkeypatch.delitem(app.config, "ATTACHMENT_MAX_BYTES", raising=False)
    with app.app_context():
        yield directory


def files_in(directory):
    """Every file below ``directory`` (temporary ones included)."""
    if not directory.exists():
        return []
    return sorted(p.name for p in directory.rglob("*") if p.is_file())


def refused(upload_file):
    with pytest.raises(DomainError) as caught:
        attachments.store(upload_file)
    return caught.value.message


@pytest.mark.parametrize(
    "data, filename, content_type, extension",
    [
        (PDF_BYTES, "改善計画書.pdf", "application/pdf", ".pdf"),
        (make_docx(), "改善計画.docx", DOCX_TYPE, ".docx"),
        (make_xlsx(), "完了報告.xlsx", XLSX_TYPE, ".xlsx"),
        (OLE2_BYTES, "旧形式.doc", "application/msword", ".doc"),
        (OLE2_EXCEL, "旧形式.xls", "application/vnd.ms-excel", ".xls"),
        (OLE2_EXCEL, "旧形式.XLS", "application/vnd.ms-excel", ".xls"),
        (OLE2_BYTES, "拡張子なし", "application/msword", ".doc"),
        (PNG_BYTES, "写真.png", "image/png", ".png"),
        (JPEG_BYTES, "写真.jpeg", "image/jpeg", ".jpg"),
    ],
)
def test_allowed_kinds_are_stored_under_server_made_names(store_dir, data, filename, content_type, extension):
    stored = attachments.store(upload(data, filename))

    assert STORED_RE.fullmatch(stored.stored_name)
    assert stored.stored_name.endswith(extension)
    assert stored.content_type == content_type
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.original_name == (filename if "." in filename else filename + extension)
    path = attachments.path_of(stored.stored_name)
    assert os.path.dirname(path) == str(store_dir)
    with open(path, "rb") as handle:
        assert handle.read() == data
    assert files_in(store_dir) == [stored.stored_name]


def test_each_upload_gets_a_fresh_name(store_dir):
    first = attachments.store(upload(PDF_BYTES, "a.pdf"))
    second = attachments.store(upload(PDF_BYTES, "a.pdf"))
    assert first.stored_name != second.stored_name
    assert len(files_in(store_dir)) == 2


def test_kind_comes_from_content_not_from_client_name_or_type(store_dir):
    stored = attachments.store(upload(PDF_BYTES, "scan.png", content_type="text/html"))
    assert stored.content_type == "application/pdf"
    assert stored.stored_name.endswith(".pdf")
    # The display name gets the extension that matches the content.
    assert stored.original_name == "scan.png.pdf"


@pytest.mark.parametrize(
    "data, filename, content_type",
    [
        (HTML_BYTES, "report.pdf", "application/pdf"),
        (EXE_BYTES, "report.pdf", "application/pdf"),
        (EXE_BYTES, "改善計画.docx", DOCX_TYPE),
        (make_zip({"readme.txt": "hello"}), "改善計画.docx", DOCX_TYPE),
        (make_zip({"word/document.xml": "<w:document/>"}), "改善計画.docx", DOCX_TYPE),
        (make_zip({"[Content_Types].xml": CONTENT_TYPES_XML, "ppt/presentation.xml": "<p/>"}), "a.docx", DOCX_TYPE),
        (b"GIF89a\x01\x00\x01\x00", "image.png", "image/png"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image.png", "image/png"),
        (b"plain text", "memo.txt", "text/plain"),
        (b" %PDF-1.4", "leading-space.pdf", "application/pdf"),
    ],
)
def test_disguised_or_unknown_files_are_refused_and_nothing_is_written(store_dir, data, filename, content_type):
    message = refused(upload(data, filename, content_type))
    assert "このファイルの種類は添付できません" in message
    assert TYPE_REFUSAL in message
    assert files_in(store_dir) == []


def test_broken_zip_is_refused(store_dir):
    message = refused(upload(b"PK\x03\x04" + b"\x00" * 100, "壊れた.docx"))
    assert "壊れている" in message
    assert files_in(store_dir) == []


def test_oversized_file_is_refused_with_the_limit_in_mb(app, store_dir, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 1024 * 1024)
    data = PDF_BYTES + b"0" * (1024 * 1024)
    message = refused(upload(data, "big.pdf"))
    assert "大きすぎます" in message
    assert "1MB" in message
    assert files_in(store_dir) == []


def test_file_of_exactly_the_limit_is_accepted(app, store_dir, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 4096)
    data = PDF_BYTES + b"0" * (4096 - len(PDF_BYTES))
    assert attachments.store(upload(data, "a.pdf")).size == 4096
    message = refused(upload(data + b"0", "a.pdf"))
    assert "大きすぎます" in message


def test_default_limit_is_10_mib(store_dir):
    data = PDF_BYTES + b"0" * (10 * 1024 * 1024 + 1 - len(PDF_BYTES))
    message = refused(upload(data, "big.pdf"))
    assert "10MB以下" in message
    assert files_in(store_dir) == []


def test_only_limit_plus_one_bytes_are_read(app, store_dir, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 100)

    class CountingStream(io.BytesIO):
        consumed = 0

        def read(self, size=-1):
            chunk = super().read(size)
            CountingStream.consumed += len(chunk)
            return chunk

    stream = CountingStream(PDF_BYTES + b"0" * 100_000)
    with pytest.raises(DomainError):
        attachments.store(FileStorage(stream=stream, filename="big.pdf"))
    assert CountingStream.consumed == 101


def test_empty_file_is_refused(store_dir):
    message = refused(upload(b"", "empty.pdf"))
    assert "空" in message
    assert files_in(store_dir) == []


def test_missing_file_field_is_refused_as_empty(store_dir):
    assert "空" in refused(FileStorage(stream=io.BytesIO(b""), filename=""))


def test_zip_bomb_docx_is_refused(store_dir):
    bomb = make_docx(**{"word/media/zeros.bin": b"\x00" * (50 * 1024 * 1024)})
    assert len(bomb) < 1024 * 1024  # it passes the size limit; the ratio check must catch it
    message = refused(upload(bomb, "改善計画.docx"))
    assert "展開後のサイズが大きすぎる" in message
    assert files_in(store_dir) == []


def test_zip_with_too_many_entries_is_refused(store_dir, monkeypatch):
    monkeypatch.setattr(attachments, "ZIP_MAX_ENTRIES", 10)
    many = make_docx(**{f"word/media/{n}.xml": "<x/>" for n in range(9)})
    assert "展開後" in refused(upload(many, "a.docx"))
    assert files_in(store_dir) == []


def test_zip_with_too_much_declared_content_is_refused(store_dir, monkeypatch):
    monkeypatch.setattr(attachments, "ZIP_MAX_TOTAL_BYTES", 10_000)
    big = make_docx(**{"word/media/noise.bin": os.urandom(20_000)})
    assert "展開後" in refused(upload(big, "a.docx"))
    assert files_in(store_dir) == []


def test_ordinary_compressible_docx_is_accepted(store_dir):
    # Small, very repetitive XML compresses far beyond 200:1 but is harmless.
    docx = make_docx(**{"word/styles.xml": "<w:style/>" * 50_000})
    assert attachments.store(upload(docx, "a.docx")).content_type == DOCX_TYPE


@pytest.mark.parametrize(
    "filename, display",
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\x\\..\\evil.pdf", "evil.pdf"),
        ("/abs/path/計画.pdf", "計画.pdf"),
        ("dir\\sub/mixed.pdf", "mixed.pdf"),
        ("bad\x00na\x1fme\r\n.pdf", "badname.pdf"),
        ("right\u202efdp.exe", "rightfdp.exe.pdf"),
        ("  spaced.pdf  ", "spaced.pdf"),
        ("", "添付ファイル.pdf"),
        (None, "添付ファイル.pdf"),
        ("../", "添付ファイル.pdf"),
        ("..", "添付ファイル.pdf"),
        (".pdf", "添付ファイル.pdf"),
        ("\x00\x01", "添付ファイル.pdf"),
    ],
)
def test_user_filenames_never_reach_the_disk_and_display_names_are_clean(store_dir, filename, display):
    stored = attachments.store(FileStorage(stream=io.BytesIO(PDF_BYTES), filename=filename))

    assert stored.original_name == display
    assert STORED_RE.fullmatch(stored.stored_name)
    assert os.path.dirname(attachments.path_of(stored.stored_name)) == str(store_dir)
    assert files_in(store_dir) == [stored.stored_name]
    assert files_in(store_dir.parent) == [stored.stored_name]  # nothing written beside it


def test_long_display_name_is_cut_to_200_characters_keeping_the_extension(store_dir):
    stored = attachments.store(upload(PDF_BYTES, "あ" * 300 + ".pdf"))
    assert len(stored.original_name) == 200
    assert stored.original_name == "あ" * 196 + ".pdf"


def test_path_of_accepts_only_server_made_names(store_dir):
    good = "0123456789abcdef0123456789abcdef.pdf"
    assert attachments.path_of(good) == os.path.join(str(store_dir), good)
    for bad in [
        "../x",
        "abc.pdf",
        "../0123456789abcdef0123456789abcdef.pdf",
        "/etc/passwd",
        "0123456789abcdef0123456789abcdef.exe",
        "0123456789abcdef0123456789abcdef.html",
        "0123456789abcdef0123456789abcdef.PDF",
        "0123456789ABCDEF0123456789ABCDEF.pdf",
        "0123456789abcdef0123456789abcdef.pdf\n",
        "0123456789abcdef0123456789abcdef.pdf/..",
        "0123456789abcdef0123456789abcdef0.pdf",
        "0123456789abcdef0123456789abcdef",
        "",
        None,
        b"0123456789abcdef0123456789abcdef.pdf",
    ]:
        with pytest.raises(ValueError):
            attachments.path_of(bad)


def test_files_are_private(store_dir):
    stored = attachments.store(upload(PDF_BYTES, "a.pdf"))
    assert stat.S_IMODE(os.stat(attachments.path_of(stored.stored_name)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(store_dir).st_mode) == 0o700


def test_by_default_files_go_into_the_database_and_nothing_to_disk(ctx, app, tmp_path, monkeypatch):
    from agencyapp.extensions import db
    from agencyapp.models import FileBlob

    monkeypatch.delitem(app.config, "ATTACHMENT_DIR", raising=False)
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "instance"))
    stored = attachments.store(upload(PDF_BYTES, "a.pdf"))
    db.session.flush()
    assert db.session.get(FileBlob, stored.stored_name).data == PDF_BYTES
    assert attachments.read(stored.stored_name) == PDF_BYTES
    assert attachments.read("0" * 32 + ".pdf") is None
    assert files_in(tmp_path) == []
    db.session.rollback()
    assert attachments.read(stored.stored_name) is None  # gone with the transaction


def test_failed_write_leaves_no_temporary_file(store_dir, monkeypatch):
    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(attachments.os, "replace", broken_replace)
    with pytest.raises(OSError):
        attachments.store(upload(PDF_BYTES, "a.pdf"))
    assert files_in(store_dir) == []


def test_remove_deletes_a_stored_file_and_ignores_anything_else(store_dir, tmp_path):
    stored = attachments.store(upload(PDF_BYTES, "a.pdf"))
    victim = tmp_path / "victim.pdf"
    victim.write_bytes(b"keep me")

    attachments.remove(stored.stored_name)
    assert files_in(store_dir) == []
    attachments.remove(stored.stored_name)  # already gone: no error
    attachments.remove("../victim.pdf")
    attachments.remove(str(victim))
    attachments.remove(None)
    assert victim.read_bytes() == b"keep me"


# --- macros and legacy files whose type cannot be confirmed --------------------------------------


@pytest.mark.parametrize(
    "data, filename",
    [
        (make_docx(**{"word/vbaProject.bin": b"\xcc\x61" + b"\0" * 64}), "計画.docx"),
        (make_docx(**{"word/vbaData.xml": "<wne:vbaSuppData/>"}), "計画.docm"),
        (
            make_zip(
                {
                    "[Content_Types].xml": CONTENT_TYPES_XML.replace(
                        "</Types>",
                        '<Override PartName="/xl/workbook.xml" '
                        'ContentType="application/vnd.ms-excel.sheet.macroEnabled.main+xml"/></Types>',
                    ),
                    "xl/workbook.xml": "<workbook/>",
                }
            ),
            "報告.xlsx",
        ),
        (make_ole2({"WordDocument": b"\xec\xa5", "Macros/VBA/dir": b"\x01"}), "旧形式.doc"),
        (make_ole2({"Workbook": b"\x09\x08", "_VBA_PROJECT_CUR/VBA/dir": b"\x01"}), "旧形式.xls"),
    ],
)
def test_office_files_with_macros_are_refused(store_dir, data, filename):
    assert "マクロを含むファイルは添付できません" in refused(upload(data, filename))
    assert files_in(store_dir) == []


@pytest.mark.parametrize(
    "data",
    [
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504,  # the signature and nothing readable
        make_ole2({"Contents": b"\x00"}),  # some other compound file (an .msg, a .pub …)
        make_ole2({"WordDocument": b"\xec\xa5", "Workbook": b"\x09\x08"}),  # both at once
    ],
)
def test_legacy_files_whose_type_cannot_be_confirmed_are_refused(store_dir, data):
    message = refused(upload(data, "旧形式.doc"))
    assert "確認できない" in message or "壊れている" in message
    assert files_in(store_dir) == []


def test_a_legacy_file_is_stored_as_what_its_streams_say_whatever_its_name(store_dir):
    assert attachments.store(upload(OLE2_EXCEL, "名前だけ.doc")).content_type == "application/vnd.ms-excel"
    assert attachments.store(upload(OLE2_BYTES, "名前だけ.xls")).content_type == "application/msword"
