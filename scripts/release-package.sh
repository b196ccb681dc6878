#!/usr/bin/env bash
# Packages a release of wildside-tofu for one target: `wildside-tofu-<version>-<target>.tar.gz` holding the
# `wildside-tofu` and `wildside-sandbox` binaries, the pinned tool versions (scripts/versions.env, which
# actions/setup reads to install the matching OpenTofu), LICENSE and README.md, and beside it a `.sha256` file
# in `sha256sum` format. Builds the binaries with `cargo build --release --target <target>` unless
# `--binaries DIR` names a directory that already holds them.
#
#   scripts/release-package.sh [--binaries DIR] TARGET OUT_DIR
set -euo pipefail
cd "$(dirname "$0")/.."

binaries=""
if [ "${1:-}" = "--binaries" ]; then
  binaries="$2"
  shift 2
fi
target="${1:?usage: release-package.sh [--binaries DIR] TARGET OUT_DIR}"
out="${2:?usage: release-package.sh [--binaries DIR] TARGET OUT_DIR}"

version="v$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
if [ -z "$binaries" ]; then
  cargo build --release --locked --workspace --target "$target"
  binaries="${CARGO_TARGET_DIR:-target}/$target/release"
fi

name="wildside-tofu-$version-$target"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/$name/bin" "$out"
for binary in wildside-tofu wildside-sandbox; do
  install -m 0755 "$binaries/$binary" "$stage/$name/bin/$binary"
done
cp LICENSE README.md scripts/versions.env "$stage/$name/"
tar -C "$stage" -czf "$out/$name.tar.gz" "$name"
(cd "$out" && sha256sum "$name.tar.gz" >"$name.tar.gz.sha256")
printf '%s\n' "$out/$name.tar.gz"
