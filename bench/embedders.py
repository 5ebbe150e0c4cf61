"""Benchmark: the packaged MiniLM against a static embedding model, on retrieval quality
over real documents and on speed. Decides ADR-014's embedder question with figures.

    .venv/bin/python -m bench.embedders --package DIR [--docs DIR ...] [--static-cache DIR]

Two tasks over the same passages (every chunk of the documents, heading lines removed):
``headings``, every distinct heading a query ("<document title>: <heading>") whose
relevant passages are the chunks under it; ``questions`` (with ``--package``, a folder
holding the README sample's package), the questions of ``bench/memory_questions.yaml``,
relevant: the passages of the document that answers each. Reported: recall@5 (a relevant
passage in the first five), MRR@10, and chunks embedded per second (min and median of 3).
The static model is ``wordllama`` (weights inside its wheel) when it is importable; its
wheel looks for its tokenizer in the wrong folder, so ``--static-cache`` names a folder
holding ``tokenizers/l2_supercat_tokenizer_config.json``. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from docflow.memory.chunking import chunk_markdown, dedupe
from docflow.memory.embedding import OnnxMiniLM

Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class Task:
    passages: list[str]
    queries: list[str]
    relevant: list[set[int]]  # per query, the passages under its heading


QUESTIONS = Path(__file__).with_name("memory_questions.yaml")


@dataclass(frozen=True)
class Passage:
    path: str  # relative to the folder it was read from
    heading: str
    text: str


def load_passages(folders: Sequence[Path]) -> list[Passage]:
    passages = []
    for folder in folders:
        for path in sorted(folder.rglob("*.md")):
            for chunk in dedupe(chunk_markdown(path.read_text(encoding="utf-8"))):
                lines = chunk.text.splitlines()
                body = "\n".join(line for line in lines if not line.startswith("#")).strip()
                if len(body) >= 80 and chunk.heading:
                    relative = str(path.relative_to(folder))
                    passages.append(Passage(relative, chunk.heading.replace(" > ", ": "), body))
    return passages


def heading_task(passages: Sequence[Passage]) -> Task:
    by_query: dict[str, set[int]] = {}
    for index, passage in enumerate(passages):
        by_query.setdefault(passage.heading, set()).add(index)
    queries = sorted(by_query)
    return Task([p.text for p in passages], queries, [by_query[query] for query in queries])


def question_task(passages: Sequence[Passage]) -> Task:
    asked = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))
    relevant = [{i for i, p in enumerate(passages) if p.path.endswith(item["path"])}
                for item in asked]  # fmt: skip
    missing = [item["path"] for item, found in zip(asked, relevant, strict=True) if not found]
    if missing:
        raise SystemExit(f"the package has no passages of {missing}: is it the README sample?")
    return Task([p.text for p in passages], [item["question"] for item in asked], relevant)


def quality(embed: Embed, task: Task) -> tuple[float, float]:
    passages, queries = embed(task.passages), embed(task.queries)
    scores = queries @ passages.T
    recall, reciprocal = 0, 0.0
    for row, relevant in enumerate(task.relevant):
        ranked = list(np.argsort(-scores[row])[:10])
        recall += any(index in relevant for index in ranked[:5])
        reciprocal += next((1 / (rank + 1) for rank, i in enumerate(ranked) if i in relevant), 0)
    return recall / len(task.queries), reciprocal / len(task.queries)


def speed(embed: Embed, texts: Sequence[str]) -> tuple[float, float]:
    rates = []
    for _ in range(3):
        started = time.perf_counter()
        embed(texts)
        rates.append(len(texts) / (time.perf_counter() - started))
    return min(rates), statistics.median(rates)


def minilm() -> Embed:
    model = OnnxMiniLM()
    model.load()
    return lambda texts: np.asarray(model.embed(list(texts)), dtype=np.float32)


def static(cache: Path | None) -> Embed | None:
    try:
        from wordllama import WordLlama  # type: ignore[import-not-found]
    except ImportError:
        return None
    model = WordLlama.load(cache_dir=cache, disable_download=True)

    def embed(texts: Sequence[str]) -> np.ndarray:
        vectors = np.asarray(model.embed(list(texts)), dtype=np.float32)
        unit: np.ndarray = vectors / np.clip(
            np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None
        )
        return unit

    return embed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--package", type=Path, help="the README sample's package, unzipped")
    parser.add_argument("--docs", type=Path, action="append", default=[])
    parser.add_argument("--static-cache", type=Path)
    args = parser.parse_args()
    out = sys.stdout.write
    tasks = {}
    if args.package:
        package = load_passages([args.package])
        tasks["questions"] = question_task(package)
        tasks["headings, package"] = heading_task(package)
    if args.docs:
        tasks["headings, --docs"] = heading_task(load_passages(args.docs))
    models = {"MiniLM-L6 int8 (onnxruntime)": minilm(),
              "wordllama l2_supercat 256": static(args.static_cache)}  # fmt: skip
    for task_name, task in tasks.items():
        out(f"{task_name}: {len(task.passages)} passages, {len(task.queries)} queries\n")
        for name, embed in models.items():
            if embed is None:
                out(f"  {name:<30} not installed\n")
                continue
            recall, mrr = quality(embed, task)
            low, median = speed(embed, task.passages)
            out(f"  {name:<30} recall@5 {recall:.3f}  MRR@10 {mrr:.3f}  "
                f"chunks/s min {low:7.1f} median {median:7.1f}\n")  # fmt: skip


if __name__ == "__main__":
    main()
