"""The isolation probes' rule for the namespaces layer and the directories runs must reach."""

import asyncio
import os
from pathlib import Path

from executor.sandbox.identity import RunIdentity, random_uid_base
from executor.sandbox.layers import IsolationMode, detect_isolation, hidden_by_mount_namespace
from executor.sandbox.spawn import SpawnHelper


def test_a_directory_below_a_place_the_mount_namespace_replaces_is_named(tmp_path: Path) -> None:
    """Expected: a path below /tmp, /var/tmp or /dev/shm (or one of them), directly or through
    a symlink, gives the reason naming it and the setting to change; others give None."""
    link = tmp_path / "elsewhere"
    os.symlink("/dev/shm", link)
    for path in ("/tmp", "/tmp/runs", "/var/tmp/executor-cache", "/dev/shm/x", str(link)):
        reason = hidden_by_mount_namespace(("/var/lib/executor-runs", path))
        assert reason is not None and reason.startswith(f"{path} lies in /"), (path, reason)
        assert "EXECUTOR_RUNS_DIR" in reason
    for path in ("/var/lib/executor-runs", "/tmpfiles", "/var/lib/tmp", "/"):
        assert hidden_by_mount_namespace((path,)) is None, path


def test_the_namespaces_stay_off_when_runs_could_not_reach_their_directories(
    helper: SpawnHelper, reachable_dir: Path
) -> None:
    """1. Probe the layers with the runs' directories outside /tmp, then with the runners'
    directory below it. Expected: where namespaces work here, the second probe has them off,
    its reason naming that directory; where they cannot be made (not root, or Docker's default
    capabilities), both give the same reason."""
    base = random_uid_base(1)

    def probe(*run_paths: str) -> dict[str, tuple[bool, str]]:
        isolation = asyncio.run(
            detect_isolation(
                IsolationMode.AUTO,
                probe_identity=RunIdentity(uid=base, gid=base),
                seccomp_problem=None,
                helper=helper,
                probe_dir=str(reachable_dir),
                run_paths=run_paths,
            )
        )
        return {layer.name: (layer.active, layer.detail) for layer in isolation.layers}

    elsewhere = probe(str(reachable_dir))
    below_tmp = probe(str(reachable_dir), "/tmp/executor-cache")
    active, _ = elsewhere["namespaces"]
    if active:
        assert below_tmp["namespaces"][0] is False
        assert below_tmp["namespaces"][1].startswith("/tmp/executor-cache lies in /tmp")
    else:
        assert below_tmp["namespaces"] == elsewhere["namespaces"]
    # The other layers do not depend on it.
    del elsewhere["namespaces"], below_tmp["namespaces"]
    assert below_tmp == elsewhere
