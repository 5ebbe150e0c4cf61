"""Markdown -> chunks: normalisation, heading sections, size cap with overlap, dedupe."""

from __future__ import annotations

import itertools

import pytest

from docflow.memory.chunking import (
    Chunk,
    chunk_markdown,
    dedupe,
    fingerprint,
    jaccard,
    normalise_markdown,
    shingles,
    split_sections,
    split_text,
)

WORDS = [
    *("tenant", "project", "workflow", "durable", "approval", "gate", "document", "version"),
    *("memory", "search", "vector", "chunk", "embedding", "export", "archive", "quota"),
    *("limit", "retry", "timeout", "heartbeat", "activity", "worker"),
]


def prose(sentences: int, seed: int = 0) -> str:
    """Distinct, deterministic sentences of eight words."""
    out = []
    for i in range(sentences):
        words = [WORDS[(seed * 7 + i * 3 + j * 5) % len(WORDS)] for j in range(8)]
        out.append(f"Sentence {seed}-{i} " + " ".join(words) + ".")
    return " ".join(out)


# --- normalisation --------------------------------------------------------------------


def test_normalise_line_ends_blank_runs_trailing_spaces_and_comments() -> None:
    raw = "\ufeff\r\n\r\n# Title  \r\n\r\n\r\n\r\nText\twith tab   \r\n<!-- hidden -->\r\nEnd\n\n\n"
    assert normalise_markdown(raw) == "# Title\n\nText    with tab\n\nEnd"


def test_normalise_is_unicode_nfc() -> None:
    decomposed = "Cafe\u0301"
    assert normalise_markdown(decomposed) == "Caf\u00e9"


def test_normalise_is_idempotent() -> None:
    text = "# A\n\n\n\nb  \r\nc"
    once = normalise_markdown(text)
    assert normalise_markdown(once) == once


# --- sections -------------------------------------------------------------------------


def test_sections_carry_the_heading_breadcrumb() -> None:
    md = "Intro\n\n# Top\n\nA\n\n## Sub\n\nB\n\n### Deep\n\nC\n\n## Other\n\nD"
    sections = split_sections(md)
    assert [s.heading for s in sections] == [
        "",
        "Top",
        "Top > Sub",
        "Top > Sub > Deep",
        "Top > Other",
    ]
    assert [s.body for s in sections] == ["Intro", "A", "B", "C", "D"]
    assert sections[2].title_line == "## Sub"


def test_headings_inside_code_fences_are_not_sections() -> None:
    md = "# Real\n\n```bash\n# a shell comment\necho hi\n```\n\nafter"
    sections = split_sections(md)
    assert [s.heading for s in sections] == ["Real"]
    assert "# a shell comment" in sections[0].body


def test_closing_hashes_and_hash_without_space_are_handled() -> None:
    sections = split_sections("## Title ##\n\n#hashtag is text")
    assert sections[0].heading == "Title"
    assert sections[0].body == "#hashtag is text"


# --- size cap and overlap -------------------------------------------------------------


def test_short_text_is_one_piece() -> None:
    assert split_text("short", 100, 20) == ["short"]
    assert split_text("   ", 100, 20) == []


def test_every_piece_fits_and_consecutive_pieces_overlap() -> None:
    text = "\n\n".join(prose(4, seed) for seed in range(12))
    pieces = split_text(text, 400, 80)
    assert len(pieces) > 3
    assert all(len(piece) <= 400 for piece in pieces)
    for before, after in itertools.pairwise(pieces):
        head = after.split()[0]
        assert head in before[-80:], (before[-80:], after[:80])


def test_a_word_longer_than_the_budget_is_cut() -> None:
    pieces = split_text("x" * 250, 100, 10)
    assert [len(piece) for piece in pieces] == [100, 100, 50]


def test_a_long_table_is_cut_between_rows() -> None:
    rows = "\n".join(f"| row {i} | {prose(1, i)} |" for i in range(40))
    pieces = split_text(rows, 500, 0)
    assert len(pieces) > 1
    for piece in pieces:
        assert all(line.startswith("| row ") and line.endswith("|") for line in piece.split("\n"))


def test_chunks_respect_the_cap_and_repeat_the_heading_on_each_piece() -> None:
    md = "# Guide\n\n## Install\n\n" + "\n\n".join(prose(3, s) for s in range(20))
    chunks = chunk_markdown(md, max_chars=800, overlap=120)
    assert len(chunks) > 2
    assert all(len(chunk.text) <= 800 for chunk in chunks)
    assert all(chunk.text.startswith("## Install\n\n") for chunk in chunks[1:])
    assert [chunk.index for chunk in chunks] == list(range(len(chunks)))
    assert chunks[-1].heading == "Guide > Install"


def test_tiny_sections_are_packed_with_the_next() -> None:
    md = "# Title\n\n## Goal\n\nShip it.\n\n## Scope\n\n" + prose(30)
    chunks = chunk_markdown(md)
    assert chunks[0].text.startswith("# Title\n\n## Goal\n\nShip it.\n\n## Scope")
    assert chunks[0].heading == "Title"


def test_chunking_is_deterministic_and_empty_input_gives_nothing() -> None:
    md = "# A\n\n" + prose(50)
    assert chunk_markdown(md) == chunk_markdown(md)
    assert chunk_markdown("") == []
    assert chunk_markdown("\n\n  \n") == []


def test_overlap_must_be_smaller_than_half_the_cap() -> None:
    with pytest.raises(ValueError, match="overlap"):
        chunk_markdown("# A", max_chars=100, overlap=60)


# --- duplicates -----------------------------------------------------------------------


def test_fingerprint_ignores_case_punctuation_and_spacing() -> None:
    assert fingerprint("Hello,   World!") == fingerprint("hello world")
    assert fingerprint("hello world") != fingerprint("hello there world")


def test_jaccard_of_shingles() -> None:
    left = shingles("a b c d e")
    assert jaccard(left, left) == 1.0
    assert jaccard(left, shingles("v w x y z")) == 0.0
    assert jaccard(frozenset(), frozenset()) == 1.0
    assert shingles("two words") == frozenset({"two words"})


def test_dedupe_drops_exact_and_near_duplicates_and_renumbers() -> None:
    base = prose(12, 1)
    near = base.replace("Sentence 1-5", "Sentence 1-5 indeed")
    chunks = [
        Chunk(0, base, "A"),
        Chunk(1, base.upper(), "B"),  # exact after normalisation
        Chunk(2, prose(12, 2), "C"),
        Chunk(3, near, "D"),  # one word added
        Chunk(4, prose(12, 3), "E"),
    ]
    kept = dedupe(chunks)
    assert [chunk.heading for chunk in kept] == ["A", "C", "E"]
    assert [chunk.index for chunk in kept] == [0, 1, 2]


def test_overlapping_neighbours_are_not_duplicates() -> None:
    md = "# Doc\n\n" + "\n\n".join(prose(3, s) for s in range(30))
    chunks = chunk_markdown(md)
    assert dedupe(chunks) == chunks


DIAGRAM = "\n".join(
    [
        "```mermaid",
        "C4Container",
        "    title Containers of the booking service",
        "",  # a blank line inside the fence
        *(f'    Container(c{n}, "Container {n}", "Python", "Does part {n} of the work")'
          for n in range(12)),
        "",
        '    Rel(c0, c1, "Calls")',
        "```",
    ]
)  # fmt: skip


def fence_lines(text: str) -> int:
    return sum(1 for line in text.split("\n") if line.startswith("```"))


def test_a_fenced_block_stays_whole_in_one_chunk_and_no_overlap_cuts_into_it() -> None:
    prose = " ".join(itertools.islice(itertools.cycle(WORDS), 120)) + "."
    md = f"# Architecture\n\n{prose}\n\n{DIAGRAM}\n\n{prose}\n\n{DIAGRAM}\n\nThe end."
    assert len(DIAGRAM) > 300
    chunks = chunk_markdown(md, max_chars=300, overlap=80)
    holding = [chunk for chunk in chunks if "C4Container" in chunk.text]
    assert len(holding) == 2
    assert all(DIAGRAM in chunk.text for chunk in holding)
    assert all(fence_lines(chunk.text) % 2 == 0 for chunk in chunks)
    assert not any("Container(" in chunk.text for chunk in chunks if chunk not in holding)
    assert all(len(chunk.text) <= 300 for chunk in chunks if chunk not in holding)
