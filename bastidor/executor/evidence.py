"""Failure evidence that leaves the browser: screenshot file names that never collide, page text that shows a
secret marked for masking, and Playwright traces scrubbed of secret values."""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path
from typing import Any, Iterable

from bastidor.audit import SecretMasker

SCREENSHOTS = "screenshots"
"""The folder, inside the run's folder, that holds failure screenshots."""

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_PATH_SIGNS = str.maketrans({"[": "_", "]": "", ".": "-", ">": ""})
_LONGEST_PART = 60

SECRET_TEXT_ATTRIBUTE = "data-bastidor-secret-text"
"""Marks, for the time of one screenshot, the elements whose text shows a secret."""

_MARK_SECRET_TEXT = """([texts, attribute]) => {
  const plain = (text) => text.replace(/\\s+/g, " ").toLowerCase();
  const root = document.body;
  if (!root) return 0;
  const page = plain(root.textContent || "");
  const shown = [...new Set(texts.map((text) => plain(text).trim()))].filter((text) => text && page.includes(text));
  let marked = 0;
  for (const text of shown) {
    const pending = [root];
    while (pending.length) {
      const element = pending.pop();
      const inner = [...element.children].filter((child) => plain(child.textContent || "").includes(text));
      const own = [...element.childNodes].some((node) => node.nodeType === 3 && plain(node.data).includes(text));
      if (own || !inner.length) { (element.closest("select") || element).setAttribute(attribute, ""); marked += 1; }
      pending.push(...inner);
    }
  }
  return marked;
}"""
_UNMARK = """(attribute) => document.querySelectorAll(`[${attribute}]`).forEach((e) => e.removeAttribute(attribute))"""


def screenshot_name(step_path: str, item_ref: str | None, attempt: int) -> str:
    """The file name of a failed attempt's screenshot: `step-2_5-3_ORD-7_a2.png` for step 2[5].3 of item
    ORD-7, attempt 2. Only letters, digits, `-` and `_` are kept, so the name is valid on Windows too
    (no `<>:"/\\|?*`); the item reference is shortened to 60 characters."""
    parts = ["step-" + _safe(step_path.translate(_PATH_SIGNS))]
    if item_ref and _safe(item_ref):
        parts.append(_safe(item_ref))
    parts.append(f"a{attempt}")
    return "_".join(parts) + ".png"


def free_path(folder: Path, name: str) -> Path:
    """`folder/name`, or `name-2`, `name-3`... before the suffix when a file of that name is already there,
    so no evidence ever replaces earlier evidence."""
    candidate, number = folder / name, 1
    while candidate.exists():
        number += 1
        candidate = folder / f"{Path(name).stem}-{number}{Path(name).suffix}"
    return candidate


def mark_secret_text(page: Any, texts: Iterable[str]) -> Any | None:
    """Mark the smallest elements of `page` whose text contains one of `texts` (ignoring case and runs of
    spaces, as Playwright's `get_by_text` matches; for an option, its drop-down) in the page's main frame,
    and return a locator for them, to pass to
    `screenshot(mask=...)`; None when the page shows none of them. Call `unmark_secret_text` afterwards.

    One script looks for every text at once: Playwright resolves each mask locator separately, which was
    measured at +0.4 s per screenshot of a large page for 20 `get_by_text` locators, and a run may learn
    hundreds of values computed from its secrets.
    """
    marked = page.evaluate(_MARK_SECRET_TEXT, [list(texts), SECRET_TEXT_ATTRIBUTE])
    return page.locator(f"[{SECRET_TEXT_ATTRIBUTE}]") if marked else None


def unmark_secret_text(page: Any) -> None:
    """Remove the marks `mark_secret_text` left on the page."""
    page.evaluate(_UNMARK, SECRET_TEXT_ATTRIBUTE)


def _safe(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("_")[:_LONGEST_PART]


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
