# mode = session_pool: one dynamic session pool per language running the same image, each session
# a custom container in its own Hyper-V sandbox. ARM names of Microsoft.App/sessionPools API
# version 2025-01-01 (learn.microsoft.com/azure/templates/microsoft.app/sessionpools; that version
# moved the cooldown into dynamicPoolConfiguration.lifecycleConfiguration). Requests go to the
# pool's management endpoint with ?identifier=SESSION and an Entra token (executor.client's
# session_pool option); the platform allocates a ready session on a new identifier.

resource "azapi_resource" "session_pool" {
  for_each  = var.mode == "session_pool" ? local.languages : toset([])
  type      = "Microsoft.App/sessionPools@2025-01-01"
  name      = "${var.name_prefix}-${each.key}-pool"
  parent_id = local.resource_group_id
  location  = var.location
  tags      = var.tags

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.pull.id]
  }

  body = {
    properties = {
      environmentId      = local.environment_id
      poolManagementType = "Dynamic"
      containerType      = "CustomContainer"
      customContainerTemplate = {
        registryCredentials = {
          server   = local.registry_server
          identity = azurerm_user_assigned_identity.pull.id
        }
        containers = [
          {
            name  = "executor"
            image = "${local.registry_server}/${var.images[each.key]}"
            resources = {
              cpu    = var.cpu
              memory = var.memory
            }
            env = local.container_env
          },
        ]
        ingress = {
          targetPort = 8080
        }
      }
      dynamicPoolConfiguration = {
        lifecycleConfiguration = {
          # A session lives until it has been idle this long (300 s at least): one session per
          # student, not per submission, keeps that idle time from multiplying.
          lifecycleType           = "Timed"
          cooldownPeriodInSeconds = var.session_pool.cooldown_period_seconds
        }
      }
      scaleConfiguration = {
        maxConcurrentSessions = var.session_pool.max_concurrent_sessions
        readySessionInstances = var.session_pool.ready_session_instances
      }
      # Submitted code must reach nothing; the service's seccomp filter denies sockets too.
      sessionNetworkConfiguration = {
        status = "EgressDisabled"
      }
      # The identity pulls the image only; code in a session cannot get a token for it.
      managedIdentitySettings = [
        { identity = azurerm_user_assigned_identity.pull.id, lifecycle = "None" },
      ]
      secrets = local.secrets
    }
  }

  response_export_values = ["properties.poolManagementEndpoint"]

  depends_on = [azurerm_role_assignment.pull]
}
