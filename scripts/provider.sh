# Where the DigitalOcean provider can be installed from, for the tests and the demo that need it.
# `digitalocean_provider_mirror` prints the filesystem mirror that holds it ($WILDSIDE_PROVIDER_MIRROR, then the
# mirror `make tools` keeps) and succeeds, or prints why none does and fails.
digitalocean_provider_mirror() {
  local cache="${WILDSIDE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wildside-tofu}"
  local tools_mirror=""
  [ -f "$cache/tools.env" ] && tools_mirror="$(sed -n 's/^WILDSIDE_PROVIDER_MIRROR=//p' "$cache/tools.env")"
  local mirror
  for mirror in "${WILDSIDE_PROVIDER_MIRROR:-}" "$tools_mirror"; do
    if [ -n "$mirror" ] && [ -d "$mirror/registry.opentofu.org/digitalocean/digitalocean" ]; then
      printf '%s\n' "$mirror"
      return 0
    fi
  done
  printf '%s\n' "no filesystem mirror holds digitalocean/digitalocean (set WILDSIDE_PROVIDER_MIRROR to one that does), and the package registries this machine reaches do not serve it"
  return 1
}
