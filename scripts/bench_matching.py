"""Matching at scale: index build time, memory and per-message latency on synthetic KBs.

    python scripts/bench_matching.py [--sizes 1000,10000,100000] [--queries 1000] [--no-write]

Each size runs in its own process so its peak memory is its own. Articles are made of words
drawn from a Zipf distribution over a generated vocabulary (like real text, a few words are
everywhere and most are rare); about half have no alternative questions; queries are
perturbed phrasings (words dropped, a typo) of random articles.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EXPLANATION = (
    "Synthetic articles of Zipf-distributed words, about half with alternative questions; "
    "queries are perturbed phrasings (words dropped, a typo) of random articles. Each size in "
    "a process of its own. *Peak RSS building*: the process's peak while it builds the index "
    "(articles included). *Resident after*: what it holds while answering. *Peak RSS "
    "rebuilding beside it*: the peak while a second index is built with the first still held, "
    "as a worker does when the knowledge base changes. Latency is one `match()` call (wall "
    "and CPU time), one query at a time."
)
CHILD_BUILDS = (
    "The same knowledge bases with every index built in a child process and mapped in "
    "(`ANSWERDESK_KB_CHILD_BUILD_ARTICLES`, from 20,000 articles by default): the worker never "
    "holds a build's temporaries. *Resident answering*: after 1,000 queries on its index. "
    "*At the swap*: the next index mapped in beside the first (its objects read in, its "
    "arrays mapped but not yet touched). *After the swap*: the first let go, 1,000 queries "
    "answered from the new one. *Peak RSS*: the worker process's peak over all of it."
)
TARGETS = {10_000: "p99 ≤ 10 ms", 100_000: "build < 120 s, p99 ≤ 50 ms, RSS < 3 GB"}


def vocabulary(rng: np.random.Generator, size: int) -> list[str]:
    syllables = [c + v for c in "bcdfgklmnprstvz" for v in "aeiou"]
    words = {"".join(rng.choice(syllables, rng.integers(2, 4))) for _ in range(size * 2)}
    return sorted(words)[:size]


def make_articles(count: int, seed: int = 1):  # type: ignore[no-untyped-def]
    from app.matching.types import ArticleDoc

    rng = np.random.default_rng(seed)
    words = vocabulary(rng, 50_000)
    ranks = np.arange(1, len(words) + 1)
    p = 1 / ranks**1.05
    p /= p.sum()

    # Drawn in one go: a draw with p= costs as much as the vocabulary is long.
    drawn = iter(rng.choice(len(words), count * 150, p=p).tolist())

    def sentence(n: int) -> str:
        return " ".join(words[next(drawn)] for _ in range(n))

    docs = []
    for i in range(count):
        questions = tuple(sentence(int(rng.integers(4, 9))) for _ in range(int(rng.integers(0, 4))))
        body = ". ".join(sentence(int(rng.integers(6, 16))) for _ in range(int(rng.integers(3, 8))))
        docs.append(
            ArticleDoc(
                id=f"a{i}",
                language="en",
                title=sentence(int(rng.integers(3, 8))),
                body=body,
                questions=questions[: 0 if i % 2 else 3],
            )
        )
    return docs


def queries(docs, count: int, seed: int = 2) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Perturbed phrasings, each with the id of the article it came from."""
    rng = np.random.default_rng(seed)
    result = []
    for doc in rng.choice(len(docs), count):
        words = (docs[doc].questions or (docs[doc].title,))[0].split()
        keep = [w for w in words if rng.random() > 0.2] or words
        if keep and rng.random() < 0.5:  # one typo
            w = keep[0]
            keep[0] = w[:-1] + ("x" if w[-1] != "x" else "y")
        result.append((" ".join(keep), docs[doc].id))
    return result


def resident_mb() -> float:
    """This process's resident memory now (Linux: /proc/self/statm)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_one(size: int, query_count: int) -> dict[str, float]:
    from app.matching.engine import match
    from app.matching.index import SearchIndex

    docs = make_articles(size)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    index = SearchIndex.build(docs)
    build_s = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    latencies, cpu, right = [], [], 0
    for text, expected in queries(docs, query_count):
        t, c = time.perf_counter(), time.thread_time()
        top = match(index, text).top
        cpu.append((time.thread_time() - c) * 1000)
        latencies.append((time.perf_counter() - t) * 1000)
        right += top is not None and top.article_id == expected
    gc.collect()
    held_mb = resident_mb()  # what a worker keeps while it answers
    # A worker rebuilds while it still answers from the old index: both are resident then.
    rebuilt = SearchIndex.build(docs)
    rebuild_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    del rebuilt
    return {
        "articles": size,
        "rows": index.row_count,
        "build_s": build_s,
        "rss_mb": rss_after,
        "rss_index_mb": rss_after - rss_before,
        "held_mb": held_mb,
        "rebuild_peak_mb": rebuild_peak_mb,
        "p50_ms": float(np.percentile(latencies, 50)),
        "p99_ms": float(np.percentile(latencies, 99)),
        "cpu_p50_ms": float(np.percentile(cpu, 50)),
        "cpu_p99_ms": float(np.percentile(cpu, 99)),
        "top1": right / len(latencies),
    }


def measured(arguments: list[str]) -> dict[str, float]:
    """One measurement in a process of its own, so that its peak memory is its own."""
    out = subprocess.run(
        [sys.executable, __file__, *arguments], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_child_builds(size: int, query_count: int) -> dict[str, float]:
    """A worker with ANSWERDESK_KB_CHILD_BUILD_ARTICLES at or below `size`: it never builds
    in its own process; each index is built in a child and mapped in (app/kb/build_process.py).
    Its peak is at a swap: its index, answering, and the next one mapped in beside it; the
    new one's pages come in as queries touch them, after the old index is let go."""
    from app.kb.build_process import run_in_child
    from app.matching.engine import match
    from app.matching.index import SearchIndex

    docs = make_articles(size)
    texts = [text for text, _ in queries(docs, query_count)]
    current = run_in_child(SearchIndex.build, docs)
    for text in texts:  # answering maps the pages the queries touch
        match(current, text)
    held_mb = resident_mb()
    started = time.perf_counter()
    rebuilt = run_in_child(SearchIndex.build, docs)
    build_s = time.perf_counter() - started
    beside_mb = resident_mb()  # the swap: IndexHolder answers from the new one from here on
    del current
    gc.collect()
    for text in texts:
        match(rebuilt, text)
    return {
        "build_s": build_s,
        "held_mb": held_mb,
        "beside_mb": beside_mb,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "after_swap_mb": resident_mb(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-builds", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_one(args.child, args.queries)))
        return 0
    if args.child_builds:
        print(json.dumps(run_child_builds(args.child_builds, args.queries)))
        return 0
    from scripts.report import machine_line, write_section

    rows = [
        "| articles | rows (phrasings + passages) | build | peak RSS building | resident after "
        "| peak RSS rebuilding beside it | p50 / p99 | CPU p50 / p99 | top-1 right | target |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    child_rows = [
        "| articles | build in a child | worker resident answering | with the next index "
        "mapped in beside, at the swap | worker peak RSS | resident after the swap, answering |",
        "|---|---|---|---|---|---|",
    ]
    sizes = [int(s) for s in args.sizes.split(",")]
    for size in sizes:
        c = measured(["--child-builds", str(size), "--queries", str(args.queries)])
        child_rows.append(
            f"| {size:,} | {c['build_s']:.1f} s | {c['held_mb']:.0f} MB | {c['beside_mb']:.0f} MB "
            f"| {c['peak_mb']:.0f} MB | {c['after_swap_mb']:.0f} MB |"
        )
        print(child_rows[-1], flush=True)
    for size in sizes:
        r = measured(["--child", str(size), "--queries", str(args.queries)])
        rows.append(
            f"| {size:,} | {r['rows']:,} | {r['build_s']:.1f} s | {r['rss_mb']:.0f} MB "
            f"| {r['held_mb']:.0f} MB | {r['rebuild_peak_mb']:.0f} MB "
            f"| {r['p50_ms']:.2f} / {r['p99_ms']:.2f} ms "
            f"| {r['cpu_p50_ms']:.2f} / {r['cpu_p99_ms']:.2f} ms "
            f"| {r['top1']:.1%} | {TARGETS.get(size, '')} |"
        )
        print(rows[-1], flush=True)
    parts = [f"Machine: {machine_line()}", "", EXPLANATION, "", *rows, ""]
    report = "\n".join([*parts, CHILD_BUILDS, "", *child_rows, ""])
    print(report)
    if not args.no_write:
        write_section("matching-scale", "Matching at scale (scripts/bench_matching.py)", report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
