# Inputs. deploy/local/up reads the same file of values (terraform.tfvars) to start the local
# stand-in, so the two describe one deployment: languages and images, replica size, replicas,
# mode, and the service's settings.

variable "name_prefix" {
  description = "Prefix of every resource name (letters, digits and '-')."
  type        = string
  default     = "executor"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name_prefix))
    error_message = "name_prefix: 2 to 21 lower-case letters, digits or '-', starting with a letter."
  }
}

variable "location" {
  description = "Azure region of everything created."
  type        = string
  default     = "westeurope"
}

variable "tags" {
  description = "Tags put on every resource created."
  type        = map(string)
  default     = {}
}

# --- the shared pieces: each is created unless an existing one is given -------------------------

variable "resource_group_name" {
  description = "Resource group to create, or the existing one to use (create_resource_group = false)."
  type        = string
  default     = "executor"
}

variable "create_resource_group" {
  description = "Create resource_group_name (true) or use an existing group of that name (false)."
  type        = bool
  default     = true
}

variable "log_analytics_workspace_id" {
  description = "Existing Log Analytics workspace for the environment's logs; null creates one."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Retention of the created Log Analytics workspace, days."
  type        = number
  default     = 30
}

variable "container_app_environment_id" {
  description = "Existing Container Apps environment (workload profiles type); null creates one."
  type        = string
  default     = null
}

variable "registry" {
  description = "Existing container registry ({id, login_server}); null creates a Basic one."
  type = object({
    id           = string
    login_server = string
  })
  default = null
}

# --- what runs -----------------------------------------------------------------------------------

variable "images" {
  description = "Language -> image (repository:tag in the registry). One app (or session pool) per entry."
  type        = map(string)
  default = {
    python = "executor-python:latest"
    node   = "executor-node:latest"
    java   = "executor-java:latest"
  }

  validation {
    condition     = length(var.images) > 0 && alltrue([for language in keys(var.images) : contains(["python", "node", "java"], language)])
    error_message = "images: keys are languages the images offer: python, node, java."
  }
}

variable "mode" {
  description = <<-EOT
    How submissions map onto compute:
    - shared: many sandboxed runs per replica (the service's own concurrency), HTTP scale rule at
      concurrent_requests per replica;
    - per_execution: the design's assumption "each execution gets its own replica": one run per
      replica (EXECUTOR_MAX_CONCURRENCY=1, no queue: a busy replica answers 429 and the client
      retries), HTTP scale rule at one concurrent request;
    - session_pool: no container apps; one Microsoft.App/sessionPools per language running the same
      image, each session in its own Hyper-V sandbox (see session_pool).
  EOT
  type        = string
  default     = "shared"

  validation {
    condition     = contains(["shared", "per_execution", "session_pool"], var.mode)
    error_message = "mode: shared, per_execution or session_pool."
  }
}

variable "cpu" {
  description = "vCPU per replica (or session). 0.5 with 1Gi is the size the images are measured at."
  type        = number
  default     = 0.5
}

variable "memory" {
  description = "Memory per replica (or session), e.g. 1Gi (Consumption: 2 GiB per vCPU)."
  type        = string
  default     = "1Gi"
}

variable "min_replicas" {
  description = <<-EOT
    Language -> replicas kept running. 0 scales to zero between contests. Contest mode: raise it
    ahead of the start (see deploy/README.md) and lower it after. The local stand-in starts this
    many containers per language (at least 1).
  EOT
  type        = map(number)
  default = {
    python = 0
    node   = 0
    java   = 0
  }

  validation {
    condition     = alltrue([for n in values(var.min_replicas) : n >= 0 && n <= 1000 && floor(n) == n])
    error_message = "min_replicas: whole numbers from 0 to 1000 (the platform's limit per revision)."
  }
}

variable "max_replicas" {
  description = "Language -> most replicas the scale rule may reach (platform limit 1,000; cores quota applies)."
  type        = map(number)
  default = {
    python = 100
    node   = 100
    java   = 100
  }

  validation {
    condition     = alltrue([for n in values(var.max_replicas) : n >= 1 && n <= 1000 && floor(n) == n])
    error_message = "max_replicas: whole numbers from 1 to 1000 (the platform's limit per revision)."
  }
}

variable "concurrent_requests" {
  description = <<-EOT
    Shared mode, language -> the HTTP scale rule's concurrentRequests per replica. ACA computes it
    every 15 s as the requests of the last 15 s divided by 15, so it acts as a request rate per
    replica. The defaults are what one 0.5 vCPU / 1 GiB replica sustained on the contest mix in
    the local rehearsal, rounded down (deploy/README.md, "Per-replica throughput": Python 3.5/s,
    JavaScript 1.7/s, Java 1.9/s). per_execution mode uses 1.
  EOT
  type        = map(number)
  default = {
    python = 3
    node   = 1
    java   = 1
  }

  validation {
    condition     = alltrue([for n in values(var.concurrent_requests) : n >= 1 && floor(n) == n])
    error_message = "concurrent_requests: whole numbers, at least 1."
  }
}

variable "replica_concurrency" {
  description = "Shared mode: EXECUTOR_MAX_CONCURRENCY per replica; null keeps the service's default (2 at 0.5 vCPU / 1 GiB)."
  type        = number
  default     = null
}

variable "ingress_external" {
  description = "Expose each app on the internet (true) or only inside the environment's network (false)."
  type        = bool
  default     = false
}

variable "api_keys" {
  description = <<-EOT
    API keys the service accepts (Authorization: Bearer KEY), stored as a Container Apps secret and
    given as EXECUTOR_API_KEYS. Needs an image with API keys (issue 12): today's service stops on
    an unknown EXECUTOR_* variable, so leave it empty for older images.
  EOT
  type        = list(string)
  default     = []
  sensitive   = true
}

variable "drain_seconds" {
  description = <<-EOT
    How long a replica drains after SIGTERM (the image's EXECUTOR_DRAIN_SECONDS, default 25 s,
    issue 12). The termination grace period is this plus drain_margin_seconds, so that the
    platform's SIGKILL never lands inside a drain.
  EOT
  type        = number
  default     = 25

  validation {
    condition     = var.drain_seconds >= 0 && var.drain_seconds <= 590
    error_message = "drain_seconds: 0 to 590 (the grace period is at most 600 s)."
  }
}

variable "drain_margin_seconds" {
  description = "Seconds of the grace period after the drain: the process exit and its last log lines."
  type        = number
  default     = 5

  validation {
    condition     = var.drain_margin_seconds >= 1 && var.drain_margin_seconds <= 60
    error_message = "drain_margin_seconds: 1 to 60."
  }
}

variable "executor_settings" {
  description = "More service settings as EXECUTOR_* variables (README, Settings), e.g. EXECUTOR_DEFAULT_TIME_MS."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for name in keys(var.executor_settings) : startswith(name, "EXECUTOR_")])
    error_message = "executor_settings: every name starts with EXECUTOR_."
  }
}

variable "session_pool" {
  description = <<-EOT
    mode = session_pool: per language, the most sessions at once, sessions kept ready, and the
    idle time after which a session is destroyed (300 to 3600 s per the platform's docs).
  EOT
  type = object({
    max_concurrent_sessions = number
    ready_session_instances = number
    cooldown_period_seconds = number
  })
  default = {
    max_concurrent_sessions = 500
    ready_session_instances = 20
    cooldown_period_seconds = 300
  }

  validation {
    condition     = var.session_pool.cooldown_period_seconds >= 300 && var.session_pool.cooldown_period_seconds <= 3600
    error_message = "session_pool.cooldown_period_seconds: 300 to 3600."
  }

  validation {
    condition     = var.session_pool.ready_session_instances <= var.session_pool.max_concurrent_sessions
    error_message = "session_pool.ready_session_instances: at most max_concurrent_sessions."
  }
}
