"""Attacks on the sandbox, each run for real and checked from the host side: the attack must
be contained (the host is unchanged, nothing survives) and reported in the result.

bwrap mode gets every attack; rlimits mode (no namespaces, runs as the caller) only those its
resource limits and kill guarantee are meant to stop. Each test is a few seconds at most.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from validators import sandbox as sandbox_module
from validators.process import CommandNotRunnable
from validators.sandbox import (
    Sandbox,
    SandboxError,
    SandboxLimits,
    SandboxResult,
    SandboxUnavailable,
    detect_sandbox,
)

ENV = {"PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1"}
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def bwrap() -> Sandbox:
    try:
        return detect_sandbox("bwrap")
    except SandboxUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def rlimits() -> Sandbox:
    return detect_sandbox("none")


@pytest.fixture(params=["bwrap", "rlimits"])
def any_sandbox(request: pytest.FixtureRequest) -> Sandbox:
    sandbox: Sandbox = request.getfixturevalue(request.param)
    return sandbox


def _workdir_for(sandbox: Sandbox) -> Iterator[Path]:
    """work/ inside a root-owned parent that the sandbox uid may only traverse: the parent
    holds a canary the attacks go after."""
    base = Path(tempfile.mkdtemp(prefix="repairbot-sandbox-test-"))
    try:
        base.chmod(0o711)
        (base / "canary").write_text("host")
        workdir = base / "work"
        workdir.mkdir()
        sandbox.prepare_workdir(workdir)
        yield workdir
    finally:
        shutil.rmtree(base)


@pytest.fixture
def bwrap_workdir(bwrap: Sandbox) -> Iterator[Path]:
    yield from _workdir_for(bwrap)


@pytest.fixture
def workdir(any_sandbox: Sandbox) -> Iterator[Path]:
    yield from _workdir_for(any_sandbox)


def run_python(
    sandbox: Sandbox, workdir: Path, code: str, *args: str, **limits: Any
) -> SandboxResult:
    """`code` run by this interpreter; the wall-clock limit, unless the test is about it, is
    one that no loaded machine reaches: the other limits must be what stops the attack."""
    argv = [sys.executable, "-c", textwrap.dedent(code), *args]
    return sandbox.run(argv, workdir, SandboxLimits(**{"timeout_s": 120, **limits}), ENV)


def processes_with(token: str) -> list[int]:
    """Live host processes whose command line holds `token` (zombies have none)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and token in (entry / "cmdline").read_text():
                found.append(int(entry.name))
        except OSError:
            pass
    return found


def assert_host_fine() -> None:
    """The host can still start processes and allocate memory after the attack."""
    assert subprocess.run(["true"], timeout=10).returncode == 0
    assert len(bytearray(64 * MiB)) == 64 * MiB


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return False
    return True


# --- the sandbox is what it claims ---------------------------------------------------------


def test_detect_describes_mode_and_limits(bwrap: Sandbox, rlimits: Sandbox) -> None:
    assert bwrap.mode == "bwrap"
    assert "bwrap as uid" in bwrap.description
    assert rlimits.mode == "rlimits"
    assert rlimits.description.startswith("rlimits only: sandboxing disabled by configuration")
    assert "no filesystem, network or environment isolation" in rlimits.description


def test_auto_falls_back_explicitly_when_bwrap_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        sandbox_module, "bwrap_failure", lambda: "bwrap: No permissions to create new namespace"
    )
    fallback = detect_sandbox("auto")
    assert fallback.mode == "rlimits"
    assert "No permissions to create new namespace" in fallback.description
    with pytest.raises(SandboxUnavailable, match="No permissions to create new namespace"):
        detect_sandbox("bwrap")


def test_runs_python_with_its_packages_as_unprivileged_uid(
    bwrap: Sandbox, bwrap_workdir: Path
) -> None:
    result = run_python(bwrap, bwrap_workdir, """
        import os, pytest
        open("written", "w").write("ok")
        print(os.getuid(), os.environ["HOME"], os.getcwd())
    """)
    assert result.exit_code == 0, result.output
    assert result.output.split() == [str(bwrap.uid), "/tmp", str(bwrap_workdir)]
    assert (bwrap_workdir / "written").stat().st_uid == bwrap.uid
    assert result.violation is None and not result.timed_out
    assert result.peak_memory_bytes and result.cpu_time_s is not None


def test_missing_program_is_not_runnable(any_sandbox: Sandbox, workdir: Path) -> None:
    with pytest.raises(CommandNotRunnable, match="no-such-binary"):
        any_sandbox.run(["no-such-binary-xyz"], workdir, SandboxLimits(), ENV)


def test_workdir_must_belong_to_the_sandbox_uid(bwrap: Sandbox, tmp_path: Path) -> None:
    if bwrap.uid == os.getuid():
        pytest.skip("the sandbox runs as the caller, who owns the work dir")
    with pytest.raises(SandboxError, match="prepare_workdir"):
        bwrap.run(["true"], tmp_path, SandboxLimits(), ENV)


def test_extra_ro_paths_are_visible_read_only(tmp_path: Path, bwrap: Sandbox) -> None:
    shared = tmp_path / "m2"
    shared.mkdir()
    (shared / "dep.jar").write_text("jar")
    with_deps = detect_sandbox("bwrap", ro_paths=[shared])
    for workdir in _workdir_for(with_deps):
        result = run_python(with_deps, workdir, """
            import sys
            print(open(sys.argv[1] + "/dep.jar").read())
            open(sys.argv[1] + "/dep.jar", "w")
        """, str(shared))
    assert result.output.startswith("jar")
    assert "Read-only file system" in result.output
    assert (shared / "dep.jar").read_text() == "jar"


# --- isolation (bwrap) -----------------------------------------------------------------------


@pytest.mark.parametrize("port", [5432, 6379])
def test_no_network_to_host_services(bwrap: Sandbox, bwrap_workdir: Path, port: int) -> None:
    if not listening(port):
        pytest.skip(f"nothing listens on 127.0.0.1:{port} on this host")
    result = run_python(bwrap, bwrap_workdir, """
        import socket, sys
        try:
            socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3)
        except OSError as exc:
            sys.exit(f"blocked: {exc}")
        print("connected")
    """, str(port))
    assert result.exit_code == 1
    assert "blocked:" in result.output and "connected" not in result.output


def test_no_unix_socket_to_host_services(bwrap: Sandbox, bwrap_workdir: Path) -> None:
    """A network namespace does not cover Unix sockets: only the view keeps /run out."""
    sockets = [p for p in ("/var/run/postgresql/.s.PGSQL.5432",) if os.path.exists(p)]
    if not sockets:
        pytest.skip("no PostgreSQL Unix socket on this host")
    result = run_python(bwrap, bwrap_workdir, """
        import socket, sys
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(sys.argv[1])
        except OSError as exc:
            sys.exit(f"blocked: {exc}")
        print("connected")
    """, sockets[0])
    assert result.exit_code == 1 and "blocked:" in result.output


def test_cannot_write_outside_workdir(bwrap: Sandbox, bwrap_workdir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("host")
    canary = bwrap_workdir.parent / "canary"
    new_in_parent = bwrap_workdir.parent / "planted"
    in_etc = Path(f"/etc/repairbot-sandbox-{uuid.uuid4().hex}")
    result = run_python(bwrap, bwrap_workdir, """
        import sys
        for target in sys.argv[1:]:
            try:
                with open(target, "w") as f:
                    f.write("pwned")
                print("WROTE", target)
            except OSError as exc:
                print("DENIED", target, exc)
    """, str(outside), str(canary), str(new_in_parent), str(in_etc), "/etc/passwd")
    assert result.exit_code == 0
    assert "WROTE" not in result.output
    assert result.output.count("DENIED") == 5
    assert outside.read_text() == "host" and canary.read_text() == "host"
    assert not new_in_parent.exists() and not in_etc.exists()
    assert "pwned" not in Path("/etc/passwd").read_text()


def test_cannot_read_shadow_or_home(bwrap: Sandbox, bwrap_workdir: Path) -> None:
    home = Path(os.path.expanduser("~"))
    result = run_python(bwrap, bwrap_workdir, """
        import json, os, sys
        try:
            print("READ", open("/etc/shadow").read()[:20])
        except OSError as exc:
            print("DENIED", exc)
        home = sys.argv[1]
        print(json.dumps(sorted(os.listdir(home)) if os.path.isdir(home) else []))
    """, str(home))
    assert "DENIED" in result.output and "READ" not in result.output
    # Only the Python installation may show through (pyenv keeps it under /root).
    shown = set(json.loads(result.output.splitlines()[-1]))
    python_parts = {p.relative_to(home).parts[0] for p in bwrap.ro_paths if p.is_relative_to(home)}
    assert shown <= python_parts


def test_host_env_secret_is_invisible(
    any_sandbox: Sandbox, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_sandboxtestsecret")
    result = run_python(any_sandbox, workdir, """
        import os, sys
        print(sorted(os.environ))
        print(os.environ.get("GITHUB_TOKEN"))
        if sys.argv[1] == "bwrap":  # rlimits mode runs as the caller: /proc shows it all
            try:
                print(open(f"/proc/{sys.argv[2]}/environ", "rb").read())
            except OSError as exc:
                print("DENIED", exc)
    """, any_sandbox.mode, str(os.getpid()))
    assert result.exit_code == 0
    assert "ghp_sandboxtestsecret" not in result.output
    assert "GITHUB_TOKEN" not in result.output
    if any_sandbox.mode == "bwrap":
        assert "DENIED" in result.output


def test_rm_rf_does_not_touch_host(bwrap: Sandbox, bwrap_workdir: Path, tmp_path: Path) -> None:
    """`rm -rf` of what the view shows of the host: a system dir and files in the read-only
    binds, the bound Python installation, the work dir's root-owned parent, and a host file
    the view hides. Named paths, not `/`: walking the whole read-only tree proves nothing
    more and takes minutes on a loaded machine."""
    host_file = tmp_path / "keep.txt"
    host_file.write_text("host")
    canary = bwrap_workdir.parent / "canary"
    python = Path(os.path.realpath(sys.executable))
    package = Path(json.__file__).parent  # a small dir of the bound installation
    package_files = sorted(os.listdir(package))
    visible = [Path("/etc"), Path("/etc/passwd"), Path("/usr/bin/true"), python, package]
    # Guarded: should the sandbox ever be broken (root, or a host dir writable), do nothing.
    guarded = sorted({*visible, *(p.parent for p in visible)} - {Path("/")})
    script = (
        'test "$(id -u)" != 0 || exit 99; '
        'while [ "$1" != -- ]; do ! test -w "$1" || exit 99; shift; done; shift; '
        'for target; do rm -rf "$target"; done; echo done'
    )
    argv = ["/bin/sh", "-c", script, "sh", *map(str, guarded), "--",
            *map(str, visible), str(bwrap_workdir.parent), str(host_file)]
    result = bwrap.run(argv, bwrap_workdir, SandboxLimits(timeout_s=120), ENV)
    assert result.exit_code == 0 and result.output.rstrip().endswith("done"), result.output
    for target in visible:
        assert f"cannot remove '{target}" in result.output, result.output
        assert target.exists()
    assert "Read-only file system" in result.output
    assert sorted(os.listdir(package)) == package_files
    assert canary.read_text() == "host" and host_file.read_text() == "host"


# --- resource limits (both modes) -----------------------------------------------------------


def test_fork_bomb_stopped_by_process_limit(any_sandbox: Sandbox, workdir: Path) -> None:
    if any_sandbox.cgroups.pids is None and any_sandbox.uid == 0:
        pytest.skip("no pids cgroup, and root ignores RLIMIT_NPROC: nothing would stop it")
    token = f"forkbomb-{uuid.uuid4().hex}"
    result = run_python(any_sandbox, workdir, """
        import os, time
        deadline = time.time() + 8  # bounded even if the sandbox were not
        while time.time() < deadline:
            try:
                os.fork()
            except OSError:
                pass
    """, token, timeout_s=3, max_processes=64)
    assert result.violation == "process limit"
    assert result.timed_out and result.duration_s < 8  # killed: the bomb itself stops at 8 s
    assert processes_with(token) == []
    assert_host_fine()


def test_memory_hog_stopped_by_memory_limit(any_sandbox: Sandbox, workdir: Path) -> None:
    if any_sandbox.cgroups.memory is None:
        pytest.skip("no memory cgroup: memory is capped only with address_space_bytes")
    result = run_python(any_sandbox, workdir, """
        hog = []
        while True:
            hog.append(bytearray(16 * 1024 * 1024))
    """, memory_bytes=256 * MiB)
    assert result.violation == "memory limit"
    assert result.exit_code == 128 + 9 and not result.timed_out
    assert result.peak_memory_bytes is not None and result.peak_memory_bytes <= 256 * MiB
    assert_host_fine()


def test_infinite_loop_killed_at_wall_clock_timeout(any_sandbox: Sandbox, workdir: Path) -> None:
    token = f"spin-{uuid.uuid4().hex}"
    result = run_python(any_sandbox, workdir, "while True: pass", token, timeout_s=1)
    assert result.timed_out and result.exit_code is None
    assert result.violation == "wall-clock limit"
    assert 1 <= result.duration_s < 10  # the loop never ends: killed, promptly (margin for a loaded machine)
    assert processes_with(token) == []


def test_busy_loop_stopped_by_cpu_time_limit(any_sandbox: Sandbox, workdir: Path) -> None:
    result = run_python(any_sandbox, workdir, "while True: pass", cpu_time_s=1)
    assert result.violation == "cpu time limit"
    assert result.exit_code == 128 + 24 and not result.timed_out  # SIGXCPU


def test_printing_gigabytes_keeps_only_the_tail(any_sandbox: Sandbox, workdir: Path) -> None:
    result = run_python(any_sandbox, workdir, """
        import sys
        chunk = b"x" * (1 << 20)
        for _ in range(4096):  # 4 GiB
            sys.stdout.buffer.write(chunk)
        print("finished")
    """, max_file_bytes=64 * MiB, output_tail_bytes=4096)
    assert result.violation == "file size limit" and not result.timed_out  # stopped at 64 MiB
    assert len(result.output.encode()) <= 4096 and "x" * 100 in result.output
    assert "finished" not in result.output


def test_setsid_child_is_dead_after_run(any_sandbox: Sandbox, workdir: Path) -> None:
    if any_sandbox.mode == "rlimits" and not any_sandbox.cgroups.parents():
        pytest.skip("without a cgroup or a pid namespace a setsid() child escapes the kill")
    token = f"escapee-{uuid.uuid4().hex}"
    result = run_python(any_sandbox, workdir, """
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:  # daemonized: neither our child nor in our group
                with open("heartbeat", "a") as beat:
                    open("pid", "w").write(str(os.getpid()))
                    while True:
                        beat.write("."); beat.flush(); time.sleep(0.02)
            os._exit(0)
        while not os.path.exists("pid"):
            time.sleep(0.01)
        print("parent exits")
    """, token)
    assert result.exit_code == 0 and "parent exits" in result.output
    assert processes_with(token) == []
    beats = (workdir / "heartbeat").stat().st_size
    time.sleep(0.2)
    assert (workdir / "heartbeat").stat().st_size == beats
    if any_sandbox.mode == "rlimits":  # a host pid (in bwrap mode it is the namespace's)
        pid = int((workdir / "pid").read_text())
        assert not Path(f"/proc/{pid}").exists() or "Z" in _state(pid)


def _state(pid: int) -> str:
    """The process state letter; a killed orphan may linger as a zombie until reaped."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_run_cgroups_are_removed(
    any_sandbox: Sandbox, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not any_sandbox.cgroups.parents():
        pytest.skip("no writable cgroup on this host")
    created: list[sandbox_module.RunCgroup] = []

    class Recorded(sandbox_module.RunCgroup):
        def __init__(self, layout: sandbox_module.CgroupLayout, name: str) -> None:
            super().__init__(layout, name)
            created.append(self)

    monkeypatch.setattr(sandbox_module, "RunCgroup", Recorded)
    run_python(any_sandbox, workdir, "import os, time; os.fork(); os.setsid(); time.sleep(5)",
               timeout_s=0.5)
    assert created and all(not d.exists() for c in created for d in c.dirs.values())


def test_leftovers_of_a_dead_worker_are_cleaned_up(rlimits: Sandbox) -> None:
    """A worker SIGKILLed mid-run leaves its cgroups (and, in rlimits mode, setsid()
    children) behind; the next worker's probe kills and removes them."""
    layout = rlimits.cgroups
    if not layout.parents():
        pytest.skip("no writable cgroup on this host")
    dead_worker = subprocess.Popen(["true"])
    dead_worker.wait()
    stale = sandbox_module.RunCgroup(layout, f"repairbot-{dead_worker.pid}-leftover")
    for directory in stale.dirs.values():
        directory.mkdir()
    fds = stale.open_procs()
    try:
        survivor = subprocess.Popen(
            ["sleep", "60"], preexec_fn=lambda: [os.write(fd, b"0") for fd in fds]
        )
    finally:
        for fd in fds:
            os.close(fd)
    sandbox_module.cgroup_layout.cache_clear()
    sandbox_module.cgroup_layout()
    assert survivor.wait(timeout=60) == -9
    assert not any(d.exists() for d in stale.dirs.values())
