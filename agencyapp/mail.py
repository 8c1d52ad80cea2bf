"""Optional e-mail for in-app notifications.

Every notification is first stored in the database and shown in the app; mail
is only an extra.  Without ``SMTP_HOST`` mail is disabled and the app only
notifies in the app: ``send_mail`` returns ``False`` and nothing else happens.

Callers send mail *after* the database transaction has committed, so that no
one is told about a change that was then rolled back.  Sending is synchronous
(within the request, bounded by ``SMTP_TIMEOUT``); there is no queue.  For the
same reason a failure never reaches the caller: an unreachable or refusing
mail server is logged with ``current_app.logger.warning`` (never with the
password) and ``send_mail`` returns ``False``; the app keeps working.

Settings (``app.config``; from the environment as ``AGENCYAPP_<KEY>``):

``SMTP_HOST``
    Mail server; empty or missing disables mail.
``SMTP_PORT``
    Port, an int or a string of digits; 25 by default (465 when ``SMTP_SSL``).
``SMTP_USERNAME``, ``SMTP_PASSWORD``
    Log in only when both are set.
``SMTP_STARTTLS``
    Upgrade the connection with STARTTLS.  A bool, or a string where
    ``1``/``true``/``yes``/``on`` (any case) mean true and anything else false.
``SMTP_SSL``
    SMTP over TLS from the start (``smtplib.SMTP_SSL``); same parsing.  Takes
    precedence over ``SMTP_STARTTLS``.
``SMTP_TIMEOUT``
    Seconds for connecting and for each reply; 10 by default.
``MAIL_FROM``
    Sender; ``no-reply@localhost`` by default.
``MAIL_SUBJECT_PREFIX``
    Put before every subject; ``"[住基ネット自己点検] "`` by default.

Server certificates are verified with the system's trust store
(``ssl.create_default_context``) for both STARTTLS and ``SMTP_SSL``.
"""

import re
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from flask import current_app

DEFAULT_PORT = 25
DEFAULT_SSL_PORT = 465
DEFAULT_TIMEOUT = 10.0
DEFAULT_FROM = "no-reply@localhost"
DEFAULT_SUBJECT_PREFIX = "[住基ネット自己点検] "

TRUE_STRINGS = frozenset({"1", "true", "yes", "on"})
_LINE_BREAKS = re.compile(r"[\r\n]+")


def parse_bool(value):
    """A config flag: bools as they are; strings ``1/true/yes/on`` (any case) are true."""
    if isinstance(value, str):
        return value.strip().lower() in TRUE_STRINGS
    return bool(value)


@dataclass(frozen=True)
class MailSettings:
    """The SMTP settings of one app, parsed and checked."""

    host: str
    port: int
    username: str
    password: str = field(repr=False)
    starttls: bool
    use_ssl: bool
    timeout: float
    sender: str
    subject_prefix: str

    @property
    def login(self):
        return bool(self.username and self.password)


def _text(value):
    return "" if value is None else str(value).strip()


def mail_settings(config):
    """Parse ``config`` into ``MailSettings``; ``None`` when mail is disabled.

    Raises ``ValueError`` for an unusable port or timeout.
    """
    host = _text(config.get("SMTP_HOST"))
    if not host:
        return None
    use_ssl = parse_bool(config.get("SMTP_SSL", False))
    port_value = _text(config.get("SMTP_PORT"))
    port = int(port_value) if port_value else (DEFAULT_SSL_PORT if use_ssl else DEFAULT_PORT)
    if not 0 < port < 65536:
        raise ValueError(f"SMTP_PORT {port} is out of range")
    timeout_value = _text(config.get("SMTP_TIMEOUT"))
    timeout = float(timeout_value) if timeout_value else DEFAULT_TIMEOUT
    if not timeout > 0:
        raise ValueError(f"SMTP_TIMEOUT {timeout_value} must be positive")
    prefix = config.get("MAIL_SUBJECT_PREFIX")
    return MailSettings(
        host=host,
        port=port,
        username=_text(config.get("SMTP_USERNAME")),
        password="" if config.get("SMTP_PASSWORD") is None else str(config.get("SMTP_PASSWORD")),
        starttls=parse_bool(config.get("SMTP_STARTTLS", False)),
        use_ssl=use_ssl,
        timeout=timeout,
        sender=_text(config.get("MAIL_FROM")) or DEFAULT_FROM,
        subject_prefix=DEFAULT_SUBJECT_PREFIX if prefix is None else str(prefix),
    )


def mail_enabled(app=None):
    """Whether mail is configured (``SMTP_HOST`` set) for ``app`` or the current app."""
    app = app or current_app
    return bool(_text(app.config.get("SMTP_HOST")))


def clean_recipients(recipients):
    """The addresses to send to: non-empty, deduplicated (ignoring case), in order.

    Accepts one string or an iterable of strings (``"Name <addr>"`` works too)
    and skips addresses without ``@``, with line breaks, or ending in
    ``.invalid`` (the demo users' domain, RFC 2606).
    """
    if recipients is None:
        return []
    if isinstance(recipients, str):
        recipients = [recipients]
    seen = set()
    result = []
    for raw in recipients:
        text = _text(raw)
        if not text or "\r" in text or "\n" in text:
            continue
        address = parseaddr(text)[1].strip()
        if "@" not in address or address.lower().endswith(".invalid"):
            continue
        key = address.casefold()
        if key not in seen:
            seen.add(key)
            result.append(address)
    return result


def _one_line(text):
    return _LINE_BREAKS.sub(" ", "" if text is None else str(text))


def build_message(settings, recipients, subject, body):
    """A UTF-8 ``EmailMessage`` with From, To, Subject, Date and Message-ID."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = _one_line(settings.subject_prefix + _one_line(subject))
    message["Date"] = formatdate(localtime=True)
    domain = parseaddr(settings.sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    # base64 rather than 8bit: not every relay speaks 8BITMIME.
    message.set_content("" if body is None else str(body), charset="utf-8", cte="base64")
    return message


def _describe(exc, settings):
    text = f"{type(exc).__name__}: {exc}"
    if settings is not None and settings.password:
        text = text.replace(settings.password, "********")
    return text


def send_mail(recipients, subject, body, errors=None):
    """Mail ``subject`` and ``body`` to ``recipients``; ``True`` when the server accepted it.

    Returns ``False`` when mail is disabled, when no usable recipient is left,
    or when the message could not be sent (logged as a warning).  Never raises
    for configuration, SMTP or network errors.  Needs an app context.
    """
    logger = current_app.logger
    try:
        settings = mail_settings(current_app.config)
    except (TypeError, ValueError) as exc:
        logger.warning("メール設定が正しくないため送信しません: %s", _describe(exc, None))
        return False
    if settings is None:
        return False
    addresses = clean_recipients(recipients)
    if not addresses:
        return False
    try:
        message = build_message(settings, addresses, subject, body)
    except (TypeError, ValueError) as exc:
        logger.warning("メールを作成できませんでした: %s", _describe(exc, settings))
        return False

    sender = parseaddr(settings.sender)[1] or settings.sender
    try:
        context = ssl.create_default_context()
        if settings.use_ssl:
            client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout, context=context)
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            if settings.starttls and not settings.use_ssl:
                client.starttls(context=context)
            if settings.login:
                client.login(settings.username, settings.password)
            refused = client.send_message(message, from_addr=sender, to_addrs=addresses)
    except (smtplib.SMTPException, OSError, ValueError) as exc:
        # OSError covers refused connections, timeouts and ssl.SSLError;
        # ValueError a password that cannot be encoded.
        logger.warning(
            "メールを送信できませんでした（%s:%s、宛先 %d 件）: %s",
            settings.host,
            settings.port,
            len(addresses),
            _describe(exc, settings),
        )
        if errors is not None:  # for the notification's mail state, which an administrator reads
            errors.append(f"{settings.host}:{settings.port}: {_describe(exc, settings)}")
        return False
    if refused:
        logger.warning("メールの一部の宛先が拒否されました: %s", ", ".join(sorted(refused)))
    logger.info("メールを送信しました（宛先 %d 件）: %s", len(addresses) - len(refused), message["Message-ID"])
    return True
