# A module that needs no cloud: built-in `terraform_data` and the `time` provider from the local mirror.
# It exists so the engine can be tried and tested anywhere, including a slow apply for interrupt tests.

terraform {
  required_version = ">= 1.10.0"
  required_providers {
    time = {
      source  = "hashicorp/time"
      version = "~> 0.14"
    }
  }
}

variable "message" {
  description = "Text the module stores and returns."
  type        = string
  validation {
    condition     = length(var.message) > 0
    error_message = "The message must not be empty."
  }
}

variable "delay_seconds" {
  description = "How long creating the message resource takes (a sleeping local-exec), for interrupt tests."
  type        = number
  default     = 0
  validation {
    condition     = var.delay_seconds >= 0 && var.delay_seconds <= 3600
    error_message = "The delay must be between 0 and 3600 seconds."
  }
}

variable "instances" {
  description = "How many numbered copies of the message to keep (lets tests grow and shrink a plan)."
  type        = number
  default     = 1
}

resource "time_static" "created" {
  triggers = {
    message = var.message
  }
}

resource "terraform_data" "message" {
  input            = var.message
  triggers_replace = [var.message]

  provisioner "local-exec" {
    command = "sleep ${var.delay_seconds}"
  }
}

resource "terraform_data" "copy" {
  count = var.instances
  input = "${var.message} #${count.index}"
}

output "message" {
  description = "The stored message."
  value       = terraform_data.message.output
}

output "created_at" {
  description = "When the message was first stored (RFC 3339)."
  value       = time_static.created.rfc3339
}

output "digest" {
  description = "A digest of the message, marked sensitive to exercise sensitive outputs."
  value       = sha256(var.message)
  sensitive   = true
}
