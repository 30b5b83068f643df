"""The peers' routes are registered without importing their modules, and each names a real
endpoint of its module."""

import importlib
import inspect
import subprocess
import sys

from executor.compat import routes


def test_every_peer_route_names_an_endpoint_of_its_module() -> None:
    # 1. Each route's endpoint is a stand-in that imports its module on the first call.
    # 2. The name it hands over to must be an async function of that module.
    for route in routes.ROUTES:
        module_name = routes.PISTON if route.path.startswith("/api/v2") else routes.JUDGE0
        handler = getattr(importlib.import_module(module_name), route.name)
        assert inspect.iscoroutinefunction(handler), (route.path, route.name)


def test_making_the_app_imports_neither_peer_module() -> None:
    # 1. A fresh interpreter imports the service's entry point and makes its app.
    # 2. Neither peer's module was loaded: their cost is paid on their first request only.
    probe = (
        "import sys; from executor.app import create_app; from executor.settings import Settings;"
        "create_app(Settings.from_environ({}));"
        "print(sorted(m for m in sys.modules if m.startswith('executor.compat')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert "executor.compat.piston" not in loaded
    assert "executor.compat.judge0'" not in loaded
    assert "executor.compat.routes" in loaded
