"""Checks the event triggers of a schedule (`on_file`, `on_mail`) and builds their specs.

An event trigger hands the run what arrived through flow inputs: `on_file` the file's path in the input
it names; `on_mail` the folder holding the message (its details in `message.json`, its attachments
beside it) in the input it names, plus, for each of these the flow declares, `<input>_uid`,
`<input>_subject`, `<input>_from`, `<input>_attachment` (the first attachment's path) and
`<input>_attachments` (every attachment's path, one a line).
"""

from __future__ import annotations

from typing import Any

from bastidor.flow.diagnostics import did_you_mean, display_path
from bastidor.flow.model import FlowHeader, InputType
from bastidor.flow.yamlsource import Loc
from bastidor.schedule.fileformat import OnFileFile, OnMailFile
from bastidor.schedule.settings import LoadContext
from bastidor.schedule.triggers import FileSpec, MailSpec, TriggerSpec

EVENT_KINDS = ("on_file", "on_mail")
MAIL_DETAIL_INPUTS = ("uid", "subject", "from", "attachment", "attachments")
"""The optional inputs an `on_mail` trigger fills, as suffixes of its `input` (`message_subject`, ...)."""
MIN_SETTLE_S = 0.5
MIN_MAIL_POLL_S = 1.0


def trigger_inputs(trigger: TriggerSpec | None, written: Any = None) -> frozenset[str]:
    """The flow inputs `trigger` fills at each fire (none for the clock triggers); when the trigger is not
    valid, the input its `written` form (a TriggerFile) names, so that input is not also reported missing."""
    if trigger is None and written is not None:
        event = written.on_file or written.on_mail
        return frozenset({event.input}) if event is not None else frozenset()
    if isinstance(trigger, FileSpec):
        return frozenset({trigger.input})
    if isinstance(trigger, MailSpec):
        return frozenset({trigger.input, *trigger.details})
    return frozenset()


def build_event_trigger(kind: str, spec: Any, context: LoadContext, header: FlowHeader,
                        loc: Loc) -> TriggerSpec | None:
    """The `on_file` or `on_mail` trigger `spec`, or None after recording what is wrong with it."""
    if kind == "on_file":
        return _file_trigger(spec, context, header, loc)
    return _mail_trigger(spec, context, header, loc)


def _file_trigger(spec: OnFileFile, context: LoadContext, header: FlowHeader, loc: Loc) -> FileSpec | None:
    problems, before = context.problems, len(context.problems.items)
    folder = (context.folder / spec.folder).resolve()
    if not folder.is_dir():
        problems.add(loc + ("folder",), f"folder '{spec.folder}' not found (looked for {display_path(folder)}): "
                     "create it, or fix the path (relative to the schedules file's folder)")
    elif folder in context.watched_folders:
        problems.add(loc + ("folder",), f"folder '{spec.folder}' is already watched by the on_file trigger on "
                     f"line {context.watched_folders[folder]}: give each on_file schedule a folder of its own")
    else:
        context.watched_folders[folder] = problems.source.at(loc + ("folder",)).line
    if "/" in spec.pattern or "\\" in spec.pattern:
        problems.add(loc + ("pattern",), f"'pattern' matches file names inside the folder, so it cannot hold "
                     f"a / (got '{spec.pattern}'): put the folder in 'folder' and e.g. \"*.xlsx\" in 'pattern'")
    if spec.settle < MIN_SETTLE_S * 1000:
        problems.add(loc + ("settle",), f"'settle' must be at least {MIN_SETTLE_S * 1000:g}ms: it is how long a "
                     "file must stay unchanged before it is taken, e.g. 2s")
    _check_input(spec.input, header, loc + ("input",), context, "the file's path")
    if len(problems.items) > before:
        return None
    return FileSpec(folder, spec.pattern, spec.input, spec.settle / 1000, spec.folder)


def _mail_trigger(spec: OnMailFile, context: LoadContext, header: FlowHeader, loc: Loc) -> MailSpec | None:
    problems, before = context.problems, len(context.problems.items)
    account = _mail_account(spec.account, context, loc + ("account",))
    if spec.poll < MIN_MAIL_POLL_S * 1000:
        problems.add(loc + ("poll",), f"'poll' must be at least {MIN_MAIL_POLL_S:g}s: it is how often the "
                     "mailbox is read, e.g. 30s")
    _check_input(spec.input, header, loc + ("input",), context, "the folder holding the message")
    details = tuple(f"{spec.input}_{name}" for name in MAIL_DETAIL_INPUTS if f"{spec.input}_{name}" in header.inputs)
    if len(problems.items) > before or account is None:
        return None
    return MailSpec(spec.account, account, spec.input, spec.folder, spec.subject, spec.sender, spec.poll / 1000,
                    details)


def _mail_account(name: str, context: LoadContext, loc: Loc) -> Any:
    """The declared account `name` with an IMAP server, or None after saying why it cannot be read."""
    if name in context.broken_accounts:
        return None
    account = context.mail_accounts.get(name)
    if account is None:
        known = set(context.mail_accounts) | context.broken_accounts
        hint = did_you_mean(name, known) if known else (": no mail accounts are declared; add it under "
                                                        "`mail_accounts:` at the top of the file")
        context.problems.add(loc, f"mail account '{name}' is not declared under `mail_accounts:`{hint}")
        return None
    if account.imap is None:
        context.problems.add(loc, f"mail account '{name}' has no `imap:` server to read from: add "
                             "imap: {host: ...} to it")
        return None
    return account


def _check_input(name: str, header: FlowHeader, loc: Loc, context: LoadContext, what: str) -> None:
    """The flow must declare input `name` as a path (or text): the trigger puts `what` in it."""
    spec = header.inputs.get(name)
    if spec is None:
        hint = did_you_mean(name, header.inputs) if header.inputs else ""
        fix = hint or f": declare it in the flow, e.g. inputs: {{{name}: {{type: path}}}}"
        context.problems.add(loc, f"the flow has no input '{name}' to receive {what}{fix}")
    elif spec.type not in (InputType.path, InputType.text):
        context.problems.add(loc, f"input '{name}' is of type {spec.type.value}, but the trigger puts {what} in it: "
                             "declare it with type: path")

