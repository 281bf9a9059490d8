"""Accuracy benchmark: the matching engine on CLINC150, BANKING77 and the demo knowledge base.

    python scripts/evaluate.py [DATASETS] [--check] [--no-write] [--only clinc,banking,demo]

Each intent of a public data set becomes an article whose questions are its training
utterances; the test utterances play the customers. Thresholds are fixed on CLINC150's
validation split (with its out-of-scope queries) and then applied to its test split.
Prints tables and rewrites the accuracy section of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.conversations.policy import Thresholds, decide  # noqa: E402
from app.kb.loader import kb_dir_docs  # noqa: E402
from app.kb.reindex import starter_synonyms  # noqa: E402
from app.matching.engine import match  # noqa: E402
from app.matching.index import SearchIndex  # noqa: E402
from app.matching.intents import IntentMatcher  # noqa: E402
from app.matching.types import ArticleDoc  # noqa: E402
from scripts.report import machine_line, write_section  # noqa: E402

TARGETS = {
    "banking_top1": 0.92,
    "clinc_top1": 0.93,
    "clinc_precision": 0.95,
    "clinc_deflection": 0.70,
    "clinc_oos_not_answered": 0.85,
    "banking_coverage_at_95": 0.85,
    "p99_ms": 5.0,
}
TARGET_PRECISION = 0.96  # a margin over the 95% target, applied to the validation estimate
# CLINC's validation split is 3% out-of-scope; real support traffic (and its test split) has
# far more. Thresholds are fixed as if a fifth of the messages were out of scope.
OUT_OF_SCOPE_SHARE = 0.2


@dataclass
class Scored:
    expected: str | None  # None: out of scope
    predicted: str | None
    confidence: float
    in_top3: bool
    latency_ms: float
    cpu_ms: float = 0.0  # this thread's CPU time: what the message cost, whatever else runs


def docs_from_utterances(pairs: Iterable[tuple[str, str]]) -> list[ArticleDoc]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for text, label in pairs:
        grouped[label].append(text)
    return [
        ArticleDoc(id=label, language="en", title=label.replace("_", " "), questions=tuple(texts))
        for label, texts in sorted(grouped.items())
    ]


def score_queries(index: SearchIndex, queries: Sequence[tuple[str, str | None]]) -> list[Scored]:
    results = []
    for text, expected in queries:
        started, cpu_started = time.perf_counter(), time.thread_time()
        result = match(index, text)
        elapsed = (time.perf_counter() - started) * 1000
        cpu = (time.thread_time() - cpu_started) * 1000
        ids = [c.article_id for c in result.candidates]
        results.append(
            Scored(
                expected=expected,
                predicted=ids[0] if ids else None,
                confidence=result.confidence,
                in_top3=expected in ids[:3],
                latency_ms=elapsed,
                cpu_ms=cpu,
            )
        )
    return results


def top1(results: Sequence[Scored]) -> float:
    scope = [r for r in results if r.expected is not None]
    return sum(r.predicted == r.expected for r in scope) / len(scope)


def choose_answer_threshold(results: Sequence[Scored], precision: float) -> float:
    """The lowest threshold whose answers are expected to be right at least `precision` of the
    time, with out-of-scope queries weighted to OUT_OF_SCOPE_SHARE of the traffic.

    Counting right answers above each candidate threshold makes a step function: each of the
    100 out-of-scope validation queries weighs as much as ~7 in-scope ones, so one query moves
    the threshold by a point of deflection. A one-feature logistic fit of "right" on the
    confidence's logit smooths the steps, and the expected precision is read off that fit."""
    oos = sum(r.expected is None for r in results)
    in_scope = len(results) - oos
    oos_weight = OUT_OF_SCOPE_SHARE / (1 - OUT_OF_SCOPE_SHARE) * in_scope / max(oos, 1)
    confidence = np.clip([r.confidence for r in results], 1e-6, 1 - 1e-6)
    logit = np.log(confidence / (1 - confidence))[:, None]
    right = np.array([r.expected is not None and r.predicted == r.expected for r in results])
    weight = np.array([oos_weight if r.expected is None else 1.0 for r in results])
    fit = LogisticRegression(C=100.0).fit(logit, right, sample_weight=weight)
    expected_right = fit.predict_proba(logit)[:, 1]
    order = np.argsort(-confidence, kind="stable")
    running = np.cumsum((weight * expected_right)[order]) / np.cumsum(weight[order])
    reached = np.flatnonzero(running >= precision)
    return float(confidence[order][reached[-1]]) if len(reached) else 1.0


def choose_handoff_threshold(results: Sequence[Scored], answer_at: float) -> float:
    """Below the answer zone, offer choices only where the right article is usually among them."""
    candidates = sorted({round(r.confidence, 3) for r in results if r.confidence < answer_at})
    best, best_value = answer_at, -1.0
    for t in candidates:
        zone = [r for r in results if t <= r.confidence < answer_at]
        helped = sum(r.in_top3 for r in zone)
        value = helped - 0.5 * (len(zone) - helped)
        if value > best_value:
            best, best_value = t, value
    return best


def zone_metrics(
    results: Sequence[Scored], answer_at: float, handoff_at: float
) -> dict[str, float]:
    answered = [r for r in results if r.confidence >= answer_at]
    right = [r for r in answered if r.predicted == r.expected and r.expected is not None]
    oos = [r for r in results if r.expected is None]
    oos_answered = [r for r in oos if r.confidence >= answer_at]
    clarify = [r for r in results if handoff_at <= r.confidence < answer_at]
    return {
        "answer_precision": len(right) / max(len(answered), 1),
        "deflection": len(right) / len(results),
        "oos_not_answered": 1 - len(oos_answered) / max(len(oos), 1),
        "clarify_share": len(clarify) / len(results),
        "clarify_has_answer": sum(r.in_top3 for r in clarify) / max(len(clarify), 1),
    }


def coverage_at_precision(results: Sequence[Scored], precision: float) -> float:
    ordered = sorted(results, key=lambda r: -r.confidence)
    right, best = 0, 0
    for n, r in enumerate(ordered, start=1):
        right += r.predicted == r.expected
        if right / n >= precision:
            best = n
    return best / len(results)


def latency(results: Sequence[Scored], cpu: bool = False) -> tuple[float, float]:
    values = np.array([r.cpu_ms if cpu else r.latency_ms for r in results])
    return float(np.percentile(values, 50)), float(np.percentile(values, 99))


def evaluate_clinc(path: Path) -> dict[str, float]:
    data = json.loads((path / "clinc150" / "data_full.json").read_text())
    started = time.perf_counter()
    index = SearchIndex.build(docs_from_utterances(data["train"]))
    build_s = time.perf_counter() - started
    val = score_queries(
        index, [(t, lbl) for t, lbl in data["val"]] + [(t, None) for t, _ in data["oos_val"]]
    )
    answer_at = choose_answer_threshold(val, TARGET_PRECISION)
    handoff_at = choose_handoff_threshold(val, answer_at)
    test = score_queries(
        index, [(t, lbl) for t, lbl in data["test"]] + [(t, None) for t, _ in data["oos_test"]]
    )
    p50, p99 = latency(test)
    cpu50, cpu99 = latency(test, cpu=True)
    return {
        "articles": len(index),
        "phrasings": len(data["train"]),
        "cpu_p50_ms": cpu50,
        "cpu_p99_ms": cpu99,
        "build_s": build_s,
        "top1": top1(test),
        "answer_threshold": answer_at,
        "handoff_threshold": handoff_at,
        **zone_metrics(test, answer_at, handoff_at),
        "p50_ms": p50,
        "p99_ms": p99,
    }


def evaluate_banking(path: Path, answer_at: float) -> dict[str, float]:
    def rows(name: str) -> list[tuple[str, str]]:
        with open(path / "banking77" / name, newline="") as handle:
            return [(r["text"], r["category"]) for r in csv.DictReader(handle)]

    started = time.perf_counter()
    index = SearchIndex.build(docs_from_utterances(rows("train.csv")))
    build_s = time.perf_counter() - started
    test = score_queries(index, rows("test.csv"))
    p50, p99 = latency(test)
    answered = [r for r in test if r.confidence >= answer_at]
    return {
        "articles": len(index),
        "build_s": build_s,
        "top1": top1(test),
        "coverage_at_95": coverage_at_precision(test, 0.95),
        "default_answered": len(answered) / len(test),
        "default_precision": sum(r.predicted == r.expected for r in answered)
        / max(len(answered), 1),
        "p50_ms": p50,
        "p99_ms": p99,
    }


def evaluate_demo(thresholds: Thresholds) -> dict[str, object]:
    """The demo KB through the full policy, as a customer meets it (with intents)."""
    docs = kb_dir_docs(ROOT / "kb")
    index = SearchIndex.build(docs, synonyms=starter_synonyms())
    intents = IntentMatcher.from_directory(ROOT / "intents")
    queries = yaml.safe_load((ROOT / "scripts" / "eval_data" / "demo_queries.yaml").read_text())
    outcomes: dict[str, list[str]] = defaultdict(list)
    failures = []
    for item in queries:
        decision = decide(index=index, intents=intents, text=item["text"], thresholds=thresholds)
        expect = item["expect"]
        got = decision.article.id if decision.article else None
        if expect == "OUT_OF_SCOPE":
            verdict = "answered_wrong" if decision.status == "answered" else "ok"
        elif expect == "HUMAN":
            verdict = "ok" if decision.reason == "human_request" else "missed"
        elif expect == "SMALLTALK":
            verdict = "ok" if decision.status == "smalltalk" else "missed"
        elif decision.status == "answered":
            verdict = "ok" if got == expect else "answered_wrong"
        elif decision.status == "clarify":
            verdict = (
                "clarify_ok"
                if expect in [s.article_id for s in decision.suggestions]
                else "clarify_miss"
            )
        elif decision.reason == "article_requires_person":
            top = decision.suggestions[0].article_id if decision.suggestions else None
            verdict = "ok" if top == expect else "answered_wrong"
        else:
            verdict = "handoff"
        kind = expect if expect in ("OUT_OF_SCOPE", "HUMAN", "SMALLTALK") else "ARTICLE"
        outcomes[kind].append(verdict)
        if verdict not in ("ok", "clarify_ok"):
            failures.append(
                (item["text"], expect, decision.status, got, round(decision.confidence, 3))
            )
    return {"outcomes": dict(outcomes), "failures": failures}


def table(rows: Sequence[Sequence[str]]) -> list[str]:
    header, *body = rows
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in body] + [""]


def clinc_section(c: dict[str, float]) -> list[str]:
    return [
        "### CLINC150 (150 intents, test split with 1,000 out-of-scope queries)",
        "",
        *table(
            [
                ("metric", "value", "target"),
                ("in-scope top-1 accuracy", f"{c['top1']:.1%}", "≥ 93%"),
                (
                    "answer / handoff threshold (fixed on validation)",
                    f"{c['answer_threshold']:.3f} / {c['handoff_threshold']:.3f}",
                    "",
                ),
                ("answer precision", f"{c['answer_precision']:.1%}", "≥ 95%"),
                ("deflection (answered and right / all)", f"{c['deflection']:.1%}", "≥ 70%"),
                ("out-of-scope not answered", f"{c['oos_not_answered']:.1%}", "≥ 85%"),
                (
                    "offered choices / right article among them",
                    f"{c['clarify_share']:.1%} / {c['clarify_has_answer']:.1%}",
                    "",
                ),
                (
                    "latency per message p50 / p99",
                    f"{c['p50_ms']:.2f} / {c['p99_ms']:.2f} ms",
                    "p99 ≤ 5 ms",
                ),
                (
                    "CPU time per message p50 / p99 (not slowed by other processes)",
                    f"{c['cpu_p50_ms']:.2f} / {c['cpu_p99_ms']:.2f} ms",
                    "",
                ),
                (f"index build ({c['phrasings']:,} phrasings)", f"{c['build_s']:.1f} s", ""),
            ]
        ),
    ]


def banking_section(b: dict[str, float]) -> list[str]:
    return [
        "### BANKING77 (77 close banking intents)",
        "",
        *table(
            [
                ("metric", "value", "target"),
                ("top-1 accuracy", f"{b['top1']:.1%}", "≥ 92%"),
                ("answered at ≥ 95% precision", f"{b['coverage_at_95']:.1%}", "≥ 85%"),
                (
                    "with the CLINC-fixed answer threshold: answered / precision",
                    f"{b['default_answered']:.1%} / {b['default_precision']:.1%}",
                    "",
                ),
                ("latency per message p50 / p99", f"{b['p50_ms']:.2f} / {b['p99_ms']:.2f} ms", ""),
                ("index build", f"{b['build_s']:.1f} s", ""),
            ]
        ),
    ]


def demo_section(demo: dict[str, object], thresholds: Thresholds) -> list[str]:
    rows = [
        ("expected", "n", "right", "choices incl. right", "wrong answer", "handed off / missed")
    ]
    for kind, verdicts in sorted(demo["outcomes"].items()):  # type: ignore[attr-defined]
        n = len(verdicts)
        missed = sum(verdicts.count(v) for v in ("handoff", "missed", "clarify_miss"))
        rows.append(
            (
                kind,
                str(n),
                f"{verdicts.count('ok') / n:.0%}",
                f"{verdicts.count('clarify_ok') / n:.0%}",
                f"{verdicts.count('answered_wrong') / n:.0%}",
                f"{missed / n:.0%}",
            )
        )
    title = (
        "### Demo knowledge base through the dialogue policy "
        f"(defaults: answer ≥ {thresholds.answer}, hand off < {thresholds.handoff})"
    )
    return [title, "", *table(rows)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("datasets", nargs="?", default=str(ROOT.parent / "shared" / "datasets"))
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/BENCHMARKS.md")
    parser.add_argument("--only", default="clinc,banking,demo")
    parser.add_argument("--show-failures", action="store_true")
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    path = Path(args.datasets)
    lines = [f"Machine: {machine_line()}", ""]
    misses: list[str] = []
    answer_at = 0.5
    if "clinc" in only:
        clinc = evaluate_clinc(path)
        answer_at = clinc["answer_threshold"]
        lines += clinc_section(clinc)
        misses += [
            name
            for name, ok in (
                ("clinc_top1", clinc["top1"] >= TARGETS["clinc_top1"]),
                ("clinc_precision", clinc["answer_precision"] >= TARGETS["clinc_precision"]),
                ("clinc_deflection", clinc["deflection"] >= TARGETS["clinc_deflection"]),
                ("clinc_oos", clinc["oos_not_answered"] >= TARGETS["clinc_oos_not_answered"]),
                ("p99_ms", clinc["p99_ms"] <= TARGETS["p99_ms"]),
            )
            if not ok
        ]
    if "banking" in only:
        bank = evaluate_banking(path, answer_at)
        lines += banking_section(bank)
        misses += [
            name
            for name, ok in (
                ("banking_top1", bank["top1"] >= TARGETS["banking_top1"]),
                ("banking_coverage", bank["coverage_at_95"] >= TARGETS["banking_coverage_at_95"]),
            )
            if not ok
        ]
    if "demo" in only:
        from app.settings import Settings

        defaults = Settings()
        thresholds = Thresholds(
            answer=defaults.answer_threshold, handoff=defaults.handoff_threshold
        )
        demo = evaluate_demo(thresholds)
        lines += demo_section(demo, thresholds)
        if args.show_failures:
            for failure in demo["failures"]:  # type: ignore[attr-defined]
                print("FAIL", failure)
    report = "\n".join(lines)
    print(report)
    if not args.no_write:
        write_section("accuracy", "Accuracy (scripts/evaluate.py)", report)
    if misses:
        print("missed targets:", ", ".join(misses))
    return 1 if args.check and misses else 0


if __name__ == "__main__":
    raise SystemExit(main())
