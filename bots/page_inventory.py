"""What a page offers to be found: its labels, named elements, texts, placeholders, test ids and options.

Collected only after a step failed, to say what on the page is close to what the step looked for. One
script reads everything in one round trip, bounded: at most `MAX_CANDIDATES` entries of at most
`MAX_TEXT` characters, from at most `MAX_NODES` text nodes. Field values are never read (so no password or
other typed value can end up in a message), only the texts a person sees beside the fields.

The script runs through `wait_for_function` rather than `evaluate`, because only the former gives up when
the page does not answer (a page whose script is stuck would otherwise hold the bot for ever).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_CANDIDATES = 400
MAX_TEXT = 80
MAX_NODES = 4000
INVENTORY_TIMEOUT_MS = 2000

_INVENTORY = """([testIdAttribute, maxCandidates, maxText, maxNodes]) => {
  const clean = (text) => (text || "").replace(/\\s+/g, " ").trim().slice(0, maxText);
  const shown = (e) => {
    if (!e || !(e.offsetWidth || e.offsetHeight || e.getClientRects().length)) return false;
    const style = getComputedStyle(e);
    return style.visibility !== "hidden" && style.display !== "none";
  };
  const found = {label: [], role: [], text: [], placeholder: [], test_id: [], option: []};
  const seen = new Set();
  let count = 0;
  const add = (kind, value, role) => {
    const text = clean(value);
    const key = kind + "|" + (role || "") + "|" + text;
    if (!text || count >= maxCandidates || seen.has(key)) return;
    seen.add(key);
    count += 1;
    found[kind].push(role ? [role, text] : text);
  };
  const IMPLICIT = {A: "link", BUTTON: "button", SELECT: "combobox", TEXTAREA: "textbox", H1: "heading",
                    H2: "heading", H3: "heading", H4: "heading", H5: "heading", H6: "heading", TABLE: "table"};
  const INPUT_ROLES = {button: "button", submit: "button", reset: "button", image: "button", checkbox: "checkbox",
                       radio: "radio", range: "slider", number: "spinbutton", search: "searchbox"};
  const roleOf = (e) => {
    if (e.getAttribute("role")) return e.getAttribute("role").split(" ")[0];
    if (e.tagName === "INPUT") return INPUT_ROLES[(e.getAttribute("type") || "text").toLowerCase()] || "textbox";
    if (e.tagName === "A" && !e.hasAttribute("href")) return null;
    return IMPLICIT[e.tagName] || null;
  };
  const labelOf = (e) => {
    const labels = [...(e.labels || [])].map((l) => l.textContent);
    if (labels.length) return labels.join(" ");
    const before = e.previousElementSibling;
    if (before && !before.querySelector("input, select, textarea") && clean(before.textContent).length <= 60) {
      return before.textContent;
    }
    return "";
  };
  const nameOf = (e) => {
    if (e.getAttribute("aria-label")) return e.getAttribute("aria-label");
    const ids = (e.getAttribute("aria-labelledby") || "").split(/\\s+/).filter(Boolean);
    if (ids.length) return ids.map((id) => (document.getElementById(id) || {}).textContent || "").join(" ");
    if (["INPUT", "SELECT", "TEXTAREA"].includes(e.tagName)) {
      const kind = (e.getAttribute("type") || "").toLowerCase();
      if (["button", "submit", "reset"].includes(kind)) return e.getAttribute("value") || kind;
      return labelOf(e) || e.getAttribute("placeholder") || e.getAttribute("title") || "";
    }
    return e.textContent || e.getAttribute("title") || "";
  };
  const fields = document.querySelectorAll("input:not([type=hidden]), select, textarea");
  for (const f of fields) {
    if (!shown(f)) continue;
    add("label", labelOf(f));
    if (f.getAttribute("aria-label")) add("label", f.getAttribute("aria-label"));
    if (f.getAttribute("placeholder")) add("placeholder", f.getAttribute("placeholder"));
    if (f.tagName === "SELECT") for (const o of f.options) add("option", o.textContent);
  }
  const named = "a[href], button, input, select, textarea, [role], h1, h2, h3, h4, h5, h6, table";
  for (const e of document.querySelectorAll(named)) {
    const role = roleOf(e);
    if (role && shown(e) && (e.getAttribute("type") || "").toLowerCase() !== "hidden") add("role", nameOf(e), role);
  }
  const walker = document.createTreeWalker(document.body || document.documentElement, NodeFilter.SHOW_TEXT);
  for (let n = 0, node = walker.nextNode(); node && n < maxNodes; n += 1, node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || ["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "OPTION"].includes(parent.tagName)) continue;
    if (!clean(node.data) || !shown(parent)) continue;
    add("text", parent.textContent.length <= 200 ? parent.textContent : node.data);
  }
  if (testIdAttribute) {
    for (const e of document.querySelectorAll("[" + CSS.escape(testIdAttribute) + "]")) {
      add("test_id", e.getAttribute(testIdAttribute));
    }
  }
  return found;
}"""


@dataclass
class PageInventory:
    """What one page offers to be found; each list in page order, without repeats."""

    labels: list[str] = field(default_factory=list)
    named: list[tuple[str, str]] = field(default_factory=list)
    """(role, accessible name) of buttons, links, fields, headings and other elements with a role."""
    texts: list[str] = field(default_factory=list)
    placeholders: list[str] = field(default_factory=list)
    test_ids: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)
    """The options of the page's drop-downs."""

    def names_of(self, role: str) -> list[str]:
        """The accessible names of the elements with `role`."""
        return [name for each, name in self.named if each == role]

    def without(self, hidden: Any) -> "PageInventory":
        """This inventory without the entries for which `hidden(text)` is true (e.g. texts showing a secret)."""
        def keep(texts: list[str]) -> list[str]:
            return [text for text in texts if not hidden(text)]

        return PageInventory(keep(self.labels), [(r, n) for r, n in self.named if not hidden(n)], keep(self.texts),
                             keep(self.placeholders), keep(self.test_ids), keep(self.options))


def read_inventory(page: Any, *, test_id_attribute: str = "data-testid",
                   timeout_ms: int = INVENTORY_TIMEOUT_MS) -> PageInventory | None:
    """The inventory of `page`'s main frame, or None when the page does not answer within `timeout_ms`
    (or is gone): a failure message is then written without it."""
    try:
        handle = page.wait_for_function(_INVENTORY, arg=[test_id_attribute, MAX_CANDIDATES, MAX_TEXT, MAX_NODES],
                                        timeout=timeout_ms, polling=100)
        found = handle.json_value()
        handle.dispose()
    except Exception:  # a page that is gone, navigating or stuck: the message goes without the inventory
        return None
    return PageInventory(labels=found["label"], named=[(role, name) for role, name in found["role"]],
                         texts=found["text"], placeholders=found["placeholder"], test_ids=found["test_id"],
                         options=found["option"])
