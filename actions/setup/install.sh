#!/usr/bin/env bash
# The install step of actions/setup: downloads a wildside-tofu release archive for this runner, checks it
# against its SHA-256 checksum before unpacking anything, then installs the OpenTofu version the release pins
# (its versions.env), checked against OpenTofu's own SHA256SUMS. Nothing unverified is ever executed.
#
# Inputs (environment): WILDSIDE_VERSION (a release tag such as v0.1.0), WILDSIDE_RELEASE_URL (where release
# archives are, by tag; file:// works), OPENTOFU_RELEASE_URL (where OpenTofu's releases are, by tag),
# INSTALL_DIR. Adds INSTALL_DIR/bin to GITHUB_PATH when set, and prints that directory.
set -euo pipefail

version="${WILDSIDE_VERSION:?set the version input (a release tag such as v0.1.0)}"
release_url="${WILDSIDE_RELEASE_URL:-${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY:-}/releases/download}"
opentofu_url="${OPENTOFU_RELEASE_URL:-https://github.com/opentofu/opentofu/releases/download}"
install_dir="${INSTALL_DIR:-${RUNNER_TEMP:-/tmp}/wildside-tofu}"

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) target=x86_64-unknown-linux-musl; tofu_platform=linux_amd64 ;;
  Linux/aarch64 | Linux/arm64) target=aarch64-unknown-linux-musl; tofu_platform=linux_arm64 ;;
  Darwin/x86_64) target=x86_64-apple-darwin; tofu_platform=darwin_amd64 ;;
  Darwin/arm64) target=aarch64-apple-darwin; tofu_platform=darwin_arm64 ;;
  *) echo "setup: no wildside-tofu release for $(uname -s) $(uname -m)" >&2; exit 1 ;;
esac

sha256() {
  if command -v sha256sum >/dev/null; then sha256sum "$1"; else shasum -a 256 "$1"; fi | cut -d' ' -f1
}

# Fetches $1 into $2 and checks it has the digest $3.
fetch_verified() {
  curl --fail --silent --show-error --location --output "$2" "$1"
  local actual
  actual="$(sha256 "$2")"
  if [ "$actual" != "$3" ]; then
    echo "setup: $1 has SHA-256 $actual, not the published $3: refusing to install it" >&2
    rm -f "$2"
    exit 1
  fi
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

archive="wildside-tofu-$version-$target.tar.gz"
curl --fail --silent --show-error --location --output "$work/$archive.sha256" "$release_url/$version/$archive.sha256"
fetch_verified "$release_url/$version/$archive" "$work/$archive" "$(cut -d' ' -f1 "$work/$archive.sha256")"
tar -C "$work" -xzf "$work/$archive"
unpacked="$work/wildside-tofu-$version-$target"

opentofu_version="$(sed -n 's/^OPENTOFU_VERSION=//p' "$unpacked/versions.env")"
tofu_zip="tofu_${opentofu_version}_${tofu_platform}.zip"
curl --fail --silent --show-error --location --output "$work/SHA256SUMS" \
  "$opentofu_url/v$opentofu_version/tofu_${opentofu_version}_SHA256SUMS"
tofu_digest="$(awk -v name="$tofu_zip" '$2 == name { print $1 }' "$work/SHA256SUMS")"
if [ -z "$tofu_digest" ]; then
  echo "setup: OpenTofu's SHA256SUMS for v$opentofu_version lists no $tofu_zip" >&2
  exit 1
fi
fetch_verified "$opentofu_url/v$opentofu_version/$tofu_zip" "$work/$tofu_zip" "$tofu_digest"
mkdir -p "$work/tofu"
python3 -m zipfile -e "$work/$tofu_zip" "$work/tofu"

mkdir -p "$install_dir/bin"
install -m 0755 "$unpacked/bin/wildside-tofu" "$unpacked/bin/wildside-sandbox" "$work/tofu/tofu" "$install_dir/bin/"
[ -n "${GITHUB_PATH:-}" ] && echo "$install_dir/bin" >>"$GITHUB_PATH"
echo "setup: wildside-tofu $version and OpenTofu $opentofu_version in $install_dir/bin" >&2
printf '%s\n' "$install_dir/bin"
