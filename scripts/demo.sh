#!/usr/bin/env bash
# The README's main command: bring the example stack up with local state, show its outputs, and take it down.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/wildside-tofu
echo "==> doctor" >&2
"$bin" doctor example
echo "==> up example" >&2
"$bin" up example
echo "==> plan example (expect no changes)" >&2
"$bin" plan example --detailed-exitcode
echo "==> output example" >&2
"$bin" output example
echo "==> down example" >&2
"$bin" down example
