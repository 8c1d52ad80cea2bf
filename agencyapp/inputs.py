"""Numbers from the outside world (URLs, query strings, form fields), read one way everywhere.

An id is ASCII digits within the range of the database's integer columns; anything else is not an
id (a route answers 404, a form field counts as missing), never a database error.
"""

import re
from collections.abc import Iterable

from flask import Request, request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # PostgreSQL's integer; SQLite's is wider, but the same rule holds on both
_DIGITS = re.compile(r"[0-9]{1,10}")


def ident(value) -> int:
    """``int`` for ids and counts from a form or query string: raises ValueError unless ASCII digits
    in 0..MAX_ID (``int()`` takes "²", "٣", " 12 ", "1_0" and numbers of any size)."""
    text = value if isinstance(value, str) else str(value)
    if not _DIGITS.fullmatch(text):
        raise ValueError(f"not an id: {text[:20]!r}")
    number = int(text)
    if number > MAX_ID:
        raise ValueError(f"id out of range: {text}")
    return number


def ident_or_none(value) -> int | None:
    try:
        return ident(value)
    except ValueError:
        return None


def idents(values: Iterable) -> set[int]:
    """The ids among ``values`` (checkbox lists); the rest are ignored."""
    return {n for n in (ident_or_none(v) for v in values) if n is not None}


def at_most(limit: int) -> str:
    """A regular expression for the decimal numbers 0..limit (no sign, no leading zeros past limit's length)."""
    text = str(limit)
    parts = [f"[0-9]{{1,{len(text) - 1}}}"] if len(text) > 1 else []
    for i, char in enumerate(text):
        low = 1 if i == 0 and len(text) > 1 else 0
        if int(char) > low:
            rest = len(text) - i - 1
            parts.append(text[:i] + f"[{low}-{int(char) - 1}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    parts.append(text)
    return "(?:" + "|".join(parts) + ")"


class IdConverter(IntegerConverter):
    """Every ``<int:…>`` in a route: ASCII digits within MAX_ID, else no route matches (404, whatever the
    method: a number too large is not matched by the pattern, so no other rule answers 405)."""

    regex = at_most(MAX_ID)

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


class BadInput(BadRequest):
    """A request the app cannot read, with the Japanese reason the error page shows."""

    def __init__(self, japanese: str, status: int = 400):
        super().__init__(japanese)
        self.code = status
        self.japanese = japanese


FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
NUL_MESSAGE = "入力に使用できない文字（制御文字 NUL）が含まれています。入力内容を確認してください。"


class StrictRequest(Request):
    """Forms are read strictly: a body must be a form, in UTF-8, within MAX_FORM_PARTS fields
    (urlencoded too, not only multipart), with no NUL anywhere; else 400/413 with a message,
    before any view (or the CSRF check) sees an empty form."""

    def _load_form_data(self) -> None:
        if "form" in self.__dict__:
            return
        body = self.content_length or self.headers.get("Transfer-Encoding")
        if body and self.mimetype not in FORM_TYPES:
            raise BadInput("この形式の送信は受け付けられません。画面の入力欄から操作してください。", 415)
        if self.mimetype == "application/x-www-form-urlencoded":
            raw = self.get_data(cache=True, parse_form_data=False)
            limit = self.max_form_parts
            if limit is not None and raw.count(b"&") >= limit:
                raise BadInput("送信された項目が多すぎます。画面から操作をやり直してください。", 413)
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                raise BadInput("文字コードが正しくありません。画面から入力し直してください（UTF-8）。") from None
        super()._load_form_data()
        for key, value in self.form.items(multi=True):
            if "\x00" in key or "\x00" in value:
                raise BadInput(NUL_MESSAGE)


def refuse_nul_in_query():
    """before_request: a NUL in the query string is refused like one in a form."""
    if "\x00" in request.path or any("\x00" in k or "\x00" in v for k, v in request.args.items(multi=True)):
        raise BadInput(NUL_MESSAGE)


def init_app(app) -> None:
    app.request_class = StrictRequest
    app.url_map.converters["int"] = IdConverter
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_nul_in_query)
