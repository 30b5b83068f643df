# The shared pieces, each created unless an existing one is given: resource group, Log Analytics
# workspace, Container Apps environment (workload profiles type: the session pool needs it, and
# apps run on its Consumption profile), container registry, and the identity that pulls from it.

locals {
  languages = toset(keys(var.images))

  resource_group_name = var.create_resource_group ? azurerm_resource_group.this[0].name : data.azurerm_resource_group.this[0].name
  resource_group_id   = var.create_resource_group ? azurerm_resource_group.this[0].id : data.azurerm_resource_group.this[0].id
  environment_id      = var.container_app_environment_id != null ? var.container_app_environment_id : azurerm_container_app_environment.this[0].id
  registry_id         = var.registry != null ? var.registry.id : azurerm_container_registry.this[0].id
  registry_server     = var.registry != null ? var.registry.login_server : azurerm_container_registry.this[0].login_server

  per_execution = var.mode == "per_execution"

  # Runs per replica: one in per_execution mode, else the operator's choice or the service's
  # default (2 x CPUs, at least 2: 2 at 0.5 vCPU).
  replica_concurrency = local.per_execution ? 1 : var.replica_concurrency

  # The HTTP scale rule's threshold per language (see variables.tf, concurrent_requests).
  scale_concurrent_requests = { for language in local.languages : language => local.per_execution ? 1 : lookup(var.concurrent_requests, language, 1) }

  # SIGTERM, then the drain, then the exit; SIGKILL only after all of it.
  termination_grace_period_seconds = var.drain_seconds + var.drain_margin_seconds

  # EXECUTOR_* settings given to every replica. per_execution keeps no queue: a second request on
  # a busy replica is a 429 at once, which the client retries (and the scale rule sees).
  executor_env = merge(
    var.executor_settings,
    local.replica_concurrency == null ? {} : { EXECUTOR_MAX_CONCURRENCY = tostring(local.replica_concurrency) },
    local.per_execution ? { EXECUTOR_MAX_QUEUE = "0" } : {},
  )

  api_keys_secret_name = "executor-api-keys"
}

resource "azurerm_resource_group" "this" {
  count    = var.create_resource_group ? 1 : 0
  name     = var.resource_group_name
  location = var.location
  tags     = var.tags
}

data "azurerm_resource_group" "this" {
  count = var.create_resource_group ? 0 : 1
  name  = var.resource_group_name
}

resource "azurerm_log_analytics_workspace" "this" {
  count               = var.log_analytics_workspace_id == null && var.container_app_environment_id == null ? 1 : 0
  name                = "${var.name_prefix}-logs"
  location            = var.location
  resource_group_name = local.resource_group_name
  sku                 = "PerGB2018"
  retention_in_days   = var.log_retention_days
  tags                = var.tags
}

resource "azurerm_container_app_environment" "this" {
  count                      = var.container_app_environment_id == null ? 1 : 0
  name                       = "${var.name_prefix}-env"
  location                   = var.location
  resource_group_name        = local.resource_group_name
  log_analytics_workspace_id = var.log_analytics_workspace_id != null ? var.log_analytics_workspace_id : azurerm_log_analytics_workspace.this[0].id
  tags                       = var.tags

  # A workload profiles environment: apps run on its Consumption profile (billed per second,
  # scale to zero); custom container session pools need this environment type.
  workload_profile {
    name                  = "Consumption"
    workload_profile_type = "Consumption"
  }
}

resource "azurerm_container_registry" "this" {
  count               = var.registry == null ? 1 : 0
  name                = replace("${var.name_prefix}registry", "-", "")
  location            = var.location
  resource_group_name = local.resource_group_name
  sku                 = "Basic"
  admin_enabled       = false # pulls go through the identity below, never a password
  tags                = var.tags
}

resource "azurerm_user_assigned_identity" "pull" {
  name                = "${var.name_prefix}-pull"
  location            = var.location
  resource_group_name = local.resource_group_name
  tags                = var.tags
}

resource "azurerm_role_assignment" "pull" {
  scope                = local.registry_id
  role_definition_name = "AcrPull"
  principal_id         = azurerm_user_assigned_identity.pull.principal_id
}
