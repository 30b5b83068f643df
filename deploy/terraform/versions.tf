# Providers. azurerm creates the shared pieces (resource group, Log Analytics, environment,
# registry, identity); azapi creates the container apps and the session pools, because:
# - azurerm_container_app validates max_replicas with validation.IntBetween(1, 300)
#   (terraform-provider-azurerm, internal/services/containerapps/helpers/container_apps.go,
#   ContainerTemplateSchema), while the platform accepts up to 1,000 replicas per revision
#   ("Maximum replicas configurable are 1,000", learn.microsoft.com/azure/container-apps/scale-app;
#   the quotas page says 300 in the portal, 1,000 through the CLI/ARM). azapi sends the ARM body
#   as written, so max_replicas = 1000 is one app per language rather than four apps behind a router.
# - the session pool (Microsoft.App/sessionPools) is written in the ARM names of its documented
#   API version, the same way, so that the two designs read alike.
terraform {
  required_version = ">= 1.5"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 4.0"
    }
    azapi = {
      source  = "Azure/azapi"
      version = "~> 2.0"
    }
  }
}

provider "azurerm" {
  features {}
}

provider "azapi" {}
