"""Maps a requested language name or alias (and optional version) to a runtime offered here."""

from dataclasses import dataclass

from executor.errors import UnknownLanguage, VersionUnavailable
from executor.languages.java import java_plan
from executor.languages.node import node_plan
from executor.languages.plan import LanguagePlan, Toolchain
from executor.languages.python import python_plan


@dataclass(frozen=True)
class Runtime:
    """A language plan bound to a toolchain that passed its self-test on this machine."""

    plan: LanguagePlan
    toolchain: Toolchain

    @property
    def language(self) -> str:
        return self.plan.name

    @property
    def version(self) -> str:
        return self.toolchain.version


def all_plans() -> list[LanguagePlan]:
    """Every language this service knows, whether or not its toolchain is installed."""
    return [python_plan(), node_plan(), java_plan()]


class RuntimeRegistry:
    """The runtimes offered on this replica, looked up by name or alias."""

    def __init__(self, runtimes: list[Runtime]) -> None:
        self.runtimes = runtimes
        self._by_name: dict[str, Runtime] = {}
        for runtime in runtimes:
            for name in (runtime.plan.name, *runtime.plan.aliases):
                self._by_name.setdefault(name, runtime)

    def resolve(self, language: str, *, version: str | None = None) -> Runtime:
        """The runtime for ``language`` (case-insensitive name or alias).

        Raises UnknownLanguage when no such language is offered here, and VersionUnavailable when
        ``version`` is given and is neither the installed version nor a prefix of it ("3.11"
        matches "3.11.2").
        """
        runtime = self._by_name.get(language.strip().lower())
        if runtime is None:
            offered = sorted(r.language for r in self.runtimes)
            raise UnknownLanguage(
                f"language {language!r} is not available here; available: {', '.join(offered)}",
                available=offered,
            )
        if version is not None and not _version_matches(runtime.version, version):
            raise VersionUnavailable(
                f"{runtime.language} {version} is not installed; installed: {runtime.version}",
                installed=runtime.version,
            )
        return runtime


def _version_matches(installed: str, wanted: str) -> bool:
    wanted = wanted.strip().lstrip("v")
    return installed == wanted or installed.startswith(wanted + ".")
