"""Run untrusted test commands (candidate patches and their tests) contained and bounded.

Two modes, chosen once per process by `detect_sandbox`:

* ``bwrap``: bubblewrap with every namespace unshared (no network, not even loopback to the
  host's PostgreSQL/Redis), a read-only view of the system and the Python installation, the
  work dir as the only writable host path, a private /tmp, a fresh /proc and no capabilities.
  bwrap started by root is no sandbox (a root-launched run could remount / read-write),
  so bwrap itself must run unprivileged. An unprivileged bwrap, however, cannot bind paths it
  cannot reach, and here Python lives under /root (mode 0700) and pytest's work dirs under
  /tmp/pytest-of-root (0700). So when the caller is root the command is nested::

      bwrap (root: builds the read-only view; mount + pid namespace only)
        setpriv --reuid 65534 (drops root for good)
          bwrap (uid 65534: user, pid, net, ipc, uts, cgroup namespaces; no capabilities)
            the test command

  The outer layer never runs untrusted code; the inner one is the sandbox that the attacks
  of `tests/attacks/` are run against. Its mounts come from a more privileged namespace, so the
  kernel locks them: the sandbox cannot remount them read-write or peel them off. Files the
  run writes belong to uid 65534, so the work dir must belong to that uid first
  (`Sandbox.prepare_workdir`). A caller that is not root runs one bwrap as itself.
* ``rlimits``: no namespaces and no change of user: only the resource limits and the
  kill-everything guarantee below. Used when bubblewrap does not work; it is not an
  isolation boundary (the network, the host's files and its environment via /proc stay
  reachable with the caller's rights), and `Sandbox.description` says so.

Resource limits in both modes: a per-run cgroup where one is writable (memory without swap,
process count, CPU accounting, and one-shot kill of everything in it), else rlimits. Each
process also gets RLIMIT_CPU, RLIMIT_FSIZE (which also caps the output file, so a test
printing gigabytes is stopped instead of filling the disk) and RLIMIT_CORE=0. RLIMIT_AS is
off by default: it is per process and keeps the JVM from starting.

When `run` returns, nothing it started is left: the process group, the cgroup (or the pid
namespace in bwrap mode, which also catches `setsid()` children) are killed and the
cgroup is checked empty.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import pwd
import resource
import select
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

from validators.process import CommandNotRunnable, is_alive

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

# "nobody": owns nothing on the host, so a process running as it can write nothing of ours.
SANDBOX_UID = 65534
SANDBOX_GID = 65534

SandboxMode = Literal["bwrap", "rlimits"]
Preference = Literal["auto", "bwrap", "none"]

# Host directories the sandbox sees read-only (those that exist; usr-merged systems have
# symlinks for the lib/bin ones, which are recreated as symlinks).
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
# Covered inside the view even though uid 65534 cannot read them anyway: a second lock on
# the door in case the sandbox uid ever lands in a privileged group.
SECRET_PATHS = (
    "/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-",
    "/etc/sudoers", "/etc/sudoers.d", "/etc/ssh", "/etc/ssl/private",
)
# Mount points of the view itself: they exist before any bind needs a parent dir.
VIEW_MOUNTS = ("/proc", "/dev", "/tmp")

CGROUP_DRAIN_S = 5.0
# HOME (and TMPDIR) of a bwrap run: its private, writable /tmp.
SANDBOX_HOME = "/tmp"


@dataclass(frozen=True)
class SandboxLimits:
    timeout_s: float = 60.0
    # Per process (RLIMIT_CPU): a busy loop dies of SIGXCPU even inside a longer timeout.
    cpu_time_s: int = 60
    memory_bytes: int = 2 * GiB
    max_processes: int = 256
    max_file_bytes: int = 256 * MiB
    output_tail_bytes: int = 64 * KiB
    # RLIMIT_AS per process, only when set: the memory cgroup is the real cap; this is for
    # hosts without one, and breaks the JVM below ~4 GiB.
    address_space_bytes: int | None = None


@dataclass
class SandboxResult:
    exit_code: int | None  # None on timeout; 128+N when killed by signal N (shell style)
    output: str  # the last `output_tail_bytes` of stdout+stderr
    duration_s: float
    timed_out: bool
    violation: str | None  # "memory limit", "process limit", "cpu time limit", ...
    peak_memory_bytes: int | None
    cpu_time_s: float | None
    mode: SandboxMode


class SandboxError(RuntimeError):
    """The sandbox cannot run the command as asked (misuse or a broken host setup)."""


class SandboxUnavailable(SandboxError):
    """The requested sandbox mode does not work on this host."""


# --- cgroups ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CgroupLayout:
    """Where per-run cgroups can be created: one parent dir per hierarchy that helps.

    Hybrid hosts (like this one) split the job: cgroup v1 for memory and pids, the v2
    hierarchy for `cgroup.kill` and CPU time. Parents are this process's own cgroups, so runs
    stay accounted to whoever limits us.
    """

    memory: Path | None
    memory_v2: bool
    pids: Path | None
    pids_v2: bool
    cpu: Path | None
    cpu_v2: bool
    unified: Path | None  # the v2 dir, for cgroup.kill and membership

    def parents(self) -> list[Path]:
        found = [self.memory, self.pids, self.cpu, self.unified]
        return list(dict.fromkeys(p for p in found if p is not None))

    def describe(self) -> str:
        if not self.parents():
            return "no writable cgroup (rlimits only; no memory cap unless address_space_bytes)"
        parts = [
            _describe_part("memory", self.memory, self.memory_v2),
            _describe_part("pids", self.pids, self.pids_v2),
            _describe_part("cpu", self.cpu, self.cpu_v2),
        ]
        kill = "v2 cgroup.kill" if self.unified is not None else "v1 process list"
        return "cgroups: " + ", ".join([*parts, f"kill: {kill}"])


def _describe_part(what: str, parent: Path | None, v2: bool) -> str:
    if parent is None:
        return f"{what}: none"
    return f"{what}: v{2 if v2 else 1} under {parent}"


def _cgroup_mounts() -> tuple[Path | None, dict[str, Path]]:
    """(cgroup2 mount, {v1 controller: mount})."""
    unified: Path | None = None
    v1: dict[str, Path] = {}
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _, mountpoint, fstype, options, *_ = line.split()
        if fstype == "cgroup2":
            unified = Path(mountpoint)
        elif fstype == "cgroup":
            for option in options.split(","):
                v1[option] = Path(mountpoint)
    return unified, v1


def _own_cgroups() -> dict[str, str]:
    """{controller: path} from /proc/self/cgroup; the v2 hierarchy is keyed ""."""
    own: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(","):
            own[controller] = path
    return own


def _writable_parent(mount: Path | None, own_path: str | None) -> Path | None:
    """Our own cgroup under `mount` if we may create children in it (tried, not guessed)."""
    if mount is None or own_path is None:
        return None
    parent = mount / own_path.lstrip("/")
    probe = parent / f"repairbot-probe-{uuid.uuid4().hex[:8]}"
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError:
        return None
    return parent


@functools.cache
def cgroup_layout() -> CgroupLayout:
    """Probed once per process: cgroup mounts do not change while we run."""
    unified_mount, v1_mounts = _cgroup_mounts()
    own = _own_cgroups()
    unified = _writable_parent(unified_mount, own.get(""))
    enabled = set((unified / "cgroup.subtree_control").read_text().split()) if unified else set()

    def pick(controller: str) -> tuple[Path | None, bool]:
        if controller in enabled:
            return unified, True
        return _writable_parent(v1_mounts.get(controller), own.get(controller)), False

    memory, memory_v2 = pick("memory")
    pids, pids_v2 = pick("pids")
    # v2 keeps cpu.stat's usage_usec in every cgroup, controller enabled or not.
    cpu, cpu_v2 = (unified, True) if unified else pick("cpuacct")
    layout = CgroupLayout(memory, memory_v2, pids, pids_v2, cpu, cpu_v2, unified)
    _remove_stale(layout)
    return layout


def _remove_stale(layout: CgroupLayout) -> None:
    """A worker killed hard (SIGKILL, OOM) cannot remove its runs' cgroups, and in rlimits
    mode its setsid() children may still live in them: the next worker cleans up. Best
    effort: what cannot be removed now is tried again by the next one."""
    names = {d.name for parent in layout.parents() for d in parent.glob("repairbot-*")}
    for name in names:
        if _owner_alive(name):
            continue
        stale = RunCgroup(layout, name)
        try:
            stale.kill()
            stale.drain()
            stale.remove()
        except (OSError, SandboxError):
            pass


def _owner_alive(name: str) -> bool:
    """Whether the worker named in `repairbot-<pid>-<id>` still runs (unknown: yes). Pids
    are this pid namespace's: workers sharing a parent cgroup must share it too."""
    owner = name.split("-")[1]
    return not owner.isdigit() or is_alive(int(owner))


def _read_key(path: Path, key: str) -> int:
    """The value of `key` in a flat-keyed cgroup file ("key value" lines); 0 if absent."""
    for line in path.read_text().splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            return int(value)
    return 0


@dataclass
class CgroupUsage:
    peak_memory_bytes: int | None
    cpu_time_s: float | None
    oom_kills: int
    pids_limit_hits: int


class RunCgroup:
    """The cgroups of one run: created before it starts, removed after its last process.
    Named after the worker's pid so that a later worker can tell leftovers of a dead one."""

    def __init__(self, layout: CgroupLayout, name: str) -> None:
        self.layout = layout
        self.dirs = {parent: parent / name for parent in layout.parents()}

    @classmethod
    def create(cls, layout: CgroupLayout, limits: SandboxLimits) -> RunCgroup:
        cgroup = cls(layout, f"repairbot-{os.getpid()}-{uuid.uuid4().hex[:12]}")
        try:
            for directory in cgroup.dirs.values():
                directory.mkdir()
            cgroup._set_limits(limits)
        except OSError:
            cgroup.remove()
            raise
        return cgroup

    def _dir(self, parent: Path | None) -> Path | None:
        return self.dirs[parent] if parent is not None else None

    def _set_limits(self, limits: SandboxLimits) -> None:
        memory = self._dir(self.layout.memory)
        if memory is not None and self.layout.memory_v2:
            (memory / "memory.max").write_text(str(limits.memory_bytes))
            _write_if_present(memory / "memory.swap.max", "0")
        elif memory is not None:
            (memory / "memory.limit_in_bytes").write_text(str(limits.memory_bytes))
            _write_if_present(memory / "memory.memsw.limit_in_bytes", str(limits.memory_bytes))
        pids = self._dir(self.layout.pids)
        if pids is not None:
            (pids / "pids.max").write_text(str(limits.max_processes))

    @property
    def limits_processes(self) -> bool:
        return self.layout.pids is not None

    def open_procs(self) -> list[int]:
        """Write-ends of cgroup.procs, opened here so the child can join before it execs."""
        return [os.open(d / "cgroup.procs", os.O_WRONLY | os.O_CLOEXEC) for d in self.dirs.values()]

    def pids(self) -> set[int]:
        found: set[int] = set()
        for directory in self.dirs.values():
            if directory.exists():
                found.update(int(p) for p in (directory / "cgroup.procs").read_text().split())
        return found

    def kill(self) -> None:
        """SIGKILL everything inside; cgroup.kill does it atomically, so a fork bomb cannot
        outrun it (the v1 fallback re-lists until empty, bounded by pids.max)."""
        unified = self._dir(self.layout.unified)
        if unified is not None and (unified / "cgroup.kill").exists():
            (unified / "cgroup.kill").write_text("1")
            return
        _kill_until_gone(self.pids)

    def drain(self) -> None:
        """Wait until the killed processes have really exited: only then is the run over."""
        deadline = time.monotonic() + CGROUP_DRAIN_S
        while self.pids():
            if time.monotonic() > deadline:
                raise SandboxError(f"processes survived the kill: {sorted(self.pids())}")
            time.sleep(0.002)

    def usage(self) -> CgroupUsage:
        return CgroupUsage(
            peak_memory_bytes=self._peak_memory(),
            cpu_time_s=self._cpu_time(),
            oom_kills=self._oom_kills(),
            pids_limit_hits=self._pids_limit_hits(),
        )

    def _peak_memory(self) -> int | None:
        memory = self._dir(self.layout.memory)
        if memory is None:
            return None
        peak = memory / ("memory.peak" if self.layout.memory_v2 else "memory.max_usage_in_bytes")
        return int(peak.read_text()) if peak.exists() else None

    def _cpu_time(self) -> float | None:
        cpu = self._dir(self.layout.cpu)
        if cpu is None:
            return None
        if self.layout.cpu_v2:
            return _read_key(cpu / "cpu.stat", "usage_usec") / 1e6
        return int((cpu / "cpuacct.usage").read_text()) / 1e9

    def _oom_kills(self) -> int:
        memory = self._dir(self.layout.memory)
        if memory is None:
            return 0
        events = "memory.events" if self.layout.memory_v2 else "memory.oom_control"
        return _read_key(memory / events, "oom_kill")

    def _pids_limit_hits(self) -> int:
        pids = self._dir(self.layout.pids)
        return _read_key(pids / "pids.events", "max") if pids is not None else 0

    def remove(self) -> None:
        """rmdir can briefly fail with EBUSY while the kernel finishes tearing down the
        exited tasks, so retry for a moment before giving up loudly."""
        deadline = time.monotonic() + CGROUP_DRAIN_S
        for directory in self.dirs.values():
            while directory.exists():
                try:
                    directory.rmdir()
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.005)


def _write_if_present(path: Path, value: str) -> None:
    """Swap accounting files exist only when the kernel accounts swap."""
    if path.exists():
        path.write_text(value)


def _kill_until_gone(list_pids: Callable[[], set[int]]) -> None:
    deadline = time.monotonic() + CGROUP_DRAIN_S
    while (pids := list_pids()) and time.monotonic() < deadline:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.001)


# --- the child's setup between fork and exec -----------------------------------------------

PR_SET_PDEATHSIG = 1


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _rlimits(limits: SandboxLimits, cgroup: RunCgroup | None) -> list[tuple[int, tuple[int, int]]]:
    rlimits = [
        (resource.RLIMIT_CORE, (0, 0)),
        (resource.RLIMIT_FSIZE, (limits.max_file_bytes, limits.max_file_bytes)),
        # SIGXCPU at the soft limit (reported as such), SIGKILL a second later if ignored.
        (resource.RLIMIT_CPU, (limits.cpu_time_s, limits.cpu_time_s + 1)),
    ]
    if cgroup is None or not cgroup.limits_processes:
        # Counts every process of the uid host-wide, and root ignores it: only a fallback.
        rlimits.append((resource.RLIMIT_NPROC, (limits.max_processes, limits.max_processes)))
    if limits.address_space_bytes is not None:
        size = limits.address_space_bytes
        rlimits.append((resource.RLIMIT_AS, (size, size)))
    return rlimits


def _child_setup(
    cgroup_fds: list[int], rlimits: list[tuple[int, tuple[int, int]]]
) -> Callable[[], None]:
    """Runs in the child before exec: joining the cgroup here (not after spawning) means
    not even the first fork of the command escapes it."""
    prctl = _libc().prctl

    def setup() -> None:
        for fd in cgroup_fds:
            os.write(fd, b"0")
        for which, values in rlimits:
            resource.setrlimit(which, values)
        # If this worker dies, its sandbox dies too (bwrap's --die-with-parent chains on).
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    return setup


# --- the bwrap command line -----------------------------------------------------------------


def python_paths() -> list[Path]:
    """Host dirs the test command needs to run this interpreter and import its packages
    (pytest and the project's dependencies); the sandbox binds them read-only."""
    candidates = {
        sys.base_prefix, sys.prefix, sysconfig.get_path("stdlib"),
        sysconfig.get_path("purelib"), sysconfig.get_path("platlib"),
        os.path.dirname(os.path.realpath(sys.executable)),
    }
    return [Path(p) for p in candidates if p and os.path.isdir(p)]


def _outermost(paths: Iterable[Path]) -> list[Path]:
    """Drop paths inside other paths (one bind covers them) and inside the system dirs."""
    kept: list[Path] = []
    for path in sorted(set(paths)):
        if not any(path.is_relative_to(k) for k in [*kept, *map(Path, SYSTEM_DIRS)]):
            kept.append(path)
    return kept


def _view_args(workdir: Path, ro_paths: Sequence[Path], nested: bool) -> list[str]:
    """bwrap arguments building the filesystem: read-only system + Python, private /tmp,
    writable work dir, nothing else of the host (no /home, /root, /run, /var, /sys)."""
    args: list[str] = []
    for name in SYSTEM_DIRS:
        path = Path(name)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), name]
        elif path.is_dir():
            args += ["--ro-bind", name, name]
    for secret in SECRET_PATHS:
        if os.path.isdir(secret):
            args += ["--tmpfs", secret]
        elif os.path.lexists(secret):
            args += ["--ro-bind", "/dev/null", secret]
    # The inner bwrap may only mount a fresh /proc where a full procfs is already visible;
    # the outer one's --proc has covered subdirs, so it binds the host's instead (hidden
    # under the inner /proc, and locked there).
    args += ["--bind", "/proc", "/proc"] if nested else ["--proc", "/proc"]
    args += ["--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp",
             "--perms", "1777", "--tmpfs", "/dev/shm"]
    bound = [Path(p) for p in SYSTEM_DIRS]
    made = {Path("/"), *map(Path, VIEW_MOUNTS)}
    for path in ro_paths:
        args += _parent_dir_args(path, bound, made) + ["--ro-bind", str(path), str(path)]
        bound.append(path)
    args += _parent_dir_args(workdir, bound, made) + ["--bind", str(workdir), str(workdir)]
    return args


def _parent_dir_args(dest: Path, bound: list[Path], made: set[Path]) -> list[str]:
    """Create the ancestors of `dest` the view lacks. Left to itself bwrap makes them mode
    0700, root-owned, which the sandbox uid could not traverse to reach `dest`."""
    args: list[str] = []
    for parent in reversed(dest.parents):
        if parent in made or any(parent.is_relative_to(b) for b in bound):
            continue
        args += ["--perms", "0755", "--dir", str(parent)]
        made.add(parent)
    return args


ISOLATION_ARGS = [
    "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
    "--new-session", "--cap-drop", "ALL",
]


# --- the sandbox ----------------------------------------------------------------------------


@dataclass
class Sandbox:
    mode: SandboxMode
    description: str  # which mode and why; callers record it with the job
    cgroups: CgroupLayout
    uid: int = field(default_factory=os.getuid)  # who the command runs as
    gid: int = field(default_factory=os.getgid)
    # Host dirs bound read-only besides the system ones (bwrap): Python's and the caller's.
    ro_paths: list[Path] = field(default_factory=list)

    def prepare_workdir(self, workdir: Path) -> None:
        """Give a (per-run) work copy to the sandbox uid so the tests can write in it.

        Called once per copy, not per run. Afterwards root's own git refuses the copy
        ("dubious ownership") unless `safe.directory` is set for it.
        """
        if self.uid == os.getuid():
            return
        os.chown(workdir, self.uid, self.gid)
        for root, dirs, files in os.walk(workdir):
            for name in dirs + files:
                os.lchown(os.path.join(root, name), self.uid, self.gid)

    def run(
        self, argv: list[str], workdir: Path, limits: SandboxLimits, env: dict[str, str]
    ) -> SandboxResult:
        """Run `argv` in `workdir` with exactly `env` (plus, in bwrap mode, HOME and TMPDIR
        on the private /tmp: the caller's would point at host dirs the sandbox cannot see)."""
        workdir = workdir.resolve()
        self._check_workdir(workdir)
        _check_runnable(argv[0], workdir, env)
        cgroup = RunCgroup.create(self.cgroups, limits) if self.cgroups.parents() else None
        try:
            return self._run(argv, workdir, limits, env, cgroup)
        finally:
            if cgroup is not None:
                cgroup.remove()

    def _check_workdir(self, workdir: Path) -> None:
        if not workdir.is_dir():
            raise SandboxError(f"work dir {workdir} does not exist")
        if self.mode == "bwrap" and workdir.stat().st_uid != self.uid:
            raise SandboxError(
                f"work dir {workdir} is not owned by the sandbox uid {self.uid}: "
                "call Sandbox.prepare_workdir() on the copy first"
            )

    def _run(
        self, argv: list[str], workdir: Path, limits: SandboxLimits, env: dict[str, str],
        cgroup: RunCgroup | None,
    ) -> SandboxResult:
        with tempfile.TemporaryFile(prefix="repairbot-output-") as out:
            start = time.monotonic()
            proc = self._spawn(argv, workdir, limits, env, out, cgroup)
            try:
                timed_out = not _exits_within(proc.pid, limits.timeout_s)
                duration = time.monotonic() - start
            finally:
                _kill_everything(proc.pid, cgroup)
                _, status, rusage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            if cgroup is not None:
                cgroup.drain()
            output, output_size = _tail(out, limits.output_tail_bytes)
        usage = cgroup.usage() if cgroup is not None else self._rusage_usage(rusage)
        exit_code = None if timed_out else _shell_exit_code(proc.returncode)
        return SandboxResult(
            exit_code=exit_code,
            output=output,
            duration_s=duration,
            timed_out=timed_out,
            violation=_violation(usage, exit_code, timed_out, output_size, limits),
            peak_memory_bytes=usage.peak_memory_bytes,
            cpu_time_s=usage.cpu_time_s,
            mode=self.mode,
        )

    def _spawn(
        self, argv: list[str], workdir: Path, limits: SandboxLimits, env: dict[str, str],
        out: BinaryIO, cgroup: RunCgroup | None,
    ) -> subprocess.Popen[bytes]:
        cgroup_fds = cgroup.open_procs() if cgroup is not None else []
        try:
            return subprocess.Popen(
                self.command(argv, workdir),
                cwd=workdir,
                env=self._env(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_child_setup(cgroup_fds, _rlimits(limits, cgroup)),
            )
        except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
            raise CommandNotRunnable(f"cannot run {argv[0]!r}: {exc.strerror or exc}") from exc
        finally:
            for fd in cgroup_fds:
                os.close(fd)

    def _rusage_usage(self, rusage: resource.struct_rusage) -> CgroupUsage:
        """Without a cgroup: the direct child and the descendants it waited for. bwrap's
        monitor exits without reaping the namespace's init, so there it measures only bwrap
        and is not reported."""
        if self.mode == "bwrap":
            return CgroupUsage(None, None, oom_kills=0, pids_limit_hits=0)
        return CgroupUsage(
            peak_memory_bytes=rusage.ru_maxrss * KiB,
            cpu_time_s=rusage.ru_utime + rusage.ru_stime,
            oom_kills=0,
            pids_limit_hits=0,
        )

    def _env(self, env: dict[str, str]) -> dict[str, str]:
        if self.mode == "rlimits":
            return dict(env)
        return {**env, "HOME": SANDBOX_HOME, "TMPDIR": SANDBOX_HOME}

    def command(self, argv: list[str], workdir: Path) -> list[str]:
        """The full command line `run` starts (public for logs and debugging)."""
        if self.mode == "rlimits":
            return list(argv)
        inner = [*ISOLATION_ARGS, "--chdir", str(workdir), "--", *argv]
        if self.uid == os.getuid():
            return [_tool("bwrap"), *_view_args(workdir, self.ro_paths, nested=False), *inner]
        return [
            _tool("bwrap"), "--unshare-pid", "--die-with-parent",
            *_view_args(workdir, self.ro_paths, nested=True),
            "--", _tool("setpriv"), f"--reuid={self.uid}", f"--regid={self.gid}",
            "--clear-groups", "--",
            # --dev-bind: a plain --bind would add nodev and break /dev/null (pytest opens
            # it); the devices are only the outer view's null, zero, random, tty...
            _tool("bwrap"), "--dev-bind", "/", "/", "--proc", "/proc", *inner,
        ]


def _check_runnable(program: str, workdir: Path, env: dict[str, str]) -> None:
    """Checked on the host so that a missing tool reads the same in both modes: inside
    bwrap it would only be an exit code 1 and a message."""
    if "/" in program:
        found: str | None = str(workdir / program)
    else:
        found = shutil.which(program, path=env.get("PATH", os.defpath))
    if found is None or not os.access(found, os.X_OK):
        raise CommandNotRunnable(f"cannot run {program!r}: not found or not executable")


def _tool(name: str) -> str:
    """Absolute path: the command's PATH is the caller's business, not ours."""
    path = shutil.which(name, path="/usr/bin:/bin:/usr/sbin:/sbin")
    if path is None:
        raise SandboxUnavailable(f"{name} is not installed")
    return path


def _exits_within(pid: int, timeout_s: float) -> bool:
    """Wait for exit without reaping (the process group must stay killable by its id)."""
    pidfd = os.pidfd_open(pid)
    try:
        ready, _, _ = select.select([pidfd], [], [], timeout_s)
    finally:
        os.close(pidfd)
    return bool(ready)


def _kill_everything(pid: int, cgroup: RunCgroup | None) -> None:
    """Also after a normal exit: children may linger, and a setsid() one escapes the group,
    which is why the cgroup (or bwrap's pid namespace) is killed as well."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    if cgroup is not None:
        cgroup.kill()


def _tail(out: BinaryIO, size: int) -> tuple[str, int]:
    """The output's last `size` bytes and its full size (to tell whether it hit the cap)."""
    total = out.seek(0, os.SEEK_END)
    out.seek(max(0, total - size))
    return out.read().decode("utf-8", errors="replace"), total


def _shell_exit_code(returncode: int) -> int:
    """128+N for death by signal N, as bwrap reports it, so both modes read the same."""
    return 128 - returncode if returncode < 0 else returncode


def _violation(
    usage: CgroupUsage, exit_code: int | None, timed_out: bool, output_size: int,
    limits: SandboxLimits,
) -> str | None:
    """The limit that ended (or hampered) the run. In bwrap mode a death by signal is only
    visible as exit code 128+N, so a command exiting 130 on its own reads as signal 2."""
    if usage.oom_kills:
        return "memory limit"
    if usage.pids_limit_hits:
        return "process limit"
    if output_size >= limits.max_file_bytes:
        return "file size limit"  # the output file; Python ignores SIGXFSZ and gets EFBIG
    if exit_code is not None and 128 < exit_code < 128 + signal.NSIG:
        number = exit_code - 128
        if number == signal.SIGXCPU:
            return "cpu time limit"
        if number == signal.SIGXFSZ:
            return "file size limit"
        return f"killed by signal {number}"
    return "wall-clock limit" if timed_out else None


# --- choosing a mode ------------------------------------------------------------------------


def _bwrap_sandbox(cgroups: CgroupLayout, ro_paths: Sequence[Path]) -> Sandbox:
    root = os.getuid() == 0
    uid, gid = (SANDBOX_UID, SANDBOX_GID) if root else (os.getuid(), os.getgid())
    how = (
        f"caller is root: a privileged outer bwrap builds the read-only view, setpriv drops "
        f"to uid {uid}, an unprivileged inner bwrap unshares all namespaces"
        if root else f"unprivileged bwrap as uid {uid}, all namespaces unshared"
    )
    return Sandbox(
        mode="bwrap",
        description=f"bwrap as uid {uid} ({_user_name(uid)}; {how}); {cgroups.describe()}",
        cgroups=cgroups,
        uid=uid,
        gid=gid,
        ro_paths=_outermost([*python_paths(), *(Path(p).resolve() for p in ro_paths)]),
    )


def _rlimits_sandbox(reason: str, cgroups: CgroupLayout) -> Sandbox:
    uid = os.getuid()
    return Sandbox(
        mode="rlimits",
        description=(
            f"rlimits only: {reason}; no filesystem, network or environment isolation "
            f"(runs as uid {uid}, {_user_name(uid)}); {cgroups.describe()}"
        ),
        cgroups=cgroups,
    )


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return "no passwd entry"


@functools.cache
def bwrap_failure() -> str | None:
    """Why bubblewrap cannot sandbox here, or None if it can. Probed once, by actually
    running a trivial command the way `run` would: user namespaces, setpriv and mounts can
    each fail in ways that only show when tried."""
    try:
        sandbox = _bwrap_sandbox(cgroup_layout(), ())
        base = Path(tempfile.mkdtemp(prefix="repairbot-probe-"))
    except SandboxUnavailable as exc:
        return str(exc)
    try:
        base.chmod(0o711)
        workdir = base / "work"
        workdir.mkdir()
        sandbox.prepare_workdir(workdir)
        result = sandbox.run([_tool("true")], workdir, SandboxLimits(timeout_s=20), {})
    except (SandboxError, OSError) as exc:
        return str(exc)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    if result.exit_code != 0:
        return f"a trivial command failed (exit {result.exit_code}): {result.output.strip()}"
    return None


def detect_sandbox(preferred: Preference = "auto", ro_paths: Sequence[Path] = ()) -> Sandbox:
    """The sandbox to use: bwrap if it works here ("auto", "bwrap"), else rlimits ("auto",
    "none"). "bwrap" raises SandboxUnavailable rather than silently running unconfined.
    `ro_paths`: extra host dirs the tests need read-only (a Maven repository, a JDK
    outside /usr, a Defects4J checkout)."""
    if preferred not in ("auto", "bwrap", "none"):
        raise ValueError(f"unknown sandbox preference {preferred!r}")
    cgroups = cgroup_layout()
    if preferred == "none":
        return _rlimits_sandbox("sandboxing disabled by configuration", cgroups)
    failure = bwrap_failure()
    if failure is None:
        return _bwrap_sandbox(cgroups, ro_paths)
    if preferred == "bwrap":
        raise SandboxUnavailable(f"bubblewrap does not work here: {failure}")
    return _rlimits_sandbox(f"bubblewrap does not work here ({failure})", cgroups)
