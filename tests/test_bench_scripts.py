"""The load benchmarks still run: no other test calls them, and bench_ab once broke unseen
when bench_load gained an option. Tiny runs on SQLite; the figures are not checked."""

import subprocess
import sys

from scripts import bench_ab, bench_load

TINY = ["--duration", "1", "--warmup", "0", "--articles", "20", "--workers", "1"]


def run_script(module: str, *arguments: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", module, *TINY, *arguments],
        cwd=bench_load.ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_bench_ab_passes_every_bench_load_option() -> None:
    load_options = vars(bench_load.build_parser().parse_args([]))
    ab_options = vars(bench_ab.parse(["--database", "sqlite"]))
    assert set(load_options) <= set(ab_options)
    assert ab_options["repeat"] == 1 and ab_options["set"] == []


def test_bench_load_measures_the_chat() -> None:
    out = run_script(
        "scripts.bench_load", "--concurrency", "2", "--databases", "sqlite", "--no-bare",
        "--no-write",
    )  # fmt: skip
    assert "| chat, SQLite, 2 customers |" in out
    assert "conversations finished in the window" in out
    assert " ()" not in out  # one worker: its own CPU, not an empty list


def test_bench_ab_compares_two_servers() -> None:
    out = run_script(
        "scripts.bench_ab", "--database", "sqlite", "--concurrency", "2", "--rounds", "2"
    )
    assert "B ÷ A per round, messages/s:" in out
    assert out.count("| A |") == 1 and out.count("| B |") == 1


def test_bench_ab_options_override_bench_load_defaults() -> None:
    defaults = bench_ab.parse([])
    assert defaults.articles == bench_load.build_parser().parse_args([]).articles
    given = bench_ab.parse(["--articles", "7", "--pg-url", "postgresql://elsewhere/db"])
    assert (given.articles, given.pg_url) == (7, "postgresql://elsewhere/db")
