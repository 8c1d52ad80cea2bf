"""Optional notification mail, against a real local SMTP server (aiosmtpd)."""

import email
import email.policy
import logging
import socket

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from flask import Flask

from agencyapp import mail
from agencyapp.config import load_config
from agencyapp.mail import DEFAULT_SUBJECT_PREFIX, mail_enabled, parse_bool, send_mail

PASSWORD = "s3cret-Pa55word-not-logged"


def free_port():
    """A port nothing listens on (until someone binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Collector:
    """aiosmtpd handler that keeps every envelope it receives."""

    def __init__(self):
        self.envelopes = []
        self.logins = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append((mechanism, auth_data.login, auth_data.password))
        ok = auth_data.login == b"mailer" and auth_data.password == PASSWORD.encode()
        # handled=False: let aiosmtpd answer 535 itself when the credentials are wrong.
        return AuthResult(success=ok, handled=False)

    def messages(self):
        return [email.message_from_bytes(e.content, policy=email.policy.default) for e in self.envelopes]


class SmtpServer:
    def __init__(self, handler, port):
        self.handler = handler
        self.port = port


@pytest.fixture
def smtp_server():
    handler = Collector()
    port = free_port()
    # AUTH over plain text is fine on loopback in a test; the app never serves SMTP.
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=handler.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield SmtpServer(handler, port)
    finally:
        controller.stop()


@pytest.fixture
def smtp_config(app, smtp_server, monkeypatch):
    """Point the app at the test server; monkeypatch restores the session app's config."""
    for key in ("SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_STARTTLS", "SMTP_SSL", "SMTP_TIMEOUT", "MAIL_SUBJECT_PREFIX"):
        monkeypatch.delitem(app.config, key, raising=False)
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", smtp_server.port)
    monkeypatch.setitem(app.config, "MAIL_FROM", "jukinet-check@example.jp")
    return smtp_server


def test_sends_japanese_mail_to_local_server(app, smtp_config):
    subject = "改善依頼が届きました（第3四半期）"
    body = "〇〇省 △△課 御中\n\n自己点検の改善依頼が登録されました。\nアプリで内容をご確認ください。\n"
    with app.app_context():
        assert mail_enabled()
        assert send_mail(["tanaka@example.jp", "suzuki@example.com"], subject, body) is True

    assert len(smtp_config.handler.envelopes) == 1
    envelope = smtp_config.handler.envelopes[0]
    assert envelope.mail_from == "jukinet-check@example.jp"
    assert envelope.rcpt_tos == ["tanaka@example.jp", "suzuki@example.com"]

    message = smtp_config.handler.messages()[0]
    assert message["From"] == "jukinet-check@example.jp"
    assert message["To"] == "tanaka@example.jp, suzuki@example.com"
    assert message["Subject"] == DEFAULT_SUBJECT_PREFIX + subject
    assert message["Date"]
    assert message["Message-ID"].endswith("@example.jp>")
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message.get_content() == body
    # On the wire the headers are plain ASCII (RFC 2047 encoded words).
    raw_headers = envelope.content.split(b"\r\n\r\n", 1)[0]
    raw_headers.decode("ascii")
    assert b"=?utf-8?" in raw_headers


def test_port_as_string_and_custom_prefix(app, smtp_config, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_PORT", str(smtp_config.port))  # as from the environment
    monkeypatch.setitem(app.config, "MAIL_SUBJECT_PREFIX", "【テスト】")
    with app.app_context():
        assert send_mail("sato@example.jp", "件名\r\nBcc: injected@example.jp", "本文") is True
    message = smtp_config.handler.messages()[0]
    assert message["Subject"] == "【テスト】件名 Bcc: injected@example.jp"
    assert message["Bcc"] is None
    assert smtp_config.handler.envelopes[0].rcpt_tos == ["sato@example.jp"]


def test_disabled_without_smtp_host(app, smtp_server, monkeypatch):
    monkeypatch.delitem(app.config, "SMTP_HOST", raising=False)
    monkeypatch.setitem(app.config, "SMTP_PORT", smtp_server.port)
    assert mail_enabled(app) is False
    with app.app_context():
        assert mail_enabled() is False
        assert send_mail(["tanaka@example.jp"], "件名", "本文") is False
    monkeypatch.setitem(app.config, "SMTP_HOST", "  ")
    with app.app_context():
        assert send_mail(["tanaka@example.jp"], "件名", "本文") is False
    assert smtp_server.handler.envelopes == []


def test_server_down_returns_false_and_logs_warning(app, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", free_port())  # closed: nothing listens there
    monkeypatch.setitem(app.config, "SMTP_TIMEOUT", "3")
    monkeypatch.setitem(app.config, "SMTP_USERNAME", "mailer")
    monkeypatch.setitem(app.config, "SMTP_PASSWORD", PASSWORD)
    with caplog.at_level(logging.WARNING, logger=app.logger.name), app.app_context():
        assert send_mail(["tanaka@example.jp"], "件名", "本文") is False
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == app.logger.name]
    assert len(warnings) == 1
    assert "127.0.0.1" in warnings[0].getMessage()
    assert "ConnectionRefusedError" in warnings[0].getMessage()
    assert PASSWORD not in caplog.text


def test_invalid_configuration_is_logged_not_raised(app, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", "smtp")
    with caplog.at_level(logging.WARNING, logger=app.logger.name), app.app_context():
        assert send_mail(["tanaka@example.jp"], "件名", "本文") is False
    assert "メール設定" in caplog.text


def test_invalid_and_empty_addresses_are_skipped(app, smtp_config):
    with app.app_context():
        assert send_mail(["admin@example.invalid", "", None, "  ", "no-at-sign"], "件名", "本文") is False
        assert send_mail([], "件名", "本文") is False
        assert send_mail(None, "件名", "本文") is False
        assert send_mail(["demo@example.invalid", "Tanaka <tanaka@example.jp>", "x@AGENCY.INVALID"], "件名", "本文")
    assert len(smtp_config.handler.envelopes) == 1
    assert smtp_config.handler.envelopes[0].rcpt_tos == ["tanaka@example.jp"]
    assert smtp_config.handler.messages()[0]["To"] == "tanaka@example.jp"


def test_duplicates_are_sent_once(app, smtp_config):
    recipients = ["tanaka@example.jp", " tanaka@example.jp ", "suzuki@example.jp", "Tanaka@Example.JP"]
    with app.app_context():
        assert send_mail(recipients, "件名", "本文") is True
    assert len(smtp_config.handler.envelopes) == 1
    assert smtp_config.handler.envelopes[0].rcpt_tos == ["tanaka@example.jp", "suzuki@example.jp"]


def test_logs_in_only_when_username_and_password_are_set(app, smtp_config, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_USERNAME", "mailer")
    with app.app_context():
        assert send_mail(["tanaka@example.jp"], "件名", "本文") is True
    assert smtp_config.handler.logins == []

    monkeypatch.setitem(app.config, "SMTP_PASSWORD", PASSWORD)
    with app.app_context():
        assert send_mail(["tanaka@example.jp"], "件名", "本文") is True
    assert [login for _mechanism, login, _password in smtp_config.handler.logins] == [b"mailer"]
    assert len(smtp_config.handler.envelopes) == 2


def test_rejected_login_returns_false_without_password_in_log(app, smtp_config, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "SMTP_USERNAME", "mailer")
    monkeypatch.setitem(app.config, "SMTP_PASSWORD", "wrong-" + PASSWORD)
    with caplog.at_level(logging.WARNING, logger=app.logger.name), app.app_context():
        assert send_mail(["tanaka@example.jp"], "件名", "本文") is False
    assert "SMTPAuthenticationError" in caplog.text
    assert PASSWORD not in caplog.text
    assert smtp_config.handler.envelopes == []


def test_password_smtplib_cannot_encode_is_logged_not_raised(app, smtp_config, monkeypatch, caplog):
    """smtplib sends AUTH as ASCII only; a non-ASCII password must fail safely."""
    password = "パスワード" + PASSWORD
    monkeypatch.setitem(app.config, "SMTP_USERNAME", "mailer")
    monkeypatch.setitem(app.config, "SMTP_PASSWORD", password)
    with caplog.at_level(logging.WARNING, logger=app.logger.name), app.app_context():
        assert send_mail(["tanaka@example.jp"], "件名", "本文") is False
    assert "UnicodeEncodeError" in caplog.text
    assert password not in caplog.text and PASSWORD not in caplog.text
    assert smtp_config.handler.envelopes == []


@pytest.mark.parametrize(
    "value, expected",
    [
        ("1", True),
        ("true", True),
        ("TRUE", True),
        ("yes", True),
        (" Yes ", True),
        ("on", True),
        ("On", True),
        ("0", False),
        ("false", False),
        ("no", False),
        ("off", False),
        ("", False),
        ("enabled", False),
        (True, True),
        (False, False),
        (None, False),
        (1, True),
        (0, False),
    ],
)
def test_starttls_flag_parsing(value, expected):
    assert parse_bool(value) is expected
    settings = mail.mail_settings({"SMTP_HOST": "mail.example.jp", "SMTP_STARTTLS": value})
    assert settings.starttls is expected


@pytest.mark.parametrize("value", ["yes", "on", "1", "TRUE"])
def test_starttls_string_true_is_used(app, smtp_config, monkeypatch, caplog, value):
    """The test server offers no STARTTLS, so a true flag must make sending fail (safely)."""
    monkeypatch.setitem(app.config, "SMTP_STARTTLS", value)
    with caplog.at_level(logging.WARNING, logger=app.logger.name), app.app_context():
        assert send_mail(["tanaka@example.jp"], "件名", "本文") is False
    assert "STARTTLS" in caplog.text
    assert smtp_config.handler.envelopes == []


@pytest.mark.parametrize("value", ["no", "off", "0", "false", ""])
def test_starttls_string_false_is_not_used(app, smtp_config, monkeypatch, value):
    monkeypatch.setitem(app.config, "SMTP_STARTTLS", value)
    with app.app_context():
        assert send_mail(["tanaka@example.jp"], "件名", "本文") is True
    assert len(smtp_config.handler.envelopes) == 1


def test_smtp_ssl_is_used_when_configured(app, monkeypatch):
    """No certificate for a real TLS server here: check the client that would be used."""
    calls = []

    class FakeSMTPSSL:
        def __init__(self, host, port, timeout, context):
            calls.append(("connect", host, port, timeout))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def starttls(self, **kwargs):
            calls.append(("starttls",))

        def login(self, username, password):
            calls.append(("login", username))

        def send_message(self, message, from_addr, to_addrs):
            calls.append(("send", from_addr, to_addrs))
            return {}

    monkeypatch.setattr(mail.smtplib, "SMTP_SSL", FakeSMTPSSL)
    monkeypatch.setitem(app.config, "SMTP_HOST", "mail.example.jp")
    monkeypatch.delitem(app.config, "SMTP_PORT", raising=False)
    monkeypatch.setitem(app.config, "SMTP_SSL", "true")
    monkeypatch.setitem(app.config, "SMTP_STARTTLS", "true")  # ignored: already TLS
    monkeypatch.setitem(app.config, "SMTP_USERNAME", "mailer")
    monkeypatch.setitem(app.config, "SMTP_PASSWORD", PASSWORD)
    monkeypatch.delitem(app.config, "SMTP_TIMEOUT", raising=False)
    monkeypatch.delitem(app.config, "MAIL_FROM", raising=False)
    with app.app_context():
        assert send_mail("tanaka@example.jp", "件名", "本文") is True
    assert calls == [
        ("connect", "mail.example.jp", 465, 10.0),
        ("login", "mailer"),
        ("send", "no-reply@localhost", ["tanaka@example.jp"]),
    ]


def test_settings_are_read_from_the_environment(tmp_path, monkeypatch):
    env = {
        "SECRET_KEY": "env-secret",
        "DATABASE_URL": "sqlite:///" + str(tmp_path / "env.sqlite3"),
        "SMTP_HOST": "mail.example.jp",
        "SMTP_PORT": "587",
        "SMTP_USERNAME": "mailer",
        "SMTP_PASSWORD": PASSWORD,
        "SMTP_STARTTLS": "yes",
        "SMTP_SSL": "off",
        "SMTP_TIMEOUT": "5",
        "MAIL_FROM": "jukinet-check@example.jp",
        "MAIL_SUBJECT_PREFIX": "[点検] ",
        "REDIS_URL": "redis://127.0.0.1:6379/15",  # production refuses to start without a shared limiter
    }
    monkeypatch.delenv("AGENCYAPP_ENV", raising=False)
    for key, value in env.items():
        monkeypatch.setenv("AGENCYAPP_" + key, value)
    flask_app = Flask("envtest", instance_path=str(tmp_path))
    load_config(flask_app)
    settings = mail.mail_settings(flask_app.config)
    assert (settings.host, settings.port, settings.timeout) == ("mail.example.jp", 587, 5.0)
    assert (settings.username, settings.password) == ("mailer", PASSWORD)
    assert (settings.starttls, settings.use_ssl) == (True, False)
    assert (settings.sender, settings.subject_prefix) == ("jukinet-check@example.jp", "[点検] ")
    assert PASSWORD not in repr(settings)
    assert mail_enabled(flask_app)
