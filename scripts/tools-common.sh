# Shared by scripts/tools.sh and scripts/test-tools.sh: the pinned versions, the per-user cache keyed by
# version, and how a tool is built from its Go module or installed into a virtualenv.
# shellcheck shell=bash
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
. "$here/versions.env"

cache="${WILDSIDE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wildside-tofu}"
mkdir -p "$cache"
log() { printf 'tools: %s\n' "$*" >&2; }

# Build the main package of a Go module at a pinned version. Modules with `replace` directives (OpenTofu)
# refuse `go install mod@v`, so the module is downloaded, copied to a scratch directory and built there.
go_build_module() {
  local module="$1" version="$2" package="$3" output="$4" ldflags="${5:-}"
  local dir scratch
  dir="$(go mod download -json "$module@$version" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("Dir") or sys.exit(d.get("Error")))')"
  scratch="$(mktemp -d)"
  cp -r "$dir/." "$scratch/"
  chmod -R u+w "$scratch"
  (cd "$scratch" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ldflags" -o "$output.tmp" "$package")
  mv "$output.tmp" "$output"
  rm -rf "$scratch"
}

python_venv() {
  local dir="$1"; shift
  [ -x "$dir/bin/python" ] || python3 -m venv "$dir"
  "$dir/bin/pip" install --quiet "$@"
}

# The demo waits for its servers with curl, and the preview race test's module calls the sandbox with it.
install_curl() {
  if ! command -v curl >/dev/null; then
    log "installing curl from Debian's packages"
    local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq && $sudo apt-get install -y -qq curl >/dev/null
  fi
}
