"""Reading uvicorn's processes from /proc (psutil is not a dependency): its workers, and which
worker holds which client connections."""

import os
import time
from pathlib import Path

PROC = Path("/proc")


def _parent(pid: int) -> int | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may contain spaces and parentheses.
    return int(stat.rsplit(")", 1)[1].split()[1])


def _command_line(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        state = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie is dead, only not yet reaped


def worker_pids(supervisor_pid: int) -> list[int]:
    """The live worker processes uvicorn's supervisor has spawned (not its resource tracker)."""
    workers = []
    for entry in PROC.iterdir():
        if entry.name.isdigit() and _parent(int(entry.name)) == supervisor_pid:
            pid = int(entry.name)
            if "spawn_main" in _command_line(pid) and alive(pid):
                workers.append(pid)
    return sorted(workers)


def wait_for_workers(supervisor_pid: int, count: int, timeout: float = 30.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers = worker_pids(supervisor_pid)
        if len(workers) == count:
            return workers
        time.sleep(0.1)
    return worker_pids(supervisor_pid)


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        for fd in (PROC / str(pid) / "fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


def accepted_connections(pid: int, port: int) -> int:
    """How many established TCP connections to `port` the process holds (requests it took)."""
    established = set()
    for table in ("net/tcp", "net/tcp6"):
        try:
            lines = (PROC / str(pid) / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01":  # 01: ESTABLISHED
                established.add(fields[9])
    return len(established & _socket_inodes(pid))


def wait_gone(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            raise AssertionError(f"process {pid} still alive after {timeout} s")
        time.sleep(0.02)
