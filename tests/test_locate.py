"""Finding fields the way a person reads the page, against a real Chromium."""

from __future__ import annotations

import json
import random
import threading
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from bastidor.bots.locate import describe, locate, xpath_literal
from bastidor.bots.session import Bot, BotSettings
from bastidor.flow.target import TargetFields

FIELDS = {"first_name": "First Name", "last_name": "Last Name", "email": "Email", "phone": "Phone Number"}


def _form_page(variant: int) -> str:
    """The order form, with field order and ids reshuffled for every variant (like the RPA Challenge)."""
    rng = random.Random(variant)
    names = list(FIELDS)
    rng.shuffle(names)
    rows = []
    for index, name in enumerate(names):
        field_id = f"f{rng.randrange(10**6)}"
        if index % 2:
            rows.append(f'<div class="row"><label>{FIELDS[name]}</label><input id="{field_id}" name="{name}"></div>')
        else:
            rows.append(f'<div class="row"><label for="{field_id}">{FIELDS[name]}</label>'
                        f'<input id="{field_id}" name="{name}"></div>')
    return f'<form method="post" action="/submit">{"".join(rows)}<input type="submit" value="Submit"></form>'


class _FormHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        variant = int(parse_qs(urlparse(self.path).query).get("variant", ["0"])[0])
        self._reply(_form_page(variant))

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        submitted = {key: values[0] for key, values in parse_qs(body).items()}
        self._reply(f'<pre id="result">{escape(json.dumps(submitted))}</pre>')

    def _reply(self, html: str) -> None:
        data = f"<!doctype html><html><body>{html}</body></html>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FormHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def bot():
    with Bot(BotSettings(timeout_ms=3_000)) as started:
        yield started


@pytest.fixture(scope="module")
def page(bot):
    with bot.run_context() as run:
        yield run.page


def _name_of(page, **target) -> str | None:
    return locate(page, TargetFields(**target)).get_attribute("name")


def test_tied_label_finds_its_own_field_even_when_another_field_comes_first(page):
    page.set_content('<label for="b">Beta</label><input id="a" name="alpha" aria-label="Alpha">'
                     '<input id="b" name="beta">')
    assert _name_of(page, label="Beta") == "beta"


@pytest.mark.parametrize("markup", [
    '<div><label>First Name</label><input name="first"></div><div><label>Last Name</label><input name="last"></div>',
    '<div><span>First Name</span><input name="first"></div><div><span>Last Name</span><input name="last"></div>',
    '<table><tr><td>First Name</td><td><input name="first"></td></tr>'
    '<tr><td><b>Last Name</b></td><td><input name="last"></td></tr></table>',
    '<p>First&nbsp;Name</p><input type="hidden" name="token"><input name="first">'
    '<p>Last Name</p><select name="last"><option>x</option></select>',
], ids=["label", "span", "table-cells", "paragraph"])
def test_untied_label_finds_the_field_that_follows_it(page, markup):
    page.set_content(markup)
    assert _name_of(page, label="First Name") == "first"
    assert _name_of(page, label="Last Name") == "last"


def test_wrapping_block_with_the_same_text_does_not_steal_the_next_field(page):
    page.set_content('<div class="group"><div>Email</div><input name="email"></div>'
                     '<div class="group"><div>Phone</div><input name="phone"></div>')
    assert _name_of(page, label="Phone") == "phone"
    assert _name_of(page, label="Email") == "email"


def test_wrapped_label_finds_the_field_inside_it(page):
    page.set_content('<label><input type="checkbox" name="agree"> I agree</label>'
                     '<label>Name <input name="inside"></label><input name="after">')
    assert _name_of(page, label="Name") == "inside"
    assert _name_of(page, label="I agree") == "agree"


@pytest.mark.parametrize("markup", [
    '<label>Country <select name="country"><option>Spain</option><option>Chile</option></select></label>',
    '<label><span>Country</span> <select name="country"><option>Spain</option></select></label>',
    '<label>Country<textarea name="country">Spain</textarea></label>',
], ids=["text", "span", "textarea"])
def test_label_wrapping_a_drop_down_or_text_area_finds_it(page, markup):
    page.set_content('<label>Region <select name="region"><option>Country</option></select></label>' + markup)
    assert _name_of(page, label="Country") == "country"
    assert _name_of(page, label="Region") == "region"


def test_label_text_with_quotes_finds_its_field(page):
    page.set_content('<span>Customer\'s "nick" name</span><input name="nick">'
                     '<label for="o">Owner\'s name</label><input id="o" name="owner">')
    assert _name_of(page, label='Customer\'s "nick" name') == "nick"
    assert _name_of(page, label="Owner's name") == "owner"


def test_loose_label_matches_part_of_the_text_in_any_case(page):
    page.set_content('<div><label>Delivery address:</label><textarea name="address"></textarea></div>')
    assert _name_of(page, label="delivery address", exact=False) == "address"
    assert locate(page, TargetFields(label="delivery address")).count() == 0


def test_loose_label_matching_several_fields_takes_the_first(page):
    page.set_content('<label for="a">Contact name</label><input id="a" name="contact">'
                     '<span>Contact name (backup)</span><input name="backup">')
    assert _name_of(page, label="contact name", exact=False) == "contact"


def test_fields_are_filled_correctly_when_their_order_and_ids_change(page, server_url):
    values = {"first_name": "Ana", "last_name": "Silva", "email": "ana@example.com", "phone": "555-0101"}
    for variant in (1, 2):
        page.goto(f"{server_url}/form?variant={variant}")
        for name, value in values.items():
            locate(page, TargetFields(label=FIELDS[name])).fill(value)
        locate(page, TargetFields(role="button", name="Submit")).click()
        assert json.loads(page.locator("#result").inner_text()) == values
    assert _form_page(1) != _form_page(2)


def test_role_and_name_pick_the_named_button(page):
    page.set_content('<button onclick="document.title=\'cancelled\'">Cancel</button>'
                     '<button onclick="document.title=\'saved\'">Save</button>')
    locate(page, TargetFields(role="button", name="Save")).click()
    assert page.title() == "saved"


def test_placeholder_test_id_css_and_xpath_find_their_elements(page):
    page.set_content('<input name="search" placeholder="Search orders">'
                     '<input name="qty" data-testid="quantity"><input name="sku" class="sku">'
                     '<input name="notes" title="notes">')
    assert _name_of(page, placeholder="Search orders") == "search"
    assert _name_of(page, test_id="quantity") == "qty"
    assert _name_of(page, css="input.sku") == "sku"
    assert _name_of(page, xpath="//input[@title='notes']") == "notes"


def test_text_finds_the_element_showing_it(page):
    page.set_content('<p>Order 41</p><p id="target">Order 42</p>')
    assert locate(page, TargetFields(text="Order 42")).get_attribute("id") == "target"


def test_nth_picks_the_nth_match(page):
    page.set_content('<input class="line" name="l0"><input class="line" name="l1"><input class="line" name="l2">')
    assert _name_of(page, css="input.line", nth=1) == "l1"
    page.set_content('<span>Qty</span><input name="q0"><span>Qty</span><input name="q1">')
    assert _name_of(page, label="Qty", nth=1) == "q1"


def test_xpath_literal_keeps_every_kind_of_quote(page):
    for text in ['plain', 'it\'s', 'say "hi"', 'it\'s "both"']:
        assert page.evaluate(
            "x => document.evaluate(x, document, null, XPathResult.STRING_TYPE, null).stringValue",
            xpath_literal(text),
        ) == text


def test_text_and_field_in_one_element_finds_the_field_inside(page):
    page.set_content('<table><tr><td>Phone: <input name="phone"></td></tr></table><input name="next">'
                     '<div>Fax <select name="fax"><option>-</option></select></div>')
    assert _name_of(page, label="Phone:") == "phone"
    assert _name_of(page, label="Fax") == "fax"


def test_label_inside_a_form_section_finds_the_field_in_that_section(page):
    page.set_content('<input name="outside"><fieldset id="billing"><span>City</span><input name="billing_city">'
                     '</fieldset><fieldset id="shipping"><span>City</span><input name="shipping_city"></fieldset>')
    assert locate(page.locator("#shipping"), TargetFields(label="City")).get_attribute("name") == "shipping_city"


def test_describe_reads_like_the_target():
    assert describe(TargetFields(role="button", name="Save")) == 'role button "Save"'
    assert describe(TargetFields(label="Quantity")) == 'label "Quantity"'
