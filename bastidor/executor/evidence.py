"""Failure evidence that leaves the browser: Playwright traces are scrubbed of secret values."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from bastidor.audit import SecretMasker


def scrub_trace(path: Path, masker: SecretMasker) -> None:
    """Rewrite a trace zip with every secret value masked in its text entries (actions, DOM, network).

    Binary entries (screencast frames) are kept; fields holding secrets are masked in screenshots
    separately. The rewrite goes to a temporary file that then replaces the original.
    """
    temporary = path.with_suffix(".scrubbing")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            target.writestr(entry, _scrubbed(source.read(entry), masker))
    os.replace(temporary, path)


def _scrubbed(data: bytes, masker: SecretMasker) -> bytes:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    return masker.mask_text(text).encode("utf-8")
