"""Backups an operator can restore: the database (with the attached files kept in it) in one file.

SQLite is copied through its online backup API (a consistent copy while the app keeps writing; a
plain ``cp`` misses what is still in the ``-wal`` file); PostgreSQL with ``pg_dump -Fc`` (one
snapshot) and restored with ``pg_restore``. Files kept in ``ATTACHMENT_DIR`` instead of the database
go into ``<backup>.attachments.tar.gz`` beside it.
"""

import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """What went wrong, in Japanese, for the operator."""


@dataclass
class Done:
    path: Path
    size: int
    files: Path | None  # the attachments archive, when files are kept in a directory


def _files_archive(dest: Path) -> Path:
    return dest.with_name(dest.name + ".attachments.tar.gz")


def _libpq_url(url) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def backup(database_url: str, dest: str | os.PathLike, attachment_dir: str | None = None) -> Done:
    """Write a restorable copy of the database to ``dest`` (written under a temporary name, then renamed)."""
    url = make_url(database_url)
    dest = Path(dest).resolve()
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=dest.parent, prefix=".backup-", suffix=".partial")
    os.close(fd)
    try:
        if url.get_backend_name() == "sqlite":
            _sqlite_copy(url.database, temporary)
            _sqlite_check(temporary)
        elif url.get_backend_name() == "postgresql":
            _run(["pg_dump", "--format=custom", "--no-owner", f"--file={temporary}", f"--dbname={_libpq_url(url)}"])
        else:
            raise BackupError(f"このデータベース（{url.get_backend_name()}）のバックアップには対応していません。")
        os.replace(temporary, dest)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    files = None
    if attachment_dir and os.path.isdir(attachment_dir):
        files = _files_archive(dest)
        with tarfile.open(files, "w:gz") as archive:
            archive.add(attachment_dir, arcname="attachments")
    return Done(dest, dest.stat().st_size, files)


def restore(database_url: str, source: str | os.PathLike, attachment_dir: str | None = None) -> Done:
    """Replace the database's contents with the backup ``source`` (and the attachment directory's files
    with its archive, when there is one)."""
    url = make_url(database_url)
    source = Path(source).resolve()
    if not source.is_file():
        raise BackupError(f"バックアップファイルが見つかりません: {source}")
    if url.get_backend_name() == "sqlite":
        _sqlite_check(source)
        _sqlite_copy(str(source), url.database)
    elif url.get_backend_name() == "postgresql":
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                f"--dbname={_libpq_url(url)}",
                str(source),
            ]
        )
    else:
        raise BackupError(f"このデータベース（{url.get_backend_name()}）の復元には対応していません。")
    files = _files_archive(source)
    if attachment_dir and files.is_file():
        target = Path(attachment_dir)
        with tempfile.TemporaryDirectory(dir=target.parent if target.parent.exists() else None) as unpacked:
            with tarfile.open(files, "r:gz") as archive:
                archive.extractall(unpacked, filter="data")
            if target.exists():
                shutil.rmtree(target)
            shutil.move(os.path.join(unpacked, "attachments"), target)
    return Done(source, source.stat().st_size, files if files.is_file() else None)


def _sqlite_copy(source: str, target: str) -> None:
    """The SQLite online backup: a consistent copy even while other connections write."""
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(target, timeout=30)
        try:
            src.backup(dst)
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite のコピーに失敗しました: {exc}") from exc
    finally:
        src.close()


def _sqlite_check(path) -> None:
    connection = sqlite3.connect(path)
    try:
        result = connection.execute("PRAGMA integrity_check").fetchone()[0]
        tables = connection.execute("SELECT count(*) FROM sqlite_master WHERE name = 'user_account'").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"このシステムの SQLite データベースではありません: {exc}") from exc
    finally:
        connection.close()
    if result != "ok":
        raise BackupError(f"データベースの整合性の検査で問題が見つかりました: {result}")
    if not tables:
        raise BackupError("このシステムのデータベース（利用者の表 user_account がある）ではありません。")


def _run(command: list[str]) -> None:
    tool = command[0]
    if shutil.which(tool) is None:
        raise BackupError(f"{tool} が見つかりません（Debian: apt-get install postgresql-client）。")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{tool} が失敗しました: {done.stderr.strip()[:2000]}")
