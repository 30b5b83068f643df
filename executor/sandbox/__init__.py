"""The sandbox: runs commands in fresh boxes under limits. Knows no language and no HTTP.

Callers use only the names below: open a Sandbox, take a Box per submission, run commands in
it, read the Outcome (see box.py).
"""

from executor.sandbox.box import Box, Sandbox, SandboxConfig
from executor.sandbox.child import same_setup
from executor.sandbox.layers import IsolationMode, IsolationUnavailable
from executor.sandbox.resident import Resident, ResidentFailed
from executor.sandbox.runner import Runner, RunnerState
from executor.sandbox.spawn import HelperUnavailable, SpawnError
from executor.sandbox.spec import KillReason, Outcome, ResourceLimits
from executor.sandbox.supervise import RunnerRun, ZygoteRun
from executor.sandbox.zygote import Zygote

__all__ = [
    "Box",
    "HelperUnavailable",
    "IsolationMode",
    "IsolationUnavailable",
    "KillReason",
    "Outcome",
    "Resident",
    "ResidentFailed",
    "ResourceLimits",
    "Runner",
    "RunnerRun",
    "RunnerState",
    "Sandbox",
    "SandboxConfig",
    "SpawnError",
    "Zygote",
    "ZygoteRun",
    "same_setup",
]
