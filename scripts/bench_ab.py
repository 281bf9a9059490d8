"""Two versions of the chat under the same load, in alternating short runs (A, B, A, B, ...).

This VM's speed drifts by a third from minute to minute, more than most changes are worth:
one run of each, minutes apart, compares the minutes more than the versions. Here both
servers are up for the whole comparison (each on a database and knowledge base of its own,
each idle while the other is measured), and each round measures A then B, or B then A, so
that each pair shares the machine's phase. The paired ratios B ÷ A say which is faster.

    python -m scripts.bench_ab --database postgresql --b-set ANSWERDESK_CHAT_THREADS=1
    git worktree add /tmp/before HEAD~1
    python -m scripts.bench_ab --a-root /tmp/before    # the last commit against this tree

Prints a table; writes nothing.
"""

import argparse
import statistics
import time
from contextlib import ExitStack
from pathlib import Path

from scripts.bench_import import generate
from scripts.bench_load import (
    DATABASES,
    ROOT,
    Server,
    build_parser,
    fresh_database,
    measure_chat,
    serving_chat,
)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=sorted(DATABASES), default="postgresql")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--duration", type=float, default=12, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=2)
    # These default to bench_load's defaults (SUPPRESS leaves them out until given).
    parser.add_argument("--articles", type=int, default=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=argparse.SUPPRESS)
    parser.add_argument("--pg-url", default=argparse.SUPPRESS)
    parser.add_argument("--client", choices=("raw", "httpx"), default=argparse.SUPPRESS)
    parser.add_argument("--app", default=argparse.SUPPRESS)
    for side in ("a", "b"):
        parser.add_argument(
            f"--{side}-set",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help=f"an environment variable for {side.upper()}'s server",
        )
        parser.add_argument(
            f"--{side}-root",
            type=Path,
            default=ROOT,
            help=f"the checkout {side.upper()} runs (default: this one)",
        )
    own = vars(parser.parse_args(argv))
    # bench_load's functions read all of its options: the ones not set here keep its defaults.
    args = build_parser().parse_args([])
    vars(args).update(own, set=[], repeat=1)  # each round is one run of each side
    return args


def main() -> None:
    args = parse()
    articles = generate(args.articles)
    sides = {"A": (args.a_set, args.a_root), "B": (args.b_set, args.b_root)}
    results: dict[str, list[dict]] = {"A": [], "B": []}
    with ExitStack() as stack:
        servers: dict[str, Server] = {}
        for side, (settings, root) in sides.items():
            url = stack.enter_context(fresh_database(args.database, args))
            servers[side] = stack.enter_context(
                serving_chat(side, url, articles, args, settings=settings, root=root)
            )
        for number in range(args.rounds):
            order = ("A", "B") if number % 2 == 0 else ("B", "A")
            for side in order:
                for server in servers.values():
                    settle(server)
                results[side].append(
                    measure_chat(
                        servers[side],
                        articles,
                        args,
                        label=f"{side}, round {number + 1}",
                        concurrency=args.concurrency,
                    )
                )
    print(summary(args, sides, results))


def settle(server: Server, *, quiet_cores: float = 0.05, timeout: float = 60) -> None:
    """Waits until the server is idle: the previous run's roll-up (every 10 s) done, so that
    neither server's background work falls into the other's window."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = server.cpu_seconds()
        time.sleep(1)
        if server.cpu_seconds() - before < quiet_cores:
            return


def summary(
    args: argparse.Namespace, sides: dict[str, tuple[list[str], Path]], results: dict[str, list]
) -> str:
    lines = [
        f"{DATABASES[args.database]}, {args.concurrency} customers, {args.rounds} rounds of "
        f"{args.duration:g} s each:",
        *(
            f"  {side}: {root}{' with ' + ' '.join(settings) if settings else ''}"
            for side, (settings, root) in sides.items()
        ),
        "",
        "| side | messages/s (median, min-max) | p99 ms (median) | server CPU ms per message "
        "(median) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for side, runs in results.items():
        rates = [r["per_second"] for r in runs]
        lines.append(
            f"| {side} | {statistics.median(rates):,.0f} ({min(rates):,.0f}-{max(rates):,.0f}) "
            f"| {statistics.median(r['p99_ms'] for r in runs):.1f} "
            f"| {statistics.median(r['server_cpu_ms'] for r in runs):.2f} |"
        )
    paired = [
        (b["per_second"] / a["per_second"], b["server_cpu_ms"] / a["server_cpu_ms"])
        for a, b in zip(results["A"], results["B"], strict=True)
    ]
    lines += [
        "",
        "B ÷ A per round, messages/s: " + ", ".join(f"{rate:.2f}" for rate, _ in paired),
        "B ÷ A per round, server CPU per message: " + ", ".join(f"{cpu:.2f}" for _, cpu in paired),
        f"median: messages/s x{statistics.median(r for r, _ in paired):.2f}, "
        f"CPU per message x{statistics.median(c for _, c in paired):.2f}",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
