"""Node.js: V8 capped by --max-old-space-size (its address-space reservations are far too big
for RLIMIT_AS); runs handed to a runner started ahead (runner.js)."""

import contextlib
import hashlib
import os
import re
import tempfile
from importlib import resources

from executor.languages.plan import LanguagePlan, MemoryStrategy, RunnerPlan, Toolchain
from executor.languages.toolchain import candidates, probe_output

# Node's own options, before the entry file: a runner has the same, plus its preload module.
NODE_FLAGS = ("{interpreter}", "--max-old-space-size={heap_mb}")


def find_node() -> list[str]:
    """node binaries on PATH or in the usual places."""
    return candidates(["node", "nodejs"], ["/usr/bin/node", "/usr/local/bin/node"])


def probe_node(node: str) -> Toolchain | None:
    """The version ``node --version`` prints (v24.22.3 → 24.22.3), or None. Node answers it
    before it starts V8: 6-9 ms in the Node image at --cpus 0.5, against 80-96 ms for a start
    that runs a script (measured with bash's time, three each)."""
    match = re.fullmatch(r"v(\d+(?:\.\d+)*)", (probe_output([node, "--version"]) or "").strip())
    return Toolchain(version=match.group(1), interpreter=node) if match else None


def node_plan() -> LanguagePlan:
    return LanguagePlan(
        name="node",
        aliases=("javascript", "js", "nodejs"),
        source_suffix=".js",
        default_main="main.js",
        run_argv=(*NODE_FLAGS, "{main}", "{args}"),
        # Parses the entry file as `node` would run it (CommonJS or ES module) and runs nothing;
        # after `--` a file name is never read as an option.
        check_argv=("{interpreter}", "--check", "--", "{main}"),
        memory_strategy=MemoryStrategy.HEAP_FLAG,
        # Measured: a hello world maps 0.7 GB (Node) and 2.7 GB (Java, 40 threads, -Xmx192m);
        # four Node workers 3.4 GB.
        address_space_slack_mb=4096,
        oom_markers=(re.compile(r"JavaScript heap out of memory"),),
        # child_process's spawn and libuv's threads under RLIMIT_NPROC.
        process_limit_markers=(re.compile(r"EAGAIN|Resource temporarily unavailable"),),
        # Runs after /readyz: before it, a cold node (about 45 ms of CPU) put the Node image's
        # docker run → /readyz over a second at --cpus 0.5 (1082 ms, against 947 ms for
        # Python's image and 950 ms for Java's: images/measure.py, load average 0.7).
        self_test_source="console.log('hello');\n",
        find_binaries=find_node,
        probe_toolchain=probe_node,
        # Node reads the entry file's name before the preload module runs: a runner serves
        # main.js (what `code` is saved as); another entry file starts cold.
        runner=RunnerPlan(
            argv=(*NODE_FLAGS, "--require", "{runner}", "{main}"),
            entry="{main}",
            build=runner_script,
            main="main.js",
        ),
    )


def runner_script(toolchain: Toolchain, cache_dir: str) -> str:
    """The runner's preload module: runner.js of this package, copied (once per version) into
    ``cache_dir``, where the runs' uids can read it. The package itself may be out of their
    reach: under /root (mode 0700), or under /tmp, which a run with a mount namespace sees as
    its own."""
    source = (resources.files("executor.languages.node") / "runner.js").read_bytes()
    target = os.path.join(cache_dir, f"node-runner-{hashlib.sha256(source).hexdigest()[:16]}.js")
    if os.path.isfile(target):
        return target
    os.makedirs(cache_dir, mode=0o755, exist_ok=True)
    fd, scratch = tempfile.mkstemp(prefix=".node-runner-", suffix=".js", dir=cache_dir)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(source)
        os.chmod(scratch, 0o644)
        os.replace(scratch, target)  # atomic: a concurrent start sees none or all of it
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(scratch)
        raise
    return target
