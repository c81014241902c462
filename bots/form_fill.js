// Fills a whole form inside the page, in one round trip from the bot: the body of `fill_form`.
//
// Called by page.wait_for_function with a job {token, fields: [...]}, again and again (on every animation
// frame) until it returns a result. Each call goes on where the last one stopped: it fills the fields that
// are ready, in order, and returns null while the next one is missing, hidden, disabled, read-only or
// lacks the option to choose, recording why in window.__bastidorFillForm so the bot can say which field
// held it up. Fields are filled the way Playwright's fill and select_option do it, so a page sees what a
// person's typing gives it: focus, the text inserted as an edit (beforeinput and input events), then
// change and blur when the focus moves on; drop-downs get input and change.
(job) => {
  const SET_DIRECTLY = new Set(["color", "date", "time", "datetime-local", "month", "range", "week"]);
  const NOT_FIELDS = new Set(["hidden", "submit", "button", "reset", "image", "file"]);
  const GLYPHS = /^[\s\ue000-\uf8ff]+|[\s\ue000-\uf8ff]+$/g;
  const normal = (text) => (text || "").replace(/\u00a0/g, " ").replace(GLYPHS, "").replace(/\s+/g, " ");
  const matches = (text, wanted, exact) => exact ? normal(text) === normal(wanted)
    : normal(text).toLowerCase().includes(normal(wanted).toLowerCase());

  let progress = window.__bastidorFillForm;
  if (!progress || progress.token !== job.token) {
    progress = window.__bastidorFillForm = {token: job.token, next: 0, filled: [], waiting: null};
  }

  function labelText(label) {
    const copy = label.cloneNode(true);
    copy.querySelectorAll("input, select, textarea, button").forEach((control) => control.remove());
    return copy.textContent;
  }

  function namesOf(control) {
    const names = [...(control.labels || [])].map(labelText);
    const ids = (control.getAttribute("aria-labelledby") || "").split(/\s+/).filter(Boolean);
    ids.forEach((id) => { const element = document.getElementById(id); if (element) names.push(element.textContent); });
    if (control.hasAttribute("aria-label")) names.push(control.getAttribute("aria-label"));
    return names;
  }

  const INVALID = {
    css: "it is not a valid CSS selector (check its brackets, quotes and colons)",
    xpath: "it is not a valid XPath expression (check its brackets, quotes and slashes)",
  };

  function byXpath(xpath) {
    const found = document.evaluate(xpath, document, null, XPathResult.ORDERED_NODE_SNAPSHOT_TYPE, null);
    return Array.from({length: found.snapshotLength}, (_, n) => found.snapshotItem(n));
  }

  function candidates(field) {
    if (field.how === "css") return [...document.querySelectorAll(field.value)];
    if (field.how === "xpath") return byXpath(field.value);
    const controls = [...document.querySelectorAll("input, select, textarea")];
    if (field.how === "placeholder") {
      return controls.filter((c) => c.hasAttribute("placeholder") && matches(c.getAttribute("placeholder"), field.value, field.exact));
    }
    const tied = controls.filter((control) => namesOf(control).some((name) => matches(name, field.value, field.exact)));
    const all = [...new Set([...tied, ...byXpath(field.untied_xpath)])];
    return all.sort((a, b) => a === b ? 0 : (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1));
  }

  // The value as an error may show it: never a secret's.
  function shownValue(field) {
    return field.secret ? "(a secret value)" : `"${field.text}"`;
  }

  function visible(element) {
    const style = getComputedStyle(element);
    return element.getClientRects().length > 0 && style.visibility !== "hidden";
  }

  function kindOf(element) {
    const tag = element.tagName.toLowerCase();
    if (tag === "select" || tag === "textarea") return tag;
    if (tag !== "input") return null;
    const type = (element.getAttribute("type") || "text").toLowerCase();
    return NOT_FIELDS.has(type) ? null : `input type=${type}`;
  }

  function optionFor(select, value) {
    return [...select.options].find((option) => option.value === value)
      || [...select.options].find((option) => normal(option.label) === normal(value));
  }

  // Why `element` cannot take `field`'s value yet (null when it can), or {fatal} when it never will.
  function notReady(element, field) {
    const kind = kindOf(element);
    if (!kind) return {fatal: `it is a <${element.tagName.toLowerCase()}>, not a text field, drop-down, checkbox or radio button`};
    if (!element.isConnected || !visible(element)) return {reason: "it is not visible"};
    if (element.matches(":disabled")) return {reason: "it is disabled"};
    if (kind === "select") {
      if (!optionFor(element, field.text)) {
        const shown = [...element.options].map((o) => normal(o.label)).filter(Boolean).slice(0, 20);
        return {reason: `it has no option ${shownValue(field)}`, options: shown};
      }
      return null;
    }
    if (element.readOnly) return {reason: "it is read-only"};
    if (element.type === "number" && field.text.trim() !== "" && Number.isNaN(Number(field.text))) {
      return {fatal: `${shownValue(field)} is not a number, and the field only takes numbers`};
    }
    return null;
  }

  function fire(element, ...types) {
    types.forEach((type) => element.dispatchEvent(new Event(type, {bubbles: true})));
  }

  function put(element, field) {
    const kind = kindOf(element);
    if (kind === "select") {  // as select_option: no focus, the choice and its input and change events
      optionFor(element, field.text).selected = true;
      fire(element, "input", "change");
      return kind;
    }
    element.focus();
    if (kind === "input type=checkbox" || kind === "input type=radio") {
      const wanted = ["true", "yes", "1", "on", "x"].includes(field.text.trim().toLowerCase());
      if (element.checked !== wanted) element.click();
      return kind;
    }
    if (SET_DIRECTLY.has(element.type)) {
      element.value = field.text;
      fire(element, "input", "change");
      return element.value === field.text ? kind : {fatal: `${shownValue(field)} is not a value this ${element.type} field takes`};
    }
    element.select();
    if (field.text === "") document.execCommand("delete");
    else document.execCommand("insertText", false, field.text);
    return kind;
  }

  // What the page's fields are called: their labels, and the short text standing just before an untied one.
  function pageLabels() {
    const texts = [];
    document.querySelectorAll("input, select, textarea").forEach((control) => {
      if (!kindOf(control)) return;
      texts.push(...namesOf(control));
      const before = control.previousElementSibling;
      if (before && !before.matches("input, select, textarea") && before.textContent.length < 80) texts.push(before.textContent);
    });
    return [...new Set(texts.map(normal).filter(Boolean))].slice(0, 60);
  }

  while (progress.next < job.fields.length) {
    const field = job.fields[progress.next];
    let found;
    try {
      found = candidates(field);
    } catch (error) {  // the page refused the css or xpath: waiting will not mend it
      progress.waiting = {index: progress.next, fatal: INVALID[field.how] || error.message};
      return {failed: progress.waiting, filled: progress.filled};
    }
    const element = found[field.nth || 0];
    if (!element) {
      progress.waiting = {index: progress.next, reason: "not found", labels: field.how === "label" ? pageLabels() : []};
      return null;
    }
    const problem = notReady(element, field);
    if (problem) {
      progress.waiting = {index: progress.next, ...problem};
      if (problem.fatal) return {failed: progress.waiting, filled: progress.filled};
      return null;
    }
    const done = put(element, field);
    if (typeof done !== "string") {
      progress.waiting = {index: progress.next, ...done};
      return {failed: progress.waiting, filled: progress.filled};
    }
    progress.filled.push({field: field.describe, element: done, matches: found.length});
    progress.next += 1;
  }
  if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur();
  delete window.__bastidorFillForm;
  return {filled: progress.filled};
}
