# The provider pins every module shares; each module's versions.tf links here, and generated roots require the
# same pins (src/render/platform.rs, kept equal by the tests).
terraform {
  required_version = ">= 1.10.0"
  required_providers {
    digitalocean = {
      source  = "digitalocean/digitalocean"
      version = "~> 2.50"
    }
  }
}
