"""deploy/terraform, checked offline: no provider can be downloaded here, so python-hcl2 parses
every file and the tests assert the settings the design depends on. `terraform fmt -check` runs
in deploy/terraform/check where a terraform binary exists (it is not a test: a test that passes
when the tool is missing would hide it)."""

from pathlib import Path
from typing import Any

import hcl2
import pytest

TERRAFORM = Path(__file__).resolve().parents[2] / "deploy" / "terraform"
LANGUAGES = {"python", "node", "java"}


def parse(path: Path) -> dict[str, Any]:
    options = hcl2.SerializationOptions(strip_string_quotes=True, with_comments=False)
    with open(path) as file:
        return hcl2.load(file, serialization_options=options)


@pytest.fixture(scope="module")
def module() -> dict[str, Any]:
    """Every block of the module, merged: {"variable": {name: body}, "resource": {type: {name:
    body}}, "locals": {...}, ...}."""
    merged: dict[str, Any] = {"variable": {}, "resource": {}, "data": {}, "output": {}}
    merged["locals"] = {}
    for path in sorted(TERRAFORM.glob("*.tf")):
        for kind, blocks in parse(path).items():
            if kind in ("variable", "output"):
                for block in blocks:
                    merged[kind].update(block)
            elif kind in ("resource", "data"):
                for block in blocks:
                    for type_name, named in block.items():
                        merged[kind].setdefault(type_name, {}).update(named)
            elif kind == "locals":
                for block in blocks:
                    merged["locals"].update(block)
            else:
                merged.setdefault(kind, []).extend(blocks)
    return merged


def app(module: dict[str, Any]) -> dict[str, Any]:
    return module["resource"]["azapi_resource"]["app"]


def container(module: dict[str, Any]) -> dict[str, Any]:
    [only] = app(module)["body"]["properties"]["template"]["containers"]
    return only


def test_providers_are_azurerm_and_azapi_pinned(module: dict[str, Any]) -> None:
    [terraform] = module["terraform"]
    [providers] = terraform["required_providers"]
    assert providers["azurerm"]["source"] == "hashicorp/azurerm"
    assert providers["azapi"]["source"] == "Azure/azapi"
    assert providers["azurerm"]["version"].startswith("~>")
    assert providers["azapi"]["version"].startswith("~>")


def test_the_shared_pieces_are_created_or_taken(module: dict[str, Any]) -> None:
    """Resource group, Log Analytics, environment and registry each have a count that is 0
    when an existing one is given; the pull identity has AcrPull on the registry."""
    resources = module["resource"]
    assert "create_resource_group" in resources["azurerm_resource_group"]["this"]["count"]
    assert (
        "log_analytics_workspace_id"
        in resources["azurerm_log_analytics_workspace"]["this"]["count"]
    )
    environment = resources["azurerm_container_app_environment"]["this"]
    assert "container_app_environment_id == null" in environment["count"]
    [profile] = environment["workload_profile"]
    assert profile["workload_profile_type"] == "Consumption"
    registry = resources["azurerm_container_registry"]["this"]
    assert registry["count"] == "${var.registry == null ? 1 : 0}"
    assert registry["admin_enabled"] is False
    role = resources["azurerm_role_assignment"]["pull"]
    assert role["role_definition_name"] == "AcrPull"
    assert role["principal_id"] == "${azurerm_user_assigned_identity.pull.principal_id}"


def test_one_app_per_language_through_azapi_with_up_to_1000_replicas(
    module: dict[str, Any],
) -> None:
    """azurerm_container_app caps max_replicas at 300; the apps are azapi resources and the
    variables accept the platform's 1,000."""
    assert "azurerm_container_app" not in module["resource"]
    resource = app(module)
    assert resource["type"] == "Microsoft.App/containerApps@2025-01-01"
    assert resource["for_each"] == '${var.mode == "session_pool" ? toset([]) : local.languages}'
    scale = resource["body"]["properties"]["template"]["scale"]
    assert scale["maxReplicas"] == "${lookup(var.max_replicas, each.key, 100)}"
    assert scale["minReplicas"] == "${lookup(var.min_replicas, each.key, 0)}"
    for name in ("min_replicas", "max_replicas"):
        [validation] = module["variable"][name]["validation"]
        assert "n <= 1000" in validation["condition"]
    assert set(module["variable"]["images"]["default"]) == LANGUAGES


def test_ingress_on_8080_internal_by_default_and_pulls_through_the_identity(
    module: dict[str, Any],
) -> None:
    configuration = app(module)["body"]["properties"]["configuration"]
    assert configuration["ingress"]["targetPort"] == 8080
    assert configuration["ingress"]["external"] == "${var.ingress_external}"
    assert module["variable"]["ingress_external"]["default"] is False
    [registry] = configuration["registries"]
    assert registry["identity"] == "${azurerm_user_assigned_identity.pull.id}"
    assert configuration["secrets"] == "${local.secrets}"


def test_api_keys_are_a_secret_given_by_reference(module: dict[str, Any]) -> None:
    """The keys live in the secret store; the container gets EXECUTOR_API_KEYS by secretRef,
    never as a plain value; the variable is sensitive and empty by default (today's service
    refuses an unknown EXECUTOR_* variable)."""
    variable = module["variable"]["api_keys"]
    assert variable["sensitive"] is True and variable["default"] == []
    secrets = module["locals"]["secrets"]
    assert "local.api_keys_secret_name" in secrets and "join" in secrets
    env = module["locals"]["container_env"]
    assert 'name = "EXECUTOR_API_KEYS", secretRef = local.api_keys_secret_name' in env
    assert container(module)["env"] == "${local.container_env}"


def test_replicas_are_half_a_vcpu_and_one_gib_by_default(module: dict[str, Any]) -> None:
    assert module["variable"]["cpu"]["default"] == 0.5
    assert module["variable"]["memory"]["default"] == "1Gi"
    assert container(module)["resources"] == {"cpu": "${var.cpu}", "memory": "${var.memory}"}


def test_probes_start_on_healthz_ready_on_readyz_alive_on_healthz(module: dict[str, Any]) -> None:
    probes = {probe["type"]: probe for probe in container(module)["probes"]}
    assert set(probes) == {"Startup", "Readiness", "Liveness"}
    assert probes["Startup"]["httpGet"] == {"path": "/healthz", "port": 8080}
    assert probes["Readiness"]["httpGet"] == {"path": "/readyz", "port": 8080}
    assert probes["Liveness"]["httpGet"] == {"path": "/healthz", "port": 8080}
    for probe in probes.values():
        # ARM's ranges: initialDelaySeconds 1-60, periodSeconds 1-240, failureThreshold 1-10.
        assert 1 <= probe["initialDelaySeconds"] <= 60
        assert 1 <= probe["periodSeconds"] <= 240
        assert 1 <= probe["failureThreshold"] <= 15
    # A draining replica (503 on /readyz) leaves the rotation within seconds.
    readiness = probes["Readiness"]
    assert readiness["periodSeconds"] * readiness["failureThreshold"] <= 10
    # A busy replica is not restarted for a slow answer: 30 s of silence at least.
    liveness = probes["Liveness"]
    assert liveness["periodSeconds"] * liveness["failureThreshold"] >= 30


def test_the_grace_period_covers_the_drain(module: dict[str, Any]) -> None:
    """Grace = drain (25 s by default, below ACA's 30 s default grace) + a margin; at most 600."""
    template = app(module)["body"]["properties"]["template"]
    assert template["terminationGracePeriodSeconds"] == "${local.termination_grace_period_seconds}"
    assert (
        module["locals"]["termination_grace_period_seconds"]
        == "${var.drain_seconds + var.drain_margin_seconds}"
    )
    drain = module["variable"]["drain_seconds"]
    margin = module["variable"]["drain_margin_seconds"]
    assert drain["default"] == 25 and margin["default"] >= 1
    assert drain["default"] + margin["default"] <= 600
    assert "var.drain_seconds <= 590" in drain["validation"][0]["condition"]


def test_the_scale_rule_uses_the_measured_rate_in_shared_mode_and_one_per_execution(
    module: dict[str, Any],
) -> None:
    [rule] = app(module)["body"]["properties"]["template"]["scale"]["rules"]
    assert rule["http"]["metadata"]["concurrentRequests"] == (
        "${tostring(local.scale_concurrent_requests[each.key])}"
    )
    assert (
        "local.per_execution ? 1 : lookup(var.concurrent_requests"
        in (module["locals"]["scale_concurrent_requests"])
    )
    defaults = module["variable"]["concurrent_requests"]["default"]
    assert set(defaults) == LANGUAGES and all(n >= 1 for n in defaults.values())
    assert "Per-replica throughput" in module["variable"]["concurrent_requests"]["description"]


def test_per_execution_mode_runs_one_submission_per_replica_with_no_queue(
    module: dict[str, Any],
) -> None:
    assert module["locals"]["per_execution"] == '${var.mode == "per_execution"}'
    assert module["locals"]["replica_concurrency"] == (
        "${local.per_execution ? 1 : var.replica_concurrency}"
    )
    env = module["locals"]["executor_env"]
    assert "EXECUTOR_MAX_CONCURRENCY = tostring(local.replica_concurrency)" in env
    assert 'local.per_execution ? {EXECUTOR_MAX_QUEUE = "0"}' in env
    [validation] = module["variable"]["mode"]["validation"]
    for mode in ("shared", "per_execution", "session_pool"):
        assert f'"{mode}"' in validation["condition"]


def test_the_session_pool_runs_the_same_images_in_hyper_v_sessions(module: dict[str, Any]) -> None:
    pool = module["resource"]["azapi_resource"]["session_pool"]
    assert pool["type"] == "Microsoft.App/sessionPools@2025-01-01"
    assert pool["for_each"] == '${var.mode == "session_pool" ? local.languages : toset([])}'
    properties = pool["body"]["properties"]
    assert properties["containerType"] == "CustomContainer"
    assert properties["poolManagementType"] == "Dynamic"
    template = properties["customContainerTemplate"]
    assert template["ingress"]["targetPort"] == 8080
    [session] = template["containers"]
    assert session["image"] == container(module)["image"]
    assert session["resources"] == container(module)["resources"]
    assert properties["sessionNetworkConfiguration"]["status"] == "EgressDisabled"
    lifecycle = properties["dynamicPoolConfiguration"]["lifecycleConfiguration"]
    assert lifecycle["lifecycleType"] == "Timed"
    [identity] = properties["managedIdentitySettings"]
    assert identity["lifecycle"] == "None"  # code in a session gets no token
    scale = properties["scaleConfiguration"]
    assert scale["maxConcurrentSessions"] == "${var.session_pool.max_concurrent_sessions}"
    conditions = [v["condition"] for v in module["variable"]["session_pool"]["validation"]]
    assert any(">= 300" in c and "<= 3600" in c for c in conditions)


def test_outputs_give_the_client_its_urls(module: dict[str, Any]) -> None:
    value = module["output"]["client_urls"]["value"]
    assert "ingress.fqdn" in value and "poolManagementEndpoint" in value


def test_the_example_tfvars_sets_only_declared_variables_in_contest_mode(
    module: dict[str, Any],
) -> None:
    example = parse(TERRAFORM / "terraform.tfvars.example")
    assert set(example) <= set(module["variable"]), set(example) - set(module["variable"])
    assert example["mode"] == "shared"
    assert all(example["min_replicas"][language] >= 1 for language in LANGUAGES)
    assert all(example["max_replicas"][language] <= 1000 for language in LANGUAGES)
    assert all(name.startswith("EXECUTOR_") for name in example["executor_settings"])
