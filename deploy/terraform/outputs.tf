output "client_urls" {
  description = "Language -> base URL, as executor.client.Client takes it (session pools: their management endpoint)."
  value = merge(
    { for language, app in azapi_resource.app : language => "https://${app.output.properties.configuration.ingress.fqdn}" },
    { for language, pool in azapi_resource.session_pool : language => pool.output.properties.poolManagementEndpoint },
  )
}

output "mode" {
  description = "shared, per_execution or session_pool."
  value       = var.mode
}

output "termination_grace_period_seconds" {
  description = "Seconds between SIGTERM and SIGKILL of a replica: the drain plus its margin."
  value       = local.termination_grace_period_seconds
}

output "registry_login_server" {
  description = "Where to push the images (docker tag executor-python:latest <this>/executor-python:latest)."
  value       = local.registry_server
}
