"""Files that agencies attach to improvement plans and completion reports.

The kind of a file is decided by its content (magic bytes and, for Office
Open XML, the ZIP structure), never by the filename or Content-Type the
client sent.  Accepted files are kept under a server-made name
(``secrets.token_hex(16)`` plus the canonical extension), by default in the
database (``file_blob``, in the caller's transaction), which every host and
every backup shares; with ``ATTACHMENT_DIR`` configured, in that private
directory instead (a shared mount when there are several hosts).  The user's
filename is only kept, cleaned, as a display name for downloads.
"""

import contextlib
import hashlib
import io
import os
import re
import secrets
import struct
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass

import olefile
from flask import current_app

from agencyapp.services import DomainError

MIB = 1024 * 1024
DEFAULT_MAX_BYTES = 10 * MIB
READ_CHUNK = MIB

ZIP_MAX_TOTAL_BYTES = 100 * MIB  # sum of the declared uncompressed sizes
ZIP_MAX_ENTRIES = 10_000
ZIP_MAX_RATIO = 200
# Entries smaller than this are not ratio-checked: a few KiB of repetitive XML
# can legitimately compress beyond 200:1 and cannot hurt anyone.
ZIP_RATIO_MIN_BYTES = MIB

DISPLAY_NAME_MAX = 200
FALLBACK_DISPLAY_NAME = "添付ファイル"

PDF = "pdf"
DOCX = "docx"
XLSX = "xlsx"
DOC = "doc"
XLS = "xls"
PNG = "png"
JPEG = "jpeg"

# kind: (canonical extension, content type, extensions a display name may keep)
KINDS = {
    PDF: (".pdf", "application/pdf", (".pdf",)),
    DOCX: (".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",)),
    XLSX: (".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",)),
    DOC: (".doc", "application/msword", (".doc",)),
    XLS: (".xls", "application/vnd.ms-excel", (".xls",)),
    PNG: (".png", "image/png", (".png",)),
    JPEG: (".jpg", "image/jpeg", (".jpg", ".jpeg", ".jpe", ".jfif")),
}

STORED_NAME_RE = re.compile(
    r"[0-9a-f]{32}(?:" + "|".join(re.escape(ext) for ext, _, _ in KINDS.values()) + ")",
    re.ASCII,
)

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
PDF_MAGIC = b"%PDF-"
ZIP_MAGIC = b"PK\x03\x04"
# What makes an OLE2 compound file a Word or an Excel 97–2003 document (its main stream), and where
# those keep macros (VBA project storages).
OLE2_WORD_STREAM = "worddocument"
OLE2_EXCEL_STREAMS = ("workbook", "book")
OLE2_MACRO_STORAGES = {"macros", "_vba_project_cur", "_vba_project", "vba"}
# The OOXML parts of a macro-enabled document, whatever its file name says.
OOXML_MACRO_PARTS = ("vbaproject.bin", "vbadata.xml")
OOXML_MACRO_TYPES = (b"macroenabled", b"vbaproject")

EMPTY_MESSAGE = "ファイルが空です。内容のあるファイルを選択してください。"
TYPE_MESSAGE = "このファイルの種類は添付できません。添付できるのは PDF、Word、Excel、画像（PNG・JPEG）のファイルです。"
BROKEN_MESSAGE = (
    "ファイルが壊れているため読み込めませんでした。ファイルを開けることを確認してから、もう一度添付してください。"
)
MACRO_MESSAGE = (
    "マクロを含むファイルは添付できません。"
    "マクロを含まない形式（.docx・.xlsx・PDF など）で保存し直してから添付してください。"
)
OLE2_UNKNOWN_MESSAGE = (
    "旧形式（Office 97–2003）のファイルのうち、Word 文書・Excel ブックであることを確認できないものは添付できません。"
    "PDF か .docx・.xlsx で保存し直してから添付してください。"
)
BOMB_MESSAGE = "ファイルの展開後のサイズが大きすぎるか、構成が異常なため添付できません。"


@dataclass
class StoredFile:
    """An attachment as written to disk; ``original_name`` is the cleaned display name."""

    stored_name: str
    original_name: str
    content_type: str
    size: int
    sha256: str


def read_checked(file_storage, limit, *, too_big="", empty=EMPTY_MESSAGE):
    """(the upload's bytes, their kind by content): at most ``limit`` bytes are read; DomainError, with
    ``too_big`` / ``empty`` or the general messages, when it is too large, empty or of a kind not allowed."""
    filename = getattr(file_storage, "filename", None) or ""
    stream = getattr(file_storage, "stream", None)
    data = _read_capped(stream, limit + 1) if stream is not None else b""
    if len(data) > limit:
        raise DomainError(
            too_big or f"ファイルが大きすぎます。{_format_limit(limit)}以下のファイルを添付してください。", limit=limit
        )
    if not data:
        raise DomainError(empty)
    return data, _detect_kind(data, filename)


def store(file_storage):
    """Check an uploaded FileStorage and write it to the attachment directory."""
    filename = getattr(file_storage, "filename", None) or ""
    data, kind = read_checked(file_storage, max_bytes())
    extension, content_type, _ = KINDS[kind]
    stored_name = secrets.token_hex(16) + extension
    if in_directory():
        _write_atomically(stored_name, data)
    else:
        from agencyapp.extensions import db
        from agencyapp.models import FileBlob

        db.session.add(FileBlob(stored_name=stored_name, data=data))
    return StoredFile(
        stored_name=stored_name,
        original_name=clean_display_name(filename, kind),
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def in_directory():
    """Files go to ATTACHMENT_DIR when one is configured, else into the database."""
    return bool(current_app.config.get("ATTACHMENT_DIR"))


def read(stored_name):
    """The bytes of a stored file, or None when it is missing (wherever files are kept)."""
    if in_directory():
        try:
            with open(path_of(stored_name), "rb") as handle:
                return handle.read()
        except (ValueError, FileNotFoundError):
            return None
    from agencyapp.extensions import db
    from agencyapp.models import FileBlob

    blob = db.session.get(FileBlob, stored_name)
    return blob.data if blob is not None else None


def path_of(stored_name):
    """The absolute path of a server-made name; ValueError for anything else."""
    if not isinstance(stored_name, str) or not STORED_NAME_RE.fullmatch(stored_name):
        raise ValueError(f"not a stored attachment name: {stored_name!r}")
    return os.path.join(storage_dir(), stored_name)


def remove(stored_name):
    """Delete a file written to ATTACHMENT_DIR if it exists; never raises (for cleanup after a failed
    transaction; a file in the database goes with the transaction itself)."""
    if not in_directory():
        return
    try:
        os.remove(path_of(stored_name))
    except (ValueError, FileNotFoundError):
        pass
    except OSError:
        current_app.logger.warning("could not remove attachment %r", stored_name, exc_info=True)


def storage_dir():
    """The absolute directory attachments are kept in when ATTACHMENT_DIR is set (not created here)."""
    return os.path.abspath(os.fspath(current_app.config["ATTACHMENT_DIR"]))


def max_bytes():
    """The configured size limit of one attachment in bytes."""
    value = current_app.config.get("ATTACHMENT_MAX_BYTES")
    return DEFAULT_MAX_BYTES if value is None else int(value)


def clean_display_name(filename, kind):
    """The user's filename without directories or control characters, at most 200 characters."""
    extension, _, kept_extensions = KINDS[kind]
    name = unicodedata.normalize("NFC", filename or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp"))
    name = name.strip()
    if name.strip(".") == "" or name.lower() in kept_extensions:
        return FALLBACK_DISPLAY_NAME + extension
    if not name.lower().endswith(kept_extensions):
        name += extension  # the download opens with the program that fits its content
    if len(name) > DISPLAY_NAME_MAX:
        stem, ext = os.path.splitext(name)
        name = stem[: DISPLAY_NAME_MAX - len(ext)].rstrip() + ext
    return name


def _read_capped(stream, limit):
    """Read at most ``limit`` bytes, tolerating streams that return short reads."""
    chunks = []
    total = 0
    while total < limit:
        chunk = stream.read(min(limit - total, READ_CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _format_limit(limit):
    """The size limit for a message: in MB, in bytes only when below 0.1 MB."""
    if limit >= MIB // 10:
        return f"{round(limit / MIB, 1):g}MB"
    return f"{limit:,}バイト"


def _detect_kind(data, filename):
    """The kind of ``data`` by its content; DomainError when it is not allowed."""
    if data.startswith(PDF_MAGIC):
        return PDF
    if data.startswith(PNG_MAGIC):
        return PNG
    if data.startswith(JPEG_MAGIC):
        return JPEG
    if data.startswith(OLE2_MAGIC):
        return _detect_ole2(data)
    if data.startswith(ZIP_MAGIC):
        return _detect_ooxml(data)
    raise DomainError(TYPE_MESSAGE)


def _detect_ooxml(data):
    """DOCX or XLSX after checking the ZIP's structure and declared sizes."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError, OSError):
        raise DomainError(BROKEN_MESSAGE) from None
    names = {entry.filename.lower() for entry in entries}
    if "[content_types].xml" not in names:
        raise DomainError(TYPE_MESSAGE)
    is_word = "word/document.xml" in names
    is_excel = "xl/workbook.xml" in names
    if is_word == is_excel:  # neither, or an ambiguous mixture
        raise DomainError(TYPE_MESSAGE)
    _check_zip_bomb(entries)
    if any(name.rsplit("/", 1)[-1] in OOXML_MACRO_PARTS for name in names) or _declares_macros(data):
        raise DomainError(MACRO_MESSAGE)
    return DOCX if is_word else XLSX


def _declares_macros(data):
    """A macro-enabled main part (.docm/.xlsm renamed) declares it in [Content_Types].xml."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        name = next(n for n in archive.namelist() if n.lower() == "[content_types].xml")
        with archive.open(name) as part:
            types = part.read(ZIP_RATIO_MIN_BYTES).lower()
    return any(marker in types for marker in OOXML_MACRO_TYPES)


def _detect_ole2(data):
    """DOC or XLS by the compound file's own streams (never by the file name); refused when it carries
    macros or is neither a Word document nor an Excel workbook (olefile reads the directory)."""
    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            paths = [[part.lower() for part in path] for path in ole.listdir(streams=True, storages=True)]
    except (OSError, ValueError, IndexError, struct.error, RecursionError):
        raise DomainError(BROKEN_MESSAGE) from None
    if any(OLE2_MACRO_STORAGES.intersection(path) for path in paths):
        raise DomainError(MACRO_MESSAGE)
    top = {path[0] for path in paths if len(path) == 1}
    is_word = OLE2_WORD_STREAM in top
    is_excel = any(name in top for name in OLE2_EXCEL_STREAMS)
    if is_word == is_excel:
        raise DomainError(OLE2_UNKNOWN_MESSAGE)
    return DOC if is_word else XLS


def _check_zip_bomb(entries):
    """Refuse archives whose declared expansion is excessive."""
    if len(entries) > ZIP_MAX_ENTRIES:
        raise DomainError(BOMB_MESSAGE)
    total = 0
    for entry in entries:
        total += entry.file_size
        if total > ZIP_MAX_TOTAL_BYTES:
            raise DomainError(BOMB_MESSAGE)
        if entry.file_size >= ZIP_RATIO_MIN_BYTES and entry.file_size > ZIP_MAX_RATIO * max(entry.compress_size, 1):
            raise DomainError(BOMB_MESSAGE)


def _write_atomically(stored_name, data):
    """Write ``data`` under ``stored_name`` via a temporary file and os.replace, mode 0o600."""
    final_path = path_of(stored_name)
    directory = os.path.dirname(final_path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, temp_path = tempfile.mkstemp(dir=directory, prefix=".upload-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_path, final_path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temp_path)
        raise
