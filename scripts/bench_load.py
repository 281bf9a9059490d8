"""Chat under load: simulated customers over real HTTP against uvicorn with 2 workers.

For each database (a fresh SQLite file, a throw-away PostgreSQL database) the script starts
`uvicorn app.main:app --workers 2`, imports N synthetic articles through `POST
/v1/articles/import`, waits until every worker's index has them, then lets `--concurrency`
customers talk to the bot for `--duration` seconds: conversations of 3–5 messages (a greeting
first in some, a thanks last in some, questions about random articles in between), about 10% of
them ending in a request for a person, which hands the conversation off. The same load generator
then drives a bare FastAPI JSON endpoint (scripts/bare_app.py, same request body) on the same
number of workers, the yardstick for "a tenth of what the machine can serve".

    .venv/bin/python -m scripts.bench_load            # SQLite, PostgreSQL and bare, 1,000 articles
    .venv/bin/python -m scripts.bench_load --databases sqlite --duration 10 --no-write

The client runs on the same two cores as the server (one process, one event loop, a minimal
keep-alive HTTP/1.1 client over asyncio streams; `--client httpx` for httpx.AsyncClient), so
the figures include its cost; the table says how much CPU each side used. Writes the section
"load" of docs/BENCHMARKS.md. Not a test: timings vary.
"""

import argparse
import asyncio
import io
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from scripts.report import machine_line, write_section

ROOT = Path(__file__).resolve().parent.parent
ADMIN_TOKEN = "bench-admin"
HANDOFF_SHARE = 0.10
HANDOFF_REQUESTS = ("talk to a person", "позовите оператора", "I want to talk to a human")
GREETINGS = ("hi", "hello", "здравствуйте")
THANKS = ("thanks", "thank you", "спасибо")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# The servers ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`uvicorn APP --workers N` on a free local port, its output in a log file. An APP ending
    in "()" is a factory (uvicorn --factory)."""

    def __init__(
        self, app: str, *, workers: int, env: dict[str, str], log: Path, root: Path = ROOT
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                app.removesuffix("()"),
                *(["--factory"] if app.endswith("()") else []),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            cwd=root,  # uvicorn imports the app from there: another checkout runs its code
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_until(self, path: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"uvicorn exited with {self.process.returncode}; see {self._log.name}"
                )
            try:
                if httpx.get(self.url + path, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.url}{path} not ready in {timeout:.0f} s")

    def cpu_seconds(self) -> float:
        """User + system CPU of the server and its worker processes so far."""
        return tree_cpu_seconds(self.process.pid)

    def worker_cpu_seconds(self) -> dict[int, float]:
        """The same for each worker process: a child of uvicorn's supervisor, or with one
        worker, uvicorn itself."""
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except FileNotFoundError:
            return {}
        return {int(c): tree_cpu_seconds(int(c)) for c in children} or {pid: self.cpu_seconds()}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@contextmanager
def running(
    app: str, *, workers: int, env: dict[str, str], log: Path, root: Path = ROOT
) -> Iterator[Server]:
    server = Server(app, workers=workers, env=env, log=log, root=root)
    try:
        yield server
    finally:
        server.stop()


def tree_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        own = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return own + sum(tree_cpu_seconds(int(child)) for child in children)


def machine_cpu_seconds() -> tuple[float, float]:
    """CPU seconds spent by everything on the machine (all cores), and seconds its virtual
    CPUs wanted to run but the hypervisor ran someone else (steal), from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle, steal = values[3] + values[4], values[7]  # idle and iowait; steal
    return (sum(values[:7]) - idle) / CLOCK_TICKS, steal / CLOCK_TICKS


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A throw-away database on the server at `server_url`, dropped afterwards."""
    name = f"answerdesk_load_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


DATABASES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
# --ablations: (what the label says, the app uvicorn runs)
WITHOUT_MATCHING = (
    "matching replaced by a constant answer",
    "scripts.ablation_apps:without_matching()",
)
WITHOUT_TURN = (
    "turn replaced by a constant answer (no matching, no database)",
    "scripts.ablation_apps:without_turn()",
)


@contextmanager
def fresh_database(database: str, args: argparse.Namespace) -> Iterator[str]:
    """A URL of an empty database of this kind, dropped afterwards."""
    if database == "sqlite":
        with tempfile.TemporaryDirectory(prefix="answerdesk-load-db-") as folder:
            yield f"sqlite:///{folder}/load.db"
    else:
        with postgres_database(args.pg_url) as url:
            yield url


def load_knowledge_base(url: str, articles: list[dict[str, object]], timeout: float) -> float:
    """Imports the articles; returns seconds until every worker answers from them."""
    started = time.perf_counter()
    payload = json.dumps(articles).encode()
    response = httpx.post(
        f"{url}/v1/articles/import",
        files={"file": ("bench.json", io.BytesIO(payload), "application/json")},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=timeout,
    )
    response.raise_for_status()
    report = response.json()
    if report.get("created") != len(articles):
        raise RuntimeError(f"import created {report.get('created')} of {len(articles)}")
    # Each new connection may land on either worker: wait for a run of answers that all have
    # the new knowledge base.
    deadline, in_a_row = time.monotonic() + timeout, 0
    while in_a_row < 20:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the workers did not load {len(articles)} articles in time")
        ready = httpx.get(f"{url}/readyz", timeout=5).json()
        in_a_row = in_a_row + 1 if ready.get("articles") == len(articles) else 0
        if not in_a_row:
            time.sleep(0.5)
    return time.perf_counter() - started


# The load generator -----------------------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection: a request, then its response, then the next.

    Much cheaper per request than a general client, which matters when the client shares the
    cores with the server. Only what uvicorn sends is understood: responses with Content-Length.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            lowered = head.lower()
            at = lowered.find(b"\r\ncontent-length:")
            if at < 0:
                raise ConnectionError("response without Content-Length")
            length = int(lowered[at + 17 : lowered.find(b"\r\n", at + 2)])
            data = await reader.readexactly(length)
        except BaseException:
            self.close()
            raise
        if b"\r\nconnection: close" in lowered:
            self.close()
        return status, data

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


class HttpxConnection:
    """The same interface over a shared httpx.AsyncClient (`--client httpx`)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        response = await self.client.post(
            path, content=body, headers={"Content-Type": "application/json"}
        )
        return response.status_code, response.content

    def close(self) -> None:
        pass


Post = Callable[[str, bytes], Awaitable[tuple[int, bytes]]]


@dataclass
class Window:
    """What happened between `start` and `end`: only requests that finished inside count."""

    start: float
    end: float
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    replies: Counter[str] = field(default_factory=Counter)
    conversations: int = 0
    handed_off: int = 0

    def timed(self, post: Post) -> Post:
        async def call(path: str, body: bytes) -> tuple[int, bytes]:
            started = time.perf_counter()
            try:
                status, data = await post(path, body)
            except (OSError, asyncio.IncompleteReadError, ConnectionError) as exc:
                if self.start <= time.perf_counter() <= self.end:
                    self.errors[type(exc).__name__] += 1
                raise
            finished = time.perf_counter()
            if self.start <= finished <= self.end:
                if status == 200:
                    self.latencies.append(finished - started)
                else:
                    self.errors[f"HTTP {status}"] += 1
            return status, data

        return call

    def open(self) -> bool:
        return time.perf_counter() < self.end


def questions_of(articles: list[dict[str, object]]) -> list[str]:
    """What customers ask: each article's questions and title, some with a word left out."""
    rng = random.Random(3)
    asked = []
    for article in articles:
        for phrasing in [*article["questions"], article["title"]]:  # type: ignore[misc]
            words = str(phrasing).split()
            asked.append(" ".join(words))
            if len(words) > 3:
                words.pop(rng.randrange(len(words) - 1))  # keep the last, the article's own word
                asked.append(" ".join(words))
    return asked


def conversation_script(rng: random.Random, questions: list[str]) -> tuple[list[str], bool]:
    """3–5 messages; about 10% end with a request for a person."""
    length = rng.randint(3, 5)
    texts = [rng.choice(questions) for _ in range(length)]
    if rng.random() < 0.3:
        texts[0] = rng.choice(GREETINGS)
    wants_person = rng.random() < HANDOFF_SHARE
    if wants_person:
        texts[-1] = rng.choice(HANDOFF_REQUESTS)
    elif rng.random() < 0.3:
        texts[-1] = rng.choice(THANKS)
    return texts, wants_person


class Client(Protocol):
    async def post(self, path: str, body: bytes) -> tuple[int, bytes]: ...

    def close(self) -> None: ...


async def customer(number: int, client: Client, window: Window, questions: list[str]) -> None:
    """One customer after another, each with a conversation on a connection of its own."""
    rng = random.Random(number)
    post = window.timed(client.post)
    talk = 0
    while window.open():
        talk += 1
        user = f"load-{number}-{talk}"
        texts, _ = conversation_script(rng, questions)
        await converse(user, texts, post, window)
        # The next customer is another visitor: a new connection, which may land on the other
        # worker (a connection kept for the whole run stays with one worker, and one worker
        # can get most of them).
        client.close()


async def converse(user: str, texts: list[str], post: Post, window: Window) -> None:
    conversation_id: str | None = None
    handed_off = False
    for turn in texts:
        if not window.open():
            return
        body: dict[str, object] = {"channel": "web", "user": {"id": user}, "text": turn}
        if conversation_id:
            body["conversation_id"] = conversation_id
        try:
            status, data = await post("/v1/chat", json.dumps(body).encode())
        except (OSError, asyncio.IncompleteReadError, ConnectionError):
            return
        if status != 200:
            return
        reply = json.loads(data)
        conversation_id = reply["conversation_id"]
        handed_off = handed_off or reply["status"] == "handoff"
        if window.start <= time.perf_counter() <= window.end:
            window.replies[reply["status"]] += 1
    if window.start <= time.perf_counter() <= window.end:
        window.conversations += 1
        window.handed_off += handed_off


async def bare_customer(number: int, client: Client, window: Window, questions: list[str]) -> None:
    """The same pattern against the bare endpoint: 3–5 requests per connection."""
    rng = random.Random(number)
    post = window.timed(client.post)
    while window.open():
        texts, _ = conversation_script(rng, questions)
        for said in texts:
            body = {"channel": "web", "user": {"id": f"load-{number}"}, "text": said}
            try:
                await post("/echo", json.dumps(body).encode())
            except (OSError, asyncio.IncompleteReadError, ConnectionError):
                await asyncio.sleep(0.01)
                break
        client.close()


Customer = Callable[[int, Client, Window, list[str]], Awaitable[None]]


async def drive(
    url: str,
    customer_loop: Customer,
    *,
    questions: list[str],
    concurrency: int,
    warmup: float,
    duration: float,
    client: str,
    server: Server,
) -> dict[str, object]:
    now = time.perf_counter()
    window = Window(start=now + warmup, end=now + warmup + duration)
    host, port = url.removeprefix("http://").split(":")
    pool = None
    if client == "httpx":
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        pool = httpx.AsyncClient(base_url=url, limits=limits, timeout=30)
        connections = [HttpxConnection(pool) for _ in range(concurrency)]
    else:
        connections = [Connection(host, int(port)) for _ in range(concurrency)]  # type: ignore[misc]

    async def measure_cpu() -> tuple[float, float, tuple[float, float], list[float]]:
        await asyncio.sleep(max(window.start - time.perf_counter(), 0))
        marks = (time.process_time(), server.cpu_seconds(), machine_cpu_seconds())
        workers = server.worker_cpu_seconds()
        await asyncio.sleep(max(window.end - time.perf_counter(), 0))
        workers_after = server.worker_cpu_seconds()
        machine = machine_cpu_seconds()
        return (
            time.process_time() - marks[0],
            server.cpu_seconds() - marks[1],
            (machine[0] - marks[2][0], machine[1] - marks[2][1]),
            [workers_after[pid] - workers.get(pid, 0.0) for pid in workers_after],
        )

    cpu = asyncio.create_task(measure_cpu())
    await asyncio.gather(
        *(customer_loop(n, c, window, questions) for n, c in enumerate(connections))
    )
    client_cpu, server_cpu, (machine_cpu, stolen), worker_cpu = await cpu
    for c in connections:
        c.close()
    if pool is not None:
        await pool.aclose()
    latencies = sorted(window.latencies)
    count = len(latencies)
    return {
        "requests": count,
        "per_second": count / duration,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "errors": sum(window.errors.values()),
        "error_kinds": dict(window.errors),
        "replies": dict(window.replies),
        "conversations": window.conversations,
        "handed_off": window.handed_off,
        # in cores (1.0 = one core busy for the whole window)
        "client_cores": client_cpu / duration,
        "server_cores": server_cpu / duration,
        "worker_cores": sorted((w / duration for w in worker_cpu if w > 0.01), reverse=True),
        "other_cores": max(machine_cpu - client_cpu - server_cpu, 0.0) / duration,
        "stolen_cores": stolen / duration,
        "server_cpu_ms": server_cpu * 1000 / count if count else float("nan"),
    }


def repeated_load(
    server: Server,
    customer_loop: Customer,
    articles: list[dict[str, object]],
    args: argparse.Namespace,
    concurrency: int,
    duration: float | None = None,
) -> dict:
    """--repeat runs of --warmup then `duration` (by default --duration) seconds; the median."""
    return median_run(
        [
            run_load(
                server.url,
                customer_loop,
                server,
                questions=questions_of(articles),
                concurrency=concurrency,
                warmup=args.warmup,
                duration=duration or args.duration,
                client=args.client,
            )
            for _ in range(args.repeat)
        ]
    )


def median_run(runs: list[dict]) -> dict:
    """The run with the median messages/s (the lower middle of an even count), carrying every
    run's messages/s and p99 under "runs": on a shared VM one run can be a third off another
    minutes later, and a single run's verdict would say as much about the neighbours."""
    ordered = sorted(runs, key=lambda r: r["per_second"])
    chosen = ordered[(len(ordered) - 1) // 2]
    return {**chosen, "runs": [(r["per_second"], r["p99_ms"]) for r in runs]}


def percentile(ordered: list[float], share: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(int(len(ordered) * share), len(ordered) - 1)]


def run_load(url: str, customer_loop: Customer, server: Server, **options: object) -> dict:
    try:
        import uvloop
    except ImportError:  # the plain loop works too, at some cost to the client
        return asyncio.run(drive(url, customer_loop, server=server, **options))  # type: ignore[arg-type]
    return uvloop.run(drive(url, customer_loop, server=server, **options))  # type: ignore[arg-type]


# The runs ---------------------------------------------------------------------------------


def concurrencies(args: argparse.Namespace) -> list[int]:
    return [int(c) for c in str(args.concurrency).split(",")]


@contextmanager
def serving_chat(
    label: str,
    database_url: str,
    articles: list[dict[str, object]],
    args: argparse.Namespace,
    *,
    app: str | None = None,
    settings: Sequence[str] = (),
    root: Path = ROOT,
) -> Iterator[Server]:
    """`app` (by default --app) of the checkout at `root` on `database_url`, with --set and
    `settings` (NAME=VALUE) in its environment, once it answers from `articles`."""
    with tempfile.TemporaryDirectory(prefix="answerdesk-load-") as folder:
        metrics_dir = Path(folder) / "prometheus"
        metrics_dir.mkdir()
        env = {
            "ANSWERDESK_DATABASE_URL": database_url,
            "ANSWERDESK_KB_DIR": "",
            "ANSWERDESK_ADMIN_TOKEN": ADMIN_TOKEN,
            "ANSWERDESK_KB_WRITE_WAIT_SECONDS": "0",
            # as in a multi-worker deployment (app/analytics/prometheus.py)
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            **dict(pair.split("=", 1) for pair in [*args.set, *settings]),
        }
        log = Path(folder) / "server.log"
        with running(app or args.app, workers=args.workers, env=env, log=log, root=root) as server:
            server.wait_until("/readyz")
            ready_s = load_knowledge_base(server.url, articles, timeout=600)
            print(f"{label}: {len(articles):,} articles answer after {ready_s:.0f} s", flush=True)
            yield server


def bench_chat(
    label: str,
    database_url: str,
    articles: list[dict[str, object]],
    args: argparse.Namespace,
    *,
    app: str | None = None,
    levels: list[int] | None = None,
    profiled: bool = True,
) -> list[dict]:
    """One server, one knowledge-base import, then a run per concurrency level (`levels`, by
    default --concurrency's) of `app` (by default --app)."""
    with serving_chat(label, database_url, articles, args, app=app) as server:
        results = [
            measure_chat(server, articles, args, label=label, concurrency=concurrency)
            for concurrency in levels or concurrencies(args)
        ]
        if args.profile_seconds and profiled:
            results[-1]["profile"] = profile(server, args, articles, label)
    return results


def measure_chat(
    server: Server,
    articles: list[dict[str, object]],
    args: argparse.Namespace,
    *,
    label: str,
    concurrency: int,
    duration: float | None = None,
) -> dict:
    """The median of --repeat runs at one level (repeated_load), with its batch sizes."""
    batches_before = chat_batches(server.url)
    result = repeated_load(server, customer, articles, args, concurrency, duration)
    turns, transactions = (
        after - before
        for after, before in zip(chat_batches(server.url), batches_before, strict=True)
    )
    result.update(
        label=f"{label}, {concurrency} customers",
        concurrency=concurrency,
        per_transaction=turns / transactions if transactions else 0.0,
    )
    print(table([result], []).splitlines()[-1], flush=True)
    return result


def bench_bare(articles: list[dict[str, object]], args: argparse.Namespace) -> list[dict]:
    results = []
    with tempfile.TemporaryDirectory(prefix="answerdesk-load-") as folder:
        log = Path(folder) / "server.log"
        with running("scripts.bare_app:app", workers=args.workers, env={}, log=log) as server:
            server.wait_until("/openapi.json")
            for concurrency in concurrencies(args):
                result = repeated_load(server, bare_customer, articles, args, concurrency)
                result.update(
                    label=f"bare FastAPI endpoint, {concurrency} clients", concurrency=concurrency
                )
                print(table([result], []).splitlines()[-1], flush=True)
                results.append(result)
    return results


def chat_batches(url: str) -> tuple[float, float]:
    """(chat messages, transactions) so far, from /metrics' answerdesk_chat_batch_turns (all
    workers': the bench sets PROMETHEUS_MULTIPROC_DIR)."""
    metrics = httpx.get(f"{url}/metrics", timeout=30).text
    found = dict.fromkeys(("sum", "count"), 0.0)
    for line in metrics.splitlines():
        name, _, value = line.partition(" ")
        for part in found:
            if name == f"answerdesk_chat_batch_turns_{part}":
                found[part] = float(value)
    return found["sum"], found["count"]


# Where a worker's CPU goes, by the first rule whose marker is in a sampled stack.
PROFILE_PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("matching (app/matching)", ("(app/matching/",)),
    (
        "rest of the chat turns: database reads and writes, handoff checks, outcome log",
        ("(app/conversations/turns.py",),
    ),
    (
        "background: analytics roll-ups, outbox, KB version poll",
        ("catch_up (", "refresh_loop", "OutboxSender", "IndexHolder._poll", "sla_requeue"),
    ),
    ("HTTP, middleware, dependencies, thread hand-offs", ("",)),
)


def profile_shares(files: list[Path]) -> dict[str, float]:
    """The share of samples in each PROFILE_PARTS part, from py-spy's raw collapsed stacks."""
    counts: Counter[str] = Counter()
    for path in files:
        for line in path.read_text().splitlines():
            stack, _, samples = line.rpartition(" ")
            if not stack:
                continue
            part = next(name for name, marks in PROFILE_PARTS if any(m in stack for m in marks))
            counts[part] += int(samples)
    total = sum(counts.values()) or 1
    return {name: counts[name] / total for name, _ in PROFILE_PARTS}


def profile(server: Server, args: argparse.Namespace, articles: list, label: str) -> dict:
    """py-spy on every worker while the same load runs again (`--profile-seconds`): samples of
    the thread holding the GIL, as raw collapsed stacks in `--profile-dir`; returns the shares
    of PROFILE_PARTS."""
    workers = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    pids = workers.read_text().split()
    folder = Path(args.profile_dir) / label.replace(", ", "-").replace(" ", "-")
    folder.mkdir(parents=True, exist_ok=True)
    spies, outputs = [], []
    for pid in pids:
        out = folder / f"{pid}.txt"
        outputs.append(out)
        spies.append(
            subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "py-spy"),
                    "record",
                    "--pid",
                    pid,
                    "--duration",
                    str(int(args.profile_seconds)),
                    "--format",
                    "raw",
                    "--rate",
                    "200",
                    "--gil",  # only the thread holding the GIL: where Python spends CPU
                    "--output",
                    str(out),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    run_load(
        server.url,
        customer,
        server,
        questions=questions_of(articles),
        concurrency=concurrencies(args)[-1],
        warmup=0.5,
        duration=args.profile_seconds,
        client=args.client,
    )
    for spy in spies:
        spy.wait()
    shares = profile_shares([out for out in outputs if out.exists()])
    print(f"profiles of {len(pids)} workers in {folder}: {shares}", flush=True)
    return shares


# The report -------------------------------------------------------------------------------


def table(rows: list[dict], bare: list[dict]) -> str:
    """Chat runs, then the bare runs; each chat run's ratio is to the bare run at the same
    concurrency."""
    repeated = any(len(r.get("runs", ())) > 1 for r in [*rows, *bare])
    lines = [
        "| run | messages/s | p50 ms | p99 ms | errors | server CPU ms per request | "
        "cores used: server (per worker) / client / other / stolen | chat ÷ bare |"
        + (" every run: messages/s (p99 ms) |" if repeated else ""),
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |" + (" --- |" if repeated else ""),
    ]
    yardstick = {b["concurrency"]: b["per_second"] for b in bare}
    for r in [*rows, *bare]:
        base = yardstick.get(r["concurrency"]) if r not in bare else None
        ratio = f"{r['per_second'] / base:.3f}" if base else ""
        runs = ", ".join(f"{rate:,.0f} ({p99:.0f})" for rate, p99 in r.get("runs", ()))
        lines.append(
            f"| {r['label']} | {r['per_second']:,.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
            f"{r['errors']} | {r['server_cpu_ms']:.2f} | {r['server_cores']:.2f} "
            f"({' + '.join(f'{w:.2f}' for w in r['worker_cores'])}) / "
            f"{r['client_cores']:.2f} / {r['other_cores']:.2f} / {r['stolen_cores']:.2f} | "
            f"{ratio} |" + (f" {runs} |" if repeated else "")
        )
    return "\n".join(lines)


def profile_table(rows: list[dict], seconds: float) -> str:
    profiled = [r for r in rows if "profile" in r]
    if not profiled:
        return ""
    lines = [
        f"Where the workers' CPU goes under the last load level (py-spy, {seconds:g} s, samples "
        "of the thread holding the GIL; C code that releases it, such as SQLite's, is not "
        "counted):",
        "",
        "| part | " + " | ".join(r["label"] for r in profiled) + " |",
        "| --- |" + " ---: |" * len(profiled),
    ]
    for name, _ in PROFILE_PARTS:
        shares = " | ".join(f"{r['profile'][name]:.0%}" for r in profiled)
        lines.append(f"| {name} | {shares} |")
    return "\n".join(lines)


def compared(whole: dict, parts: list[dict]) -> list[dict]:
    """Ablation runs, each marked with the run of the whole app it is compared with."""
    return [{**part, "whole": whole} for part in parts]


def ablation_table(rows: list[dict], parts: list[dict], bare: list[dict]) -> str:
    """Server CPU per message with parts of the turn replaced, beside the whole app's at the
    same level: the differences are what matching, the database and the framework cost."""
    lines = [
        "What the parts of a turn cost (`--ablations`, scripts/ablation_apps.py): the same "
        "load on the same app with parts replaced by a constant answer; a part's cost is the "
        "server CPU per message it takes away.",
        "",
        "| run | messages/s | p99 ms | server CPU ms per message | less than the whole app |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    level = parts[0]["concurrency"]
    for r in [*rows, *parts, *bare]:
        if r["concurrency"] != level:
            continue
        base = r.get("whole")
        saved = f"{base['server_cpu_ms'] - r['server_cpu_ms']:.2f} ms" if base else ""
        lines.append(
            f"| {r['label']} | {r['per_second']:,.0f} | {r['p99_ms']:.1f} | "
            f"{r['server_cpu_ms']:.2f} | {saved} |"
        )
    return "\n".join(lines)


def verdict(rows: list[dict]) -> str:
    """The issue's target, said plainly for each database from this run's figures."""
    databases: dict[str, list[dict]] = {}
    for r in rows:
        databases.setdefault(r["label"].rsplit(", ", 1)[0], []).append(r)
    lines = []
    for database, runs in databases.items():
        met = [r for r in runs if r["per_second"] >= 1000 and r["p99_ms"] < 100]
        best = max(met or runs, key=lambda r: r["per_second"])
        figures = (
            f"{best['per_second']:,.0f} messages/s at {best['concurrency']} customers, p99 "
            f"{best['p99_ms']:.0f} ms, {best['server_cpu_ms']:.2f} ms of server CPU per message"
        )
        said = "met" if met else "**not met**"
        lines.append(f"- {database}: {said} (best: {figures})")
    return (
        "Target (≥ 1,000 messages/s with p99 < 100 ms on each database), from this run:\n\n"
        + "\n".join(lines)
        + "\n\n1,000 messages/s on these 2 cores leaves at most 2 ms of CPU per message for "
        "the server, the client and the database together."
    )


def outcomes(rows: list[dict]) -> str:
    lines = []
    for r in rows:
        replies = ", ".join(f"{k} {v:,}" for k, v in sorted(r["replies"].items()))
        share = r["handed_off"] / r["conversations"] if r["conversations"] else 0.0
        errors = f"; errors {r['error_kinds']}" if r["errors"] else ""
        batch = (
            f"; {r['per_transaction']:.1f} messages per transaction (warm-up included)"
            if r.get("per_transaction")
            else ""
        )
        lines.append(
            f"- {r['label']}: {r['conversations']:,} conversations finished in the window, "
            f"{share:.0%} handed off; replies: {replies}{batch}{errors}"
        )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """Apart from main() so that bench_ab takes the defaults of every option it leaves out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=20, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=3, help="unmeasured seconds first")
    parser.add_argument(
        "--concurrency",
        default="8,32,64",
        help="simultaneous customers; a comma-separated list runs each level in turn",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs per level, one after another; the table gives the median (by messages/s) "
        "and lists them all",
    )
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "ANSWERDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
        help="a server where a throw-away database may be created",
    )
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw")
    parser.add_argument("--app", default="app.main:app", help="the ASGI app uvicorn runs")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable for the chat server, e.g. ANSWERDESK_KB_POLL_SECONDS=1",
    )
    parser.add_argument("--no-bare", action="store_true", help="skip the bare endpoint")
    parser.add_argument(
        "--ablations",
        action="store_true",
        help="also run the last level with matching, then the whole turn, replaced by a "
        "constant answer (scripts/ablation_apps.py): what each part costs",
    )
    parser.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    parser.add_argument(
        "--profile-seconds",
        type=float,
        default=0,
        help="after each chat run, py-spy every worker under the same load this long",
    )
    parser.add_argument("--profile-dir", default="/tmp/answerdesk-load-profiles")
    return parser


def main() -> None:
    parser = build_parser()
    args = parser.parse_args()
    load_before = os.getloadavg()[0]

    from scripts.bench_import import generate

    articles = generate(args.articles)
    rows: list[dict] = []
    parts: list[dict] = []
    levels = concurrencies(args)
    last_level = levels[-1:]
    for database in args.databases.split(","):
        if database not in DATABASES:
            parser.error(f"unknown database {database!r}")
        label = f"chat, {DATABASES[database]}"
        with fresh_database(database, args) as url:
            rows += bench_chat(label, url, articles, args)
        if args.ablations:
            with fresh_database(database, args) as url:
                parts += compared(
                    rows[-1],
                    bench_chat(
                        f"{label}, {WITHOUT_MATCHING[0]}",
                        url,
                        articles,
                        args,
                        app=WITHOUT_MATCHING[1],
                        levels=last_level,
                        profiled=False,
                    ),
                )
    if args.ablations and rows:  # no database work left: one run says it for both
        with fresh_database("sqlite", args) as url:
            parts += compared(
                rows[len(levels) - 1],  # the first database's whole app at the last level
                bench_chat(
                    f"chat, {WITHOUT_TURN[0]}",
                    url,
                    articles,
                    args,
                    app=WITHOUT_TURN[1],
                    levels=last_level,
                    profiled=False,
                ),
            )
    bare = [] if args.no_bare else bench_bare(articles, args)
    load_average = os.getloadavg()[0]
    client = (
        "httpx.AsyncClient" if args.client == "httpx" else "a minimal keep-alive HTTP/1.1 client"
    )
    profiling = f" --profile-seconds {args.profile_seconds:g}" if args.profile_seconds else ""
    profiling += " --ablations" if args.ablations else ""
    profiling += f" --repeat {args.repeat}" if args.repeat > 1 else ""
    runs_said = (
        f"{args.repeat} runs per level one after another, the median shown"
        if args.repeat > 1
        else "one run per level"
    )
    body = (
        f"`python -m scripts.bench_load --duration {args.duration:g} --concurrency "
        f"{args.concurrency} --articles {args.articles}{profiling}` on {machine_line()}. "
        f"uvicorn with {args.workers} workers, {args.articles:,} synthetic articles imported "
        f"through the API; {args.concurrency} customers at once ({runs_said}), each sending "
        "its next message as soon as the reply arrives (a closed loop: at saturation latency is "
        "customers ÷ throughput), in conversations of 3–5 messages, about 10% ending in "
        "a request for a person (a handoff). The load generator (one process, "
        f'{client}) runs on the same 2 cores, and so does the database; "other" is every other '
        "process on the machine (PostgreSQL, and whatever else ran; the load average was "
        f"{load_before:.1f} before the run and {load_average:.1f} at its end, counting the "
        "benchmark's own processes); \"stolen\" is time the virtual machine's cores were ready "
        "to run but the hypervisor ran another guest (steal in /proc/stat): a share of a core "
        "lost to the neighbours, which no change to the app wins back. The bare endpoint is "
        "scripts/bare_app.py: the same request body validated by a pydantic model, a small "
        "JSON answer, no middleware. Each worker's chat threads run the messages waiting at "
        "the same moment together, in one transaction (docs/ARCHITECTURE.md, *A chat message, "
        "under load*); the list under the verdict says how many shared one.\n\n"
        + table(rows, bare)
        + "\n\n"
        + verdict(rows)
        + "\n\n"
        + outcomes(rows)
        + ("\n\n" + profile_table(rows, args.profile_seconds) if args.profile_seconds else "")
        + ("\n\n" + ablation_table(rows, parts, bare) if parts else "")
    )
    print(body)
    if not args.no_write:
        write_section("load", "Chat under load", body)


if __name__ == "__main__":
    main()
