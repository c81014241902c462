"""The webhook channel: each message is POSTed as JSON, `{"event", "summary", "text", ...fields}`.

The URL and header values may name secrets (`"Bearer {{ secrets.CHAT_TOKEN }}"`); they are filled in
only when a message is sent. Redirects are not followed, so a token never goes to another server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlsplit

import httpx

from bastidor.notify.delivery import DeliveryError
from bastidor.notify.messages import Message
from bastidor.notify.secretrefs import fill_secrets, referenced_secrets

RETRIED_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True)
class WebhookChannel:
    """POSTs each message's JSON to `url` with `headers`."""

    kind: ClassVar[str] = "webhook"
    name: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    timeout_s: float = 10.0

    def secret_names(self) -> list[str]:
        """The secrets named in the URL and the header values."""
        texts = [self.url] + [value for _, value in self.headers]
        return list(dict.fromkeys(name for text in texts for name in referenced_secrets(text)))

    def describe(self) -> str:
        """The channel as a person reads it, with the URL as written (secrets not filled in)."""
        return f"webhook {self.url}"

    def send(self, message: Message, secrets: Mapping[str, str]) -> None:
        """POST `message.payload`, or raise DeliveryError saying what went wrong and whether to retry."""
        url = fill_secrets(self.url, secrets)
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise DeliveryError("the webhook 'url' is not an http:// or https:// address: check it (and the "
                                "secret it names, if any)", temporary=False)
        headers = {name: fill_secrets(value, secrets) for name, value in self.headers}
        try:
            response = httpx.post(url, json=message.payload, headers=headers, timeout=self.timeout_s,
                                  follow_redirects=False)
        except httpx.TimeoutException as error:
            raise DeliveryError(f"the webhook did not answer within {self.timeout_s:g}s", temporary=True) from error
        except httpx.HTTPError as error:
            raise DeliveryError(f"could not reach the webhook ({error}): check the URL and that the "
                                "receiving service is up", temporary=True) from error
        _check_answer(response)


def _check_answer(response: httpx.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    if 300 <= status < 400:
        raise DeliveryError(f"the webhook answered with a redirect ({status}): write the final URL "
                            "in the notifications file", temporary=False)
    temporary = status >= 500 or status in RETRIED_STATUSES
    hint = "the receiving service has a problem" if temporary else \
        "check the URL and the headers (a token may be wrong or expired)"
    raise DeliveryError(f"the webhook answered {status} {response.reason_phrase}: {hint}", temporary=temporary)
