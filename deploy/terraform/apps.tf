# One container app per language (modes shared and per_execution), through azapi so that
# maxReplicas may reach the platform's 1,000 (see versions.tf). Attribute names are ARM's,
# Microsoft.App/containerApps API version 2025-01-01 (learn.microsoft.com/azure/templates/microsoft.app/containerapps).

locals {
  # Env of the service's container: the settings, and the API keys from the secret store.
  container_env = concat(
    [for name, value in local.executor_env : { name = name, value = value }],
    length(var.api_keys) > 0 ? [{ name = "EXECUTOR_API_KEYS", secretRef = local.api_keys_secret_name }] : [],
  )
  secrets = length(var.api_keys) > 0 ? [{ name = local.api_keys_secret_name, value = join(",", var.api_keys) }] : []
}

resource "azapi_resource" "app" {
  for_each  = var.mode == "session_pool" ? toset([]) : local.languages
  type      = "Microsoft.App/containerApps@2025-01-01"
  name      = "${var.name_prefix}-${each.key}"
  parent_id = local.resource_group_id
  location  = var.location
  tags      = var.tags

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.pull.id]
  }

  body = {
    properties = {
      environmentId       = local.environment_id
      workloadProfileName = "Consumption"
      configuration = {
        activeRevisionsMode = "Single"
        ingress = {
          external      = var.ingress_external
          targetPort    = 8080
          transport     = "http"
          allowInsecure = false
          traffic = [
            { latestRevision = true, weight = 100 },
          ]
        }
        registries = [
          { server = local.registry_server, identity = azurerm_user_assigned_identity.pull.id },
        ]
        secrets = local.secrets
      }
      template = {
        # SIGTERM → /readyz 503 and the drain → exit; SIGKILL only after the grace period.
        terminationGracePeriodSeconds = local.termination_grace_period_seconds
        containers = [
          {
            name  = "executor"
            image = "${local.registry_server}/${var.images[each.key]}"
            resources = {
              cpu    = var.cpu
              memory = var.memory
            }
            env = local.container_env
            probes = [
              # Started: the process answers. The images reach /readyz in under a second
              # (README, Images); 2 s x 15 leaves room for a slow node on a cold start.
              {
                type                = "Startup"
                httpGet             = { path = "/healthz", port = 8080 }
                initialDelaySeconds = 1
                periodSeconds       = 2
                timeoutSeconds      = 2
                failureThreshold    = 15
              },
              # Ready: every runtime passed its self-test, and not draining. A draining replica
              # answers 503 here and leaves the ingress's rotation within two periods.
              {
                type                = "Readiness"
                httpGet             = { path = "/readyz", port = 8080 }
                initialDelaySeconds = 1
                periodSeconds       = 2
                timeoutSeconds      = 2
                failureThreshold    = 2
                successThreshold    = 1
              },
              # Alive: /healthz answers in well under a second under any run (THREATS.md); a
              # replica is restarted only after 30 s without an answer.
              {
                type                = "Liveness"
                httpGet             = { path = "/healthz", port = 8080 }
                initialDelaySeconds = 5
                periodSeconds       = 10
                timeoutSeconds      = 5
                failureThreshold    = 3
              },
            ]
          },
        ]
        scale = {
          minReplicas = lookup(var.min_replicas, each.key, 0)
          maxReplicas = lookup(var.max_replicas, each.key, 100)
          rules = [
            {
              name = "http-concurrency"
              http = {
                metadata = {
                  concurrentRequests = tostring(local.scale_concurrent_requests[each.key])
                }
              }
            },
          ]
        }
      }
    }
  }

  response_export_values = ["properties.configuration.ingress.fqdn"]

  depends_on = [azurerm_role_assignment.pull]
}
