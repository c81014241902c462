"""Guess which separator a CSV text uses."""

from __future__ import annotations

import csv

CANDIDATE_DELIMITERS = (",", ";", "\t", "|")
SNIFF_CHARS = 64 * 1024
_SNIFF_LINES = 50


def sniff_delimiter(sample: str) -> str:
    """Guess the separator of CSV text: the candidate giving the most rows as wide as the header.

    Candidates are comma, semicolon, tab and pipe. A header must split into at least two
    columns for a candidate to count; otherwise the answer is a comma (a one-column file
    reads the same with any separator). Ties go to the earlier candidate.
    """
    lines = sample.splitlines(keepends=True)
    if len(sample) >= SNIFF_CHARS and len(lines) > 1:
        lines.pop()  # the sample may have cut the last line short
    lines = lines[:_SNIFF_LINES]
    best, best_score = ",", (0, 0)
    for candidate in CANDIDATE_DELIMITERS:
        try:
            widths = [len(record) for record in csv.reader(lines, delimiter=candidate) if record]
        except csv.Error:
            continue
        if widths and widths[0] >= 2:
            score = (sum(width == widths[0] for width in widths), widths[0])
            if score > best_score:
                best, best_score = candidate, score
    return best
