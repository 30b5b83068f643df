"""The isolation layers each service under attack has, and the isolation modes: the layers
match the capabilities the service holds, `strict` refuses to start without its layers, `none` is
loud."""

from pathlib import Path

import pytest

from executor.testing import (
    CAP_NAMES,
    DOCKER_DEFAULT_CAPS,
    HostService,
    with_docker_default_capabilities,
    without_capabilities,
)
from tests.hostile.support import ALL_CAPS, CONTAINER, DOCKER_CAPS, Hostile
from tests.support import REPO, start_service


def test_layers_match_the_capabilities(hostile: Hostile) -> None:
    """1. For each service under attack, read /info and the service's own capability set and
    seccomp mode. Expected: uid drop and seccomp active in every mode; namespaces active only
    with CAP_SYS_ADMIN, else inactive with the reason; in a container, Docker's default set and
    its seccomp profile (filter mode), as on ACA."""
    for target in hostile.each():
        status = dict(
            line.split(":\t", 1)
            for line in Path(f"/proc/{target.pid}/status").read_text().splitlines()
            if ":\t" in line
        )
        caps = int(status["CapEff"], 16)
        held = {name for bit, name in enumerate(CAP_NAMES) if caps >> bit & 1}
        layers = {layer["name"]: layer for layer in target.info["isolation"]["layers"]}
        assert layers["uid_drop"]["active"] is True
        assert layers["seccomp"]["active"] is True
        if hostile.mode == ALL_CAPS:
            assert "sys_admin" in held
            assert layers["namespaces"]["active"] is True
        else:
            assert held <= DOCKER_DEFAULT_CAPS, held - DOCKER_DEFAULT_CAPS
            assert layers["namespaces"]["active"] is False
            assert "CAP_SYS_ADMIN" in layers["namespaces"]["detail"]
        if hostile.mode == CONTAINER:
            assert held == DOCKER_DEFAULT_CAPS, held ^ DOCKER_DEFAULT_CAPS
            assert status["Seccomp"] == "2", status  # SECCOMP_MODE_FILTER: Docker's profile


def test_info_lists_layers_with_reasons(hostile: Hostile) -> None:
    """1. GET /info of each service under attack. Expected: uid_drop, seccomp, landlock,
    namespaces and scheduling, each with a boolean and a non-empty reason; here (kernel 6.18)
    Landlock with socket and signal scoping, and SCHED_IDLE, in every mode; a uid pool of
    3 * concurrency - 1 (runs, the cleanups of the last ones, idle runners; a concurrency of 4
    as the host services are set, a replica's default in a container), all usable; the
    mode."""
    bases = set()
    for target in hostile.each():
        body = target.service.client.get("/info").json()
        info = body["isolation"]
        assert info["mode"] == "auto"
        names = ["uid_drop", "seccomp", "landlock", "namespaces", "scheduling"]
        assert [layer["name"] for layer in info["layers"]] == names
        for layer in info["layers"]:
            assert isinstance(layer["active"], bool) and layer["detail"].strip()
        layers = {layer["name"]: layer for layer in info["layers"]}
        assert layers["landlock"]["active"], layers["landlock"]
        assert "scoped to the run" in layers["landlock"]["detail"]
        assert layers["scheduling"]["active"], layers["scheduling"]
        assert info["uid_pool"]["usable"] == info["uid_pool"]["size"]
        assert info["uid_pool"]["retired"] == []
        concurrency = body["load"]["concurrency"]
        assert info["uid_pool"]["size"] == 3 * concurrency - 1
        if hostile.mode == CONTAINER:
            assert concurrency >= 2  # the replica's default, at least 2
        else:
            assert concurrency == 4  # EXECUTOR_MAX_CONCURRENCY from tests/support.py
        assert info["uid_pool"]["base"] >= 1000
        bases.add(info["uid_pool"]["base"])
    # Replicas on one host must not share uids: each container drew its own pool.
    assert len(bases) == len(hostile.each())


@pytest.mark.system
@pytest.mark.parametrize("mode", [ALL_CAPS, DOCKER_CAPS])
def test_strict_mode_starts_here(tmp_path: Path, mode: str) -> None:
    """1. Start with EXECUTOR_ISOLATION=strict, with all capabilities or Docker's default set.
    Expected: ready, uid drop and seccomp active, a hello world runs."""
    with start_service(
        tmp_path,
        {"EXECUTOR_ISOLATION": "strict", "EXECUTOR_LANGUAGES": "python"},
        launcher=with_docker_default_capabilities() if mode == DOCKER_CAPS else None,
    ) as svc:
        info = svc.client.get("/info").json()["isolation"]
        assert info["mode"] == "strict" and info["warning"] is None
        active = {layer["name"] for layer in info["layers"] if layer["active"]}
        assert {"uid_drop", "seccomp"} <= active
        assert svc.run_program("python", "hello")["stdout"] == "Hello, world!\n"


@pytest.mark.system
def test_strict_mode_refuses_without_the_uid_drop(tmp_path: Path) -> None:
    """1. Start with EXECUTOR_ISOLATION=strict without CAP_SETUID and CAP_SETGID, so the uid
    drop cannot work. Expected: the service exits with code 3 before listening, and its log
    names the missing layer and why."""
    env = {"EXECUTOR_ISOLATION": "strict", "EXECUTOR_LANGUAGES": "python"}
    launcher = without_capabilities(["setuid", "setgid"])
    with HostService.spawn(env=env, launcher=launcher, log_dir=tmp_path, cwd=REPO) as svc:
        returncode = svc.process.wait(timeout=60)
        text = svc.log()
    assert returncode == 3, text
    assert "EXECUTOR_ISOLATION=strict" in text and "uid_drop" in text, text


@pytest.mark.system
def test_none_mode_is_loud(tmp_path: Path) -> None:
    """1. Start with EXECUTOR_ISOLATION=none. Expected: /info has a warning and every layer
    inactive with the reason; the log has a WARNING naming the setting."""
    with start_service(
        tmp_path, {"EXECUTOR_ISOLATION": "none", "EXECUTOR_LANGUAGES": "python"}
    ) as svc:
        info = svc.client.get("/info").json()["isolation"]
        assert info["mode"] == "none"
        assert "OFF" in info["warning"] and "Development only" in info["warning"]
        assert info["uid_pool"] is None
        for layer in info["layers"]:
            assert layer["active"] is False
            assert "EXECUTOR_ISOLATION=none" in layer["detail"]
        warnings = [line for line in svc.log().splitlines() if " WARNING " in line]
        assert any("EXECUTOR_ISOLATION=none" in line for line in warnings), svc.log()
