"""The `mail_accounts:` section of a schedules file: mailboxes `on_mail` triggers read, declared as a flow's
`mail:` header is (bastidor.flow.connections.MailAccountSpec), each secret they name listed under `secrets:`.

    secrets: [ORDERS_MAIL_USER, ORDERS_MAIL_PASSWORD]
    mail_accounts:
      orders:
        imap: {host: imap.example.com}
        user: ORDERS_MAIL_USER
        password: ORDERS_MAIL_PASSWORD
"""

from __future__ import annotations

from bastidor.flow.connections import MailAccountSpec
from bastidor.schedule.settings import LoadContext


def read_mail_accounts(written: dict, context: LoadContext) -> None:
    """Check each declared account into `context.mail_accounts` (or `broken_accounts`, after reporting it)."""
    for name, raw in written.items():
        loc = ("mail_accounts", name)
        before = len(context.problems.items)
        account = context.problems.validate(MailAccountSpec, raw, loc, f"mail account '{name}'")
        if account is not None:
            for where, secret in account.secret_names():
                if secret not in context.secrets:
                    context.problems.add(loc + where, f"secret '{secret}' is not declared: add it to the "
                                         "`secrets:` list at the top of the schedules file")
        if account is None or len(context.problems.items) > before:
            context.broken_accounts.add(str(name))
        else:
            context.mail_accounts[str(name)] = account
