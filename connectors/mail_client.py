"""Read a mailbox over IMAP and send mail over SMTP, with the standard library only (imaplib, smtplib, email).

API (stable; the `read_mail` / `send_mail` steps and the `on_mail` trigger use it):

```python
from bastidor.connectors.mail_client import MailBox, MailError, send_message

with MailBox(account.imap, user, password, timeout_s=30) as box:
    for summary in box.search("INBOX", unseen=True, subject="Invoice", limit=10):
        message = box.fetch("INBOX", summary.uid, max_bytes=25 * 1024 * 1024)
        ...                                   # save message.attachments somewhere
        box.mark_seen("INBOX", summary.uid)   # or box.flag(...) / box.move(..., "Processed")

message_id = send_message(account.smtp, user, password, sender="orders@example.com", to=["a@example.com"],
                          subject="Hello", text="Body", timeout_s=30)
```

`server` is a `bastidor.flow.connections.MailServer` (or anything with host, port, security, ca_file):
security `ssl` (TLS from the start), `starttls` (plain, then upgraded; refused when the server cannot) or
`none` (plain; for a local test server). Certificates are always checked, against the system's authorities
plus `ca_file` when given. Messages are named by their IMAP UID (text, e.g. "42"), stable across sessions.

Every failure raises `MailError` with one line saying what went wrong and what to do; the password is never
in it (nor in any other message or record of this module).
"""

from __future__ import annotations

import imaplib
import re
from typing import Any

from .mail_parse import header_date, header_text, parse_headers, parse_message
from .mail_send import send_message
from .mail_tls import (
    DEFAULT_TIMEOUT_S,
    IMAP_PORTS,
    connection_error,
    server_port,
    tls_context,
    without_secret,
)
from .mail_types import (
    Attachment,
    MailError,
    MailMessage,
    MessageSummary,
    MessageTooLarge,
)

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "Attachment",
    "MailBox",
    "MailError",
    "MailMessage",
    "MessageSummary",
    "MessageTooLarge",
    "send_message",
]

SEARCH_BATCH = 100
"""How many messages' headers are fetched at once when filtering on text the server cannot search (non-ASCII)."""

_FETCH_ITEM = re.compile(rb"\b(UID|RFC822\.SIZE)\s+(\d+)", re.IGNORECASE)


class MailBox:
    """A signed-in IMAP session, used as a context manager (`with MailBox(...) as box:`).

    Entering connects and logs in (raising MailError on an unreachable server, a TLS problem or a wrong
    user name or password); leaving logs out and closes the connection whatever happened."""

    def __init__(self, server: Any, user: str, password: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._server = server
        self._user = user
        self._password = password
        self._timeout_s = timeout_s
        self._where = f"{server.host}:{server_port(server, IMAP_PORTS)}"
        self._imap: imaplib.IMAP4 | None = None
        self._selected: str | None = None
        self._delimiter: str | None = None

    def __enter__(self) -> MailBox:
        self._imap = self._connect()
        try:
            self._login()
        except BaseException:
            self._close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._close()

    def search(self, folder: str, unseen: bool = True, subject: str | None = None, sender: str | None = None,
               limit: int = 50) -> list[MessageSummary]:
        """Messages in `folder` matching every filter given, oldest first, at most `limit` of them.

        `subject` and `sender` match anywhere in the header, ignoring case (IMAP SEARCH SUBJECT / FROM).
        A folder that does not exist raises MailError naming it. Nothing is marked as read."""
        self._select(folder)
        criteria, local = ["UNSEEN"] if unseen else ["ALL"], {}
        for key, value in (("SUBJECT", subject), ("FROM", sender)):
            if value and value.isascii():
                criteria += [key, _quoted(value)]
            elif value:
                local[key] = value.casefold()
        data = self._command(f"search {folder}", "SEARCH", *criteria)
        uids = [uid.decode() for uid in (data[0] or b"").split()]
        step = SEARCH_BATCH if local else max(limit, 1)  # without local filters, the first `limit` will do
        found: list[MessageSummary] = []
        for start in range(0, len(uids), step):
            found += [item for item in self._summaries(folder, uids[start:start + step]) if _matches(item, local)]
            if len(found) >= limit:
                break
        return found[:limit]

    def fetch(self, folder: str, uid: str, max_bytes: int) -> MailMessage:
        """The whole message `uid` of `folder`, parsed, without marking it as read (BODY.PEEK).

        Raises MessageTooLarge before downloading when the message is bigger than `max_bytes`, and MailError
        when the message is gone. Malformed MIME is parsed as well as the email package can (defects are
        tolerated; undecodable text is replaced, never an exception)."""
        self._select(folder)
        size = self._size(folder, uid)
        if size > max_bytes:
            raise MessageTooLarge(f"message {uid} in {folder} is {size:,} bytes, over the limit of "
                                  f"{max_bytes:,} bytes; it was not downloaded", size, max_bytes)
        data = self._command(f"fetch message {uid} from {folder}", "FETCH", uid, "(BODY.PEEK[])")
        raw = next((item[1] for item in data if isinstance(item, tuple)), None)
        if raw is None:
            raise MailError(f"message {uid} is no longer in {folder} on {self._where} (moved or deleted "
                            f"meanwhile); read the folder again")
        return parse_message(uid, raw)

    def mark_seen(self, folder: str, uid: str) -> None:
        """Flag message `uid` of `folder` as read (\\Seen)."""
        self.flag(folder, uid, "\\Seen")

    def flag(self, folder: str, uid: str, flag: str) -> None:
        """Add `flag` to message `uid`: a system flag such as "\\\\Flagged" or a keyword such as "bastidor"."""
        if not re.fullmatch(r"\\?[A-Za-z0-9_$.-]+", flag):
            raise MailError(f"the flag {flag!r} is not a valid IMAP flag: use letters, digits, _ $ . or -")
        self._select(folder)
        self._command(f"flag message {uid} in {folder}", "STORE", uid, "+FLAGS.SILENT", f"({flag})")
        self._size(folder, uid)  # STORE .SILENT answers nothing: check the message is still there

    def move(self, folder: str, uid: str, to_folder: str) -> None:
        """Move message `uid` from `folder` to `to_folder` (created when missing): IMAP MOVE when the server
        offers it, else COPY, flag \\Deleted and UID EXPUNGE that one message (UIDPLUS). A server with neither
        is refused with MailError before anything changes: a plain EXPUNGE would also remove every other
        message someone marked as deleted in `folder`."""
        capabilities = self._capabilities()
        if not {"MOVE", "UIDPLUS"} & capabilities:
            raise MailError(f"IMAP server {self._where} offers neither MOVE nor UIDPLUS, so message {uid} cannot "
                            f"be moved without also removing every message marked as deleted in {folder}; use "
                            f"mark: seen (or none) with this server")
        self._select(folder)
        self._size(folder, uid)
        self._ensure_folder(to_folder)
        target = self._mailbox(to_folder)
        if "MOVE" in capabilities:
            self._command(f"move message {uid} to {to_folder}", "MOVE", uid, target)
            return
        self._command(f"copy message {uid} to {to_folder}", "COPY", uid, target)
        self._command(f"delete message {uid} from {folder}", "STORE", uid, "+FLAGS.SILENT", "(\\Deleted)")
        self._command(f"expunge message {uid} from {folder}", "EXPUNGE", uid)

    # -- connection --------------------------------------------------------------------------------------

    def _connect(self) -> imaplib.IMAP4:
        server, port = self._server, server_port(self._server, IMAP_PORTS)
        context = tls_context(server) if server.security != "none" else None
        try:
            if server.security == "ssl":
                return imaplib.IMAP4_SSL(server.host, port, ssl_context=context, timeout=self._timeout_s)
            imap = imaplib.IMAP4(server.host, port, timeout=self._timeout_s)
        except (OSError, EOFError, imaplib.IMAP4.error) as error:
            raise connection_error("IMAP", self._where, error) from None
        if server.security == "starttls":
            try:
                imap.starttls(ssl_context=context)
            except (OSError, EOFError, imaplib.IMAP4.error) as error:
                _shut(imap)
                if isinstance(error, imaplib.IMAP4.error):
                    raise MailError(f"IMAP server {self._where} does not offer STARTTLS; use security: ssl "
                                    f"(usually port 993)") from None
                raise connection_error("IMAP", self._where, error) from None
        return imap

    def _login(self) -> None:
        try:
            self._imap.login(self._user, self._password)
        except imaplib.IMAP4.error as error:
            answer = without_secret(_answer_text(error), self._password)
            raise MailError(f"IMAP server {self._where} refused the sign-in ({answer}); check the account's user "
                            f"and password secrets") from None
        except UnicodeEncodeError:
            raise MailError(f"IMAP server {self._where}: the user name or password has characters IMAP LOGIN "
                            f"cannot send (only ASCII); ask for an ASCII password") from None
        except (OSError, EOFError) as error:
            raise connection_error("IMAP", self._where, error) from None

    def _close(self) -> None:
        if self._imap is not None:
            imap, self._imap = self._imap, None
            try:
                imap.logout()
            except Exception:  # the connection is going away anyway
                _shut(imap)

    # -- commands ----------------------------------------------------------------------------------------

    def _select(self, folder: str) -> None:
        if self._selected == folder:
            return
        status, _ = self._ask(f"open folder {folder!r}", self._imap.select, self._mailbox(folder))
        if status != "OK":
            raise MailError(f"the folder {folder!r} does not exist on {self._where} (or cannot be opened): "
                            f"check the folder name, e.g. INBOX")
        self._selected = folder

    def _command(self, doing: str, command: str, *args: str) -> list:
        """A UID command whose answer must be OK; its data."""
        return self._check(doing, *self._ask(doing, self._imap.uid, command, *args))

    def _ask(self, doing: str, method: Any, *args: str) -> tuple[str, list]:
        """Call one imaplib `method`: a dropped connection or a refused command becomes a one-line MailError
        saying what was being done; the answer's status is left to the caller."""
        try:
            return method(*args)
        except imaplib.IMAP4.abort as error:
            raise MailError(f"IMAP server {self._where} dropped the connection while trying to {doing} "
                            f"({_answer_text(error)}); try again, and check the network if it goes on") from None
        except (OSError, EOFError) as error:
            raise connection_error("IMAP", self._where, error) from None
        except imaplib.IMAP4.error as error:
            raise MailError(f"IMAP server {self._where} refused to {doing} ({_answer_text(error)})") from None

    def _check(self, doing: str, status: str, data: list) -> list:
        if status != "OK":
            answer = " ".join(item.decode("utf-8", "replace") for item in data if isinstance(item, bytes))
            raise MailError(f"IMAP server {self._where} refused to {doing} ({answer or status})")
        return data

    def _summaries(self, folder: str, uids: list[str]) -> list[MessageSummary]:
        if not uids:
            return []
        data = self._command(f"read headers in {folder}", "FETCH", ",".join(uids),
                             "(UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT FROM DATE)])")
        by_uid = {}
        for item in data:
            if not isinstance(item, tuple):
                continue
            numbers = {key.upper(): int(value) for key, value in _FETCH_ITEM.findall(item[0])}
            headers = parse_headers(item[1])
            uid = str(numbers.get(b"UID", ""))
            by_uid[uid] = MessageSummary(uid=uid, subject=header_text(headers, "Subject"),
                                         sender=header_text(headers, "From"), date=header_date(headers),
                                         size=numbers.get(b"RFC822.SIZE", 0))
        return [by_uid[uid] for uid in uids if uid in by_uid]

    def _size(self, folder: str, uid: str) -> int:
        data = self._command(f"look up message {uid} in {folder}", "FETCH", uid, "(UID RFC822.SIZE)")
        for item in data:
            line = item[0] if isinstance(item, tuple) else item
            if not isinstance(line, bytes):
                continue
            numbers = {key.upper(): int(value) for key, value in _FETCH_ITEM.findall(line)}
            if str(numbers.get(b"UID")) == str(uid):
                return numbers.get(b"RFC822.SIZE", 0)
        raise MailError(f"message {uid} is no longer in {folder} on {self._where} (moved or deleted meanwhile); "
                        f"read the folder again")

    def _ensure_folder(self, folder: str) -> None:
        name = self._mailbox(folder)
        status, data = self._ask(f"look up folder {folder!r}", self._imap.list, '""', name)
        if status == "OK" and any(item for item in data if item):
            return
        doing = f"create folder {folder!r}"
        self._check(doing, *self._ask(doing, self._imap.create, name))

    def _mailbox(self, folder: str) -> str:
        """`folder` as the server names it: sub-folders written with / use the server's own separator
        (often "."), and the name is encoded in IMAP's modified UTF-7 and quoted."""
        if self._delimiter is None:
            status, data = self._ask("read the folder separator", self._imap.list, '""', '""')
            match = re.search(rb'\)\s+"(.)"', data[0]) if status == "OK" and data and data[0] else None
            self._delimiter = match.group(1).decode() if match else "/"
        return _quoted(_imap_utf7(folder.replace("/", self._delimiter)))

    def _capabilities(self) -> set[str]:
        status, data = self._ask("read what the server offers", self._imap.capability)
        words = b" ".join(item for item in data if isinstance(item, bytes)).decode("ascii", "replace")
        return {word.upper() for word in words.split()} if status == "OK" else set(self._imap.capabilities)


def _matches(summary: MessageSummary, local: dict[str, str]) -> bool:
    """Whether `summary` passes the filters the server could not apply (non-ASCII text, case-folded)."""
    subject, sender = local.get("SUBJECT"), local.get("FROM")
    return ((subject is None or subject in summary.subject.casefold())
            and (sender is None or sender in summary.sender.casefold()))


def _quoted(text: str) -> str:
    if any(char in text for char in "\r\n\0"):
        raise MailError(f"{text!r} has a line break in it: give the folder or filter on one line")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _imap_utf7(name: str) -> str:
    """A folder name in IMAP's modified UTF-7 (RFC 3501 5.1.3), e.g. "Entrées" -> "Entr&AOk-es"."""
    import base64

    out, pending = [], []

    def flush() -> None:
        if pending:
            encoded = base64.b64encode("".join(pending).encode("utf-16-be")).decode("ascii")
            out.append("&" + encoded.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def _answer_text(error: BaseException) -> str:
    text = str(error.args[0] if error.args else error)
    if text.startswith(("b'", 'b"')):
        text = text[2:-1]
    return " ".join(text.split())[:200] or type(error).__name__


def _shut(imap: imaplib.IMAP4) -> None:
    try:
        imap.shutdown()
    except Exception:
        pass
