"""The `read_pdf` step on real PDFs (tests/invoice_pdfs.py), in real flow runs.

The invoices are drawn with fpdf2: a ruled one, a plain one (no grid), one whose table runs onto page 2. The bad
ones are a damaged file, a scan (no text layer), a password-protected one and an empty page.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from bastidor.actions.pdf import pdf_path
from bastidor.connectors.pdf_reader import PdfReadError, parse_page_range
from bastidor.executor.errors import StepError
from invoice_pdfs import (SAMPLE_INVOICES, money, write_blank_pdf, write_encrypted_pdf, write_malformed_pdf,
                          write_sample_invoices, write_scanned_pdf, write_text_pages_pdf)

READ_INVOICE = """
name: Read a supplier invoice
inputs:
  file: {{type: path}}
steps:
  - read_pdf: {{file: "{{{{ file }}}}", into: invoice{extra}}}
  - set:
      number: "{{{{ regex_find(invoice.text, 'Invoice number:\\\\s*(INV-\\\\d{{4}}-\\\\d{{4}})') }}}}"
      supplier: "{{{{ trim(regex_find(invoice.text, '^(.*)')) }}}}"
      total: "{{{{ parse_money(regex_find(invoice.text, 'Total due:\\\\s*EUR\\\\s*([\\\\d,.]+)')) }}}}"
      lines: "{{{{ invoice.tables[0] }}}}"
      lines_sum: "{{{{ sum(map(invoice.tables[0], 'parse_money(row.Amount)')) }}}}"
  - log: "{{{{ number }}}} from {{{{ supplier }}}}: {{{{ len(lines) }}}} lines, total {{{{ total }}}}"
"""


def _flow(tmp_path: Path, text: str, name: str = "flow.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _step_record(run, action: str = "read_pdf") -> dict:
    records = [json.loads(line) for line in run.audit_text.splitlines()]
    return [r for r in records if r.get("event") == "step" and r.get("action") == action][-1]


def _variables(run) -> dict:
    """The values the flow logged, one `log` line: number, supplier, lines, total."""
    records = [json.loads(line) for line in run.audit_text.splitlines()]
    return [r for r in records if r.get("event") == "step" and r.get("action") == "log"][-1]["result"]


@pytest.fixture(scope="module")
def invoices(tmp_path_factory) -> dict[str, Path]:
    return write_sample_invoices(tmp_path_factory.mktemp("invoices"))


@pytest.mark.parametrize("invoice", SAMPLE_INVOICES, ids=lambda invoice: f"{invoice.number}-{invoice.style}")
def test_each_test_invoice_gives_its_number_supplier_line_items_and_total(invoice, invoices, run_flow_file,
                                                                            tmp_path):
    flow = _flow(tmp_path, READ_INVOICE.format(extra="") + f"""
  - assert: "{{{{ number == '{invoice.number}' and supplier == '{invoice.supplier}' }}}}"
  - assert: "{{{{ total == decimal('{invoice.total}') and lines_sum == total }}}}"
  - assert: "{{{{ len(lines) == {len(invoice.lines)} and lines[0].Description == '{invoice.lines[0].description}' }}}}"
  - assert: "{{{{ lines[-1].Qty == '{invoice.lines[-1].quantity}' }}}}"
  - assert: "{{{{ lines[-1]['Unit price'] == '{money(invoice.lines[-1].unit_price)}' }}}}"
""")
    run = run_flow_file(flow, inputs={"file": str(invoices[invoice.number])})
    assert run.result.status == "succeeded", run.result.error


def test_a_table_running_onto_page_two_is_one_list_of_line_items(invoices, run_flow_file, tmp_path):
    invoice = SAMPLE_INVOICES[2]
    flow = _flow(tmp_path, """
name: Long invoice
inputs:
  file: {type: path}
steps:
  - read_pdf: {file: "{{ file }}", into: invoice}
  - assert: "{{ invoice.pages == 2 and len(invoice.page_texts) == 2 and len(invoice.tables) == 1 }}"
""" + f"""  - assert: "{{{{ len(invoice.tables[0]) == {len(invoice.lines)} }}}}"
""")
    run = run_flow_file(flow, inputs={"file": str(invoices[invoice.number])})
    assert run.result.status == "succeeded", run.result.error


def test_the_audit_names_the_file_its_hash_pages_characters_and_tables_but_not_the_text(invoices, run_flow_file,
                                                                                         tmp_path):
    import hashlib

    path = invoices["INV-2026-0311"]
    flow = _flow(tmp_path, READ_INVOICE.format(extra=""))
    run = run_flow_file(flow, inputs={"file": str(path)})
    assert run.result.status == "succeeded", run.result.error
    result = _step_record(run)["result"]
    assert result["file"] == "INV-2026-0311.pdf"
    assert result["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert result["pages"] == 2 and result["pages_read"] == "1-2"
    assert result["tables"] == 1 and result["table_rows"] == [38] and result["characters"] > 1000
    assert "Corrugated box" not in json.dumps(result)
    from bastidor.audit import verify_audit_log

    verdict = verify_audit_log(run.result.audit_path)  # the PDF read is an input, not evidence of the run's own
    assert verdict.ok, verdict


def test_a_page_range_reads_only_those_pages(tmp_path, run_flow_file):
    write_text_pages_pdf(tmp_path / "report.pdf", pages=5)
    flow = _flow(tmp_path, """
name: Some pages
steps:
  - read_pdf: {file: report.pdf, pages: "2-3,5", tables: false, into: doc}
  - assert: "{{ doc.pages == 5 and doc.pages_read == [2, 3, 5] and len(doc.page_texts) == 3 }}"
  - assert: "{{ contains(doc.page_texts[0], 'Page 2 of 5') and contains(doc.text, 'Page 5 of 5') }}"
  - assert: "{{ not contains(doc.text, 'Page 1 of 5') and doc.tables == [] }}"
""")
    run = run_flow_file(flow)
    assert run.result.status == "succeeded", run.result.error
    assert _step_record(run)["result"]["pages_read"] == "2-3,5"


@pytest.mark.parametrize("written, message", [
    ("7", 'pages "7" is outside the document, which has 5 pages'),
    ("3-2", 'pages "3-2" is outside the document'),
    ("first", 'pages "first" is not a page range; write e.g. "1", "1-3", "2-" or "1,3"'),
])
def test_a_page_range_starting_outside_the_document_is_refused_with_the_page_count(written, message):
    with pytest.raises(PdfReadError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_page_range(written, 5, "report.pdf")
    assert parse_page_range("4-", 5, "report.pdf") == [4, 5]
    assert parse_page_range("1-2", 1, "invoice.pdf") == [1]


@pytest.mark.parametrize("writer, message", [
    (write_malformed_pdf, "broken.pdf is not a readable PDF (damaged, or not a PDF at all)"),
    (write_scanned_pdf, "broken.pdf: scanned PDF, no text; OCR is not supported"),
    (write_encrypted_pdf, "broken.pdf is protected by a password; ask the sender for an unprotected copy"),
    (write_blank_pdf, "broken.pdf: scanned PDF, no text; OCR is not supported"),
], ids=["malformed", "scanned", "encrypted", "blank"])
def test_a_bad_pdf_fails_the_step_with_one_line_naming_the_file(writer, message, tmp_path, run_flow_file):
    writer(tmp_path / "broken.pdf")
    flow = _flow(tmp_path, """
name: Bad PDF
steps:
  - read_pdf: {file: broken.pdf, into: doc}
  - log: never reached
""")
    run = run_flow_file(flow)
    assert run.result.status == "failed"
    assert message in run.result.error
    assert "\n" not in run.result.error and "Traceback" not in run.result.error
    logged = [r for r in map(json.loads, run.audit_text.splitlines()) if r.get("action") == "log"]
    assert all(record["outcome"] == "not_run" for record in logged)


def test_a_pdf_over_the_size_limit_is_refused_before_it_is_read(tmp_path, run_flow_file):
    (tmp_path / "huge.pdf").write_bytes(b"%PDF-1.7\n" + b"0" * (2 * 1024 * 1024))
    flow = _flow(tmp_path, "name: Huge\nsteps:\n  - read_pdf: {file: huge.pdf, max_mb: 1, into: doc}\n")
    run = run_flow_file(flow)
    assert run.result.status == "failed"
    assert "huge.pdf is 2.0 MB; the limit is 1 MB (raise max_mb if this PDF is expected)" in run.result.error


def test_a_pdf_with_more_pages_than_the_limit_is_refused(tmp_path, run_flow_file):
    write_text_pages_pdf(tmp_path / "long.pdf", pages=4)
    flow = _flow(tmp_path, "name: Long\nsteps:\n  - read_pdf: {file: long.pdf, max_pages: 3, into: doc}\n")
    run = run_flow_file(flow)
    assert run.result.status == "failed"
    assert "long.pdf has 4 pages; the limit is 3 (raise max_pages if this PDF is expected)" in run.result.error


def test_a_missing_pdf_names_both_places_it_was_looked_for(tmp_path, run_flow_file):
    flow = _flow(tmp_path, "name: Missing\nsteps:\n  - read_pdf: {file: nowhere.pdf, into: doc}\n")
    run = run_flow_file(flow)
    assert run.result.status == "failed"
    assert "nowhere.pdf: no such file in the flow's folder" in run.result.error
    assert "or in the run folder" in run.result.error


def test_a_relative_name_is_found_in_the_run_folder_when_not_beside_the_flow(tmp_path):
    flow_folder, run_folder = tmp_path / "flows", tmp_path / "run"
    flow_folder.mkdir(), run_folder.mkdir()
    write_text_pages_pdf(run_folder / "attachment.pdf", pages=1)
    write_text_pages_pdf(flow_folder / "beside.pdf", pages=1)
    ctx = SimpleNamespace(input_path=lambda written: flow_folder / written,
                          state=SimpleNamespace(run_dir=run_folder))
    assert pdf_path(ctx, "attachment.pdf") == run_folder / "attachment.pdf"
    assert pdf_path(ctx, "beside.pdf") == flow_folder / "beside.pdf"
    with pytest.raises(StepError, match="no such file"):
        pdf_path(ctx, "elsewhere.pdf")
