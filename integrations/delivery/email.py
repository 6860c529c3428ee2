"""E-mail over SMTP (`SMTP_URL`), or to the log when none is configured.

`SMTP_URL` forms: `smtp://user:password@host:587?starttls=true` (plain connection upgraded with
STARTTLS), `smtps://user:password@host:465` (TLS from the start), `smtp://host:25` (no TLS, no
login: local relays and test servers). User and password are URL-decoded.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

logger = logging.getLogger("reos.email")

DEFAULT_SENDER = "Real Estate OS <alerts@reos.dev>"
TIMEOUT_SECONDS = 30.0


class EmailError(Exception):
    """Sending failed; `permanent` when retrying cannot help (a refused recipient)."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class Email:
    to: str
    subject: str
    body: str


class Mailer(Protocol):
    async def send(self, email: Email) -> None:
        """Send one e-mail or raise EmailError."""
        ...


def _message(email: Email, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.to
    message["Subject"] = email.subject
    message.set_content(email.body)
    return message


class LogMailer:
    """Writes each e-mail to the log (the default without SMTP_URL)."""

    def __init__(self, sender: str = DEFAULT_SENDER) -> None:
        self.sender = sender
        self.sent: list[Email] = []

    async def send(self, email: Email) -> None:
        self.sent.append(email)
        del self.sent[:-100]
        logger.info(
            "e-mail (no SMTP_URL: logged, not sent)",
            extra={"to": email.to, "subject": email.subject, "body": email.body},
        )


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool
    starttls: bool


def parse_smtp_url(url: str) -> SmtpConfig:
    """The parts of an SMTP_URL; ValueError for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("SMTP_URL must look like smtp://user:password@host:port")
    options = {key.lower(): values[-1] for key, values in parse_qs(parts.query).items()}
    starttls = options.get("starttls", "false").lower() in ("1", "true", "yes", "on")
    implicit = parts.scheme == "smtps"
    return SmtpConfig(
        host=parts.hostname,
        port=parts.port or (465 if implicit else 587 if starttls else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        implicit_tls=implicit,
        starttls=starttls and not implicit,
    )


class SmtpMailer:
    """One SMTP session per e-mail, in a thread (smtplib blocks), with a timeout."""

    def __init__(
        self,
        url: str,
        sender: str = DEFAULT_SENDER,
        timeout: float = TIMEOUT_SECONDS,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.config = parse_smtp_url(url)
        self.sender = sender
        self.timeout = timeout
        self.tls_context = tls_context or ssl.create_default_context()

    async def send(self, email: Email) -> None:
        await asyncio.to_thread(self._send, _message(email, self.sender))

    def _send(self, message: EmailMessage) -> None:
        config = self.config
        try:
            if config.implicit_tls:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    config.host, config.port, timeout=self.timeout, context=self.tls_context
                )
            else:
                smtp = smtplib.SMTP(config.host, config.port, timeout=self.timeout)
            with smtp:
                smtp.ehlo()
                if config.starttls:
                    smtp.starttls(context=self.tls_context)
                    smtp.ehlo()
                if config.username:
                    smtp.login(config.username, config.password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            raise EmailError(f"recipient refused: {error.recipients}", permanent=True) from error
        except smtplib.SMTPResponseException as error:
            permanent = 500 <= error.smtp_code < 600
            raise EmailError(f"SMTP {error.smtp_code}", permanent=permanent) from error
        except (smtplib.SMTPException, OSError) as error:
            raise EmailError(f"{type(error).__name__}: {error}"[:300]) from error


def mailer_from_settings(smtp_url: str | None, sender: str = DEFAULT_SENDER) -> Mailer:
    """SMTP when a URL is configured, else the log."""
    return SmtpMailer(smtp_url, sender) if smtp_url else LogMailer(sender)
