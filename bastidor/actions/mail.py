"""The mail steps: `read_mail` reads a mailbox over IMAP, `send_mail` sends a message over SMTP.

Both name an account declared under `mail:` in the flow's header (`account: orders`); its user name and
password are secrets, handed to the run's masker and never written in a record, an error or the audit log.
`read_mail` saves attachments into the run's folder under `mail/<uid>/` and marks messages (as read, or moved
to another folder) only once every message has been saved, so a failure leaves the mailbox as it was.
The IMAP and SMTP work is done by `bastidor.connectors.mail_client`.
"""

from __future__ import annotations

import email.utils
from decimal import Decimal
from email.headerregistry import Address
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from bastidor.actions.base import Params
from bastidor.actions.registry import action
from bastidor.executor.errors import StepError
from bastidor.expr import to_text
from bastidor.flow.connections import MailAccountSpec
from bastidor.flow.model import NAME_PATTERN
from bastidor.flow.types import Strict, Text

DEFAULT_TIMEOUT_MS = 30_000
MB = 1024 * 1024
MAIL_FOLDER = "mail"
"""The folder under the run's folder that receives the attachments read, one sub-folder per message."""


class MoveTo(Strict):
    """Move each message read to another mailbox folder (created when missing)."""

    move: Text = Field(min_length=1, description="The mailbox folder to move the messages to, e.g. Processed.")


class ReadMailParams(Params):
    """Read messages from a mailbox (IMAP)."""

    account: str = Field(pattern=NAME_PATTERN, description="A mail account declared under `mail:` in the "
                         "flow's header, with an imap server.")
    folder: Text = Field("INBOX", description="The mailbox folder to read (default: INBOX).")
    unseen: bool = Field(True, description="Read only messages not yet marked as read (default: true).")
    subject: Text | None = Field(None, description="Only messages whose subject contains this text (any case).")
    from_: Text | None = Field(None, alias="from", description="Only messages whose sender (name or address) "
                               "contains this text (any case).")
    limit: int = Field(10, ge=1, le=500, description="The most messages read at once, oldest first "
                       "(default: 10).")
    attachments: bool = Field(True, description="Save attachments into the run's folder under mail/<uid>/ "
                              "(default: true). With false they are listed (name, size, sha256) but not saved.")
    mark: Literal["seen", "none"] | MoveTo = Field("seen", description="What happens to each message once all "
                                                   "are saved: seen (mark as read; default), none (leave as is), "
                                                   "or {move: FOLDER}.")
    max_attachment_mb: int = Field(25, ge=1, le=1024, description="Fail, marking nothing, when an attachment "
                                   "is bigger than this many MB (default: 25).")
    max_message_mb: int = Field(50, ge=1, le=2048, description="Fail, marking nothing, when a message is bigger "
                                "than this many MB; it is not downloaded (default: 50).")
    into: str = Field(pattern=NAME_PATTERN, description="Variable that receives the list of messages: uid, "
                      "message_id, subject, from (also as sender), to, date, sent_at, text, html, attachments "
                      "(name, path, size, sha256).")

    @field_validator("mark", mode="before")
    @classmethod
    def _known_mark(cls, value: Any) -> Any:
        if value in ("seen", "none") or (isinstance(value, dict) and set(value) == {"move"}):
            return value
        raise ValueError(f"mark takes seen, none or {{move: FOLDER}}; got {value!r}")

    def connection_refs(self) -> list[tuple[tuple[str, ...], str, str]]:
        """The header connections this step names: (where, kind, name)."""
        return [(("account",), "account", self.account)]


class SendMailParams(Params):
    """Send a message (SMTP)."""

    account: str = Field(pattern=NAME_PATTERN, description="A mail account declared under `mail:` in the "
                         "flow's header, with an smtp server; its address is the sender.")
    to: Text | list[Text] = Field(description="The recipient address, or a list of them.")
    cc: Text | list[Text] | None = Field(None, description="Copy recipients: an address or a list of them.")
    subject: Text = Field(description="The subject line.")
    body: Text = Field("", description="The message text (plain).")
    html: Text | None = Field(None, description="An HTML version of the message, sent beside the text.")
    attachments: list[Text] | None = Field(None, description="Files to attach: paths in the run's folder "
                                           "(relative paths are taken from it) or in a folder declared under "
                                           "`folders:`.")
    max_attachments_mb: int = Field(20, ge=1, le=1024, description="Refuse to send when the attachments "
                                    "together are bigger than this many MB (default: 20).")
    into: str | None = Field(None, pattern=NAME_PATTERN, description="Variable that receives the sent "
                             "message's Message-ID.")

    @field_validator("to", "cc", mode="before")
    @classmethod
    def _not_empty(cls, value: Any) -> Any:
        if value == [] or value == "":
            raise ValueError("give at least one address")
        return value

    def connection_refs(self) -> list[tuple[tuple[str, ...], str, str]]:
        """The header connections this step names: (where, kind, name)."""
        return [(("account",), "account", self.account)]


def _describe_read(w: Any) -> str:
    folder = f"{w['folder']:plain}" if w.has("folder") else "INBOX"
    unread = "unread " if not w.has("unseen") or w.raw("unseen") else ""
    text = f"Read the {unread}messages in {folder} of the mail account {w['account']:plain}"
    if w.has("subject"):
        text += f" whose subject contains {w['subject']}"
    if w.has("from"):
        text += f" from senders matching {w['from']}"
    mark = w.raw("mark") if w.has("mark") else "seen"
    if isinstance(mark, dict):
        text += f", move them to {mark.get('move')}"
    elif mark == "seen":
        text += ", mark them as read"
    return text + f", into {w['into']:plain}"


def _describe_send(w: Any) -> str:
    text = f"Send the mail {w['subject']} to {w['to']} from the account {w['account']:plain}"
    return text + (f", its Message-ID into {w['into']:plain}" if w.has("into") else "")


@action("read_mail", params=ReadMailParams, kind="data", describe=_describe_read)
def read_mail(ctx, params):
    """Read messages from a mailbox over IMAP; attachments are saved into the run's folder."""
    from bastidor.connectors.mail_client import MailBox, MailError

    account, user, password = _account(ctx, params.account, "imap")
    folder = to_text(params.folder)
    masker = ctx.state.masker
    try:
        with MailBox(account.imap, user, password, timeout_s=_timeout_s(account)) as box:
            found = box.search(folder, unseen=params.unseen, subject=_optional(params.subject),
                               sender=_optional(params.from_), limit=int(params.limit))
            records = [_read_one(ctx, params, box, folder, summary.uid) for summary in found]
            marked = _mark_all(box, folder, [record["uid"] for record in records], params.mark)
    except MailError as error:
        raise StepError(masker.mask_text(str(error))) from None
    ctx.set_variable(params.into, records)
    return _read_result(ctx, params, folder, records, marked)


@action("send_mail", params=SendMailParams, kind="data", describe=_describe_send)
def send_mail(ctx, params):
    """Send a message over SMTP, with attachments from the run's folder; its Message-ID goes into a variable."""
    from bastidor.connectors.mail_client import MailError, send_message
    from bastidor.connectors.mail_store import file_digest

    account, user, password = _account(ctx, params.account, "smtp")
    masker = ctx.state.masker
    to, cc = _addresses(params.to), _addresses(params.cc)
    files = [_attachment_path(ctx, to_text(path)) for path in params.attachments or []]
    _check_total_size(files, int(params.max_attachments_mb))
    sender = account.address or user
    subject = to_text(params.subject)
    try:
        message_id = send_message(account.smtp, user, password, sender=sender, to=to, cc=cc, subject=subject,
                                  text=to_text(params.body), html=_optional(params.html), attachments=files,
                                  timeout_s=_timeout_s(account))
    except MailError as error:
        raise StepError(masker.mask_text(str(error))) from None
    if params.into:
        ctx.set_variable(params.into, message_id)
    return {"account": params.account, "from": masker.mask_text(sender),
            "to": [masker.mask_text(a) for a in to], "cc": [masker.mask_text(a) for a in cc],
            "subject": masker.mask_text(subject), "message_id": masker.mask_text(message_id),
            "attachments": [{"name": masker.mask_text(path.name), "size": path.stat().st_size,
                             "sha256": file_digest(path)} for path in files]}


def _account(ctx: Any, name: str, server: Literal["imap", "smtp"]) -> tuple[MailAccountSpec, str, str]:
    account = ctx.declared("account", name)
    if getattr(account, server) is None:
        use = "read mail" if server == "imap" else "send mail"
        raise StepError(f"the mail account '{name}' has no {server} server, so it cannot {use}: add "
                        f"{server}: {{host: ...}} to it under `mail:` in the flow's header")
    return account, ctx.secret_value(account.user), ctx.secret_value(account.password)


def _timeout_s(account: MailAccountSpec) -> float:
    return (account.timeout if account.timeout is not None else DEFAULT_TIMEOUT_MS) / 1000


def _optional(value: Any) -> str | None:
    text = to_text(value) if value is not None else ""
    return text if text.strip() else None


def _read_one(ctx: Any, params: ReadMailParams, box: Any, folder: str, uid: str) -> dict[str, Any]:
    """Fetch message `uid`, check its size limits, save its attachments; the variable's record for it."""
    from bastidor.connectors.mail_client import MessageTooLarge
    from bastidor.connectors.mail_store import digest, message_folder, save_attachments

    masker = ctx.state.masker
    try:
        message = box.fetch(folder, uid, max_bytes=int(params.max_message_mb) * MB)
    except MessageTooLarge as error:
        raise StepError(f"message {uid} in {folder} is {_mb(error.size)}, over max_message_mb "
                        f"({params.max_message_mb} MB); nothing was marked. Raise max_message_mb, or move the "
                        f"message out of the folder") from None
    if params.attachments:
        for item in message.attachments:
            if item.size > int(params.max_attachment_mb) * MB:
                raise StepError(masker.mask_text(
                    f"the attachment {item.filename} of message {uid} ({message.subject!r}) is {_mb(item.size)}, "
                    f"over max_attachment_mb ({params.max_attachment_mb} MB); nothing was saved or marked. "
                    f"Raise max_attachment_mb, or move the message out of {folder}"))
        saved = save_attachments(message.attachments, message_folder(
            ctx.state.run_dir / MAIL_FOLDER, folder, uid))
        files = [{"name": s.name, "path": str(s.path), "size": Decimal(s.size), "sha256": s.sha256} for s in saved]
    else:
        files = [{"name": a.filename, "path": "", "size": Decimal(a.size), "sha256": digest(a.data)}
                 for a in message.attachments]
    return {"uid": uid, "message_id": message.message_id, "subject": message.subject, "from": message.sender,
            "sender": message.sender,
            "to": list(message.to), "date": message.date.date() if message.date else None,
            "sent_at": message.date.isoformat() if message.date else "", "text": message.text,
            "html": message.html or "", "attachments": files}


def _mark_all(box: Any, folder: str, uids: list[str], mark: Any) -> str:
    """Mark each message read as `mark` says, once all are saved; what was done, for the record."""
    from bastidor.connectors.mail_client import MailError

    move_to = _move_folder(mark)
    done: list[str] = []
    for uid in uids:
        try:
            if move_to is not None:
                box.move(folder, uid, move_to)
            elif mark == "seen":
                box.mark_seen(folder, uid)
        except MailError as error:
            already = f"; messages {', '.join(done)} were already marked" if done else "; none was marked"
            raise MailError(f"{error}{already}") from None
        done.append(uid)
    if not uids or (move_to is None and mark != "seen"):
        return "none"
    return f"moved to {move_to}" if move_to is not None else "seen"


def _move_folder(mark: Any) -> str | None:
    """The folder `mark: {move: FOLDER}` names (the step's settings arrive as plain values), else None."""
    if isinstance(mark, MoveTo):
        return to_text(mark.move)
    if isinstance(mark, dict) and mark.get("move"):
        return to_text(mark["move"])
    return None


def _read_result(ctx: Any, params: ReadMailParams, folder: str, records: list[dict], marked: str) -> dict:
    """The step's audit record: each message's headers and attachments (names, sizes, sha256), masked."""
    mask = ctx.state.masker.mask_text
    result: dict[str, Any] = {"account": params.account, "folder": mask(folder), "count": len(records)}
    for key, value in (("subject", params.subject), ("from", params.from_)):
        if _optional(value):
            result[f"filter_{key}"] = mask(to_text(value))
    result["messages"] = [
        {"uid": record["uid"], "subject": mask(record["subject"]), "from": mask(record["from"]),
         "to": [mask(address) for address in record["to"]], "sent_at": record["sent_at"],
         "attachments": [{"name": mask(item["name"]), "size": int(item["size"]), "sha256": item["sha256"]}
                         for item in record["attachments"]]}
        for record in records]
    result["marked"] = mask(marked)
    return result


def _addresses(value: Any) -> list[str]:
    """The addresses written as one text (separated by , or ;) or a list; display names kept, e.g.
    `"Doe, John" <john@example.com>` stays one address."""
    if value is None:
        return []
    texts = [str(to_text(item)) for item in (value if isinstance(value, (list, tuple)) else [value])]
    found = []
    for name, address in email.utils.getaddresses([text.replace(";", ",") for text in texts]):
        if not address:
            continue
        try:
            found.append(str(Address(display_name=name, addr_spec=address)) if name else address)
        except (ValueError, IndexError, TypeError):  # not an address: send_message says so, naming it
            found.append(f"{name} <{address}>" if name else address)
    return found


def _attachment_path(ctx: Any, written: str) -> Path:
    """`written` as a file inside the run's folder or a declared folder (symbolic links followed first)."""
    path = Path(written).expanduser()
    path = (path if path.is_absolute() else ctx.state.run_dir / path).resolve()
    roots = [Path(ctx.state.run_dir).resolve()]
    roots += [ctx.declared("folder", name) for name in (ctx.scope.flow.header.folders or {})]
    if not any(path == root or root in path.parents for root in roots):
        raise StepError(f"the attachment {written} is outside the run's folder and the declared folders: "
                        f"attach files the flow wrote or read into the run's folder, or declare its folder "
                        f"under `folders:`")
    if not path.is_file():
        raise StepError(f"the attachment {written} does not exist (looked for {path}); check the path, which "
                        f"is taken from the run's folder when relative")
    return path


def _check_total_size(files: list[Path], max_mb: int) -> None:
    total = sum(path.stat().st_size for path in files)
    if total > max_mb * MB:
        raise StepError(f"the attachments add up to {_mb(total)}, over max_attachments_mb ({max_mb} MB); nothing "
                        f"was sent. Send fewer or smaller files, or raise max_attachments_mb")


def _mb(size: int) -> str:
    return f"{size / MB:.1f} MB" if size >= MB else f"{size:,} bytes"
