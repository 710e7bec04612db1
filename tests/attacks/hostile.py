"""What the attack tests share: both sandbox modes, and a pytest runner in one of them."""

from __future__ import annotations

import pytest

from validators.pytest_runner import PytestRunner, choose_sandbox
from validators.sandbox import SandboxUnavailable

# Each attack runs in bubblewrap and in rlimits mode ("none"): what repairbot does on the
# host side must hold even where the sandbox is only resource limits.
SANDBOXES = ["bwrap", "none"]


def sandboxed_runner(mode: str) -> PytestRunner:
    try:
        return PytestRunner(sandbox=choose_sandbox(mode))  # type: ignore[arg-type]
    except SandboxUnavailable as exc:
        pytest.skip(str(exc))
