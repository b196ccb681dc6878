#!/usr/bin/env bash
# Runs every test. The tests that need the DigitalOcean provider are `#[ignore]`d: they run where a mirror holds
# the provider, and are reported as skipped, with the reason, where none does.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/provider.sh
mkdir -p target
args=()
if reason="$(digitalocean_provider_mirror)"; then
  export WILDSIDE_PROVIDER_MIRROR="$reason"
  args=(-- --include-ignored)
  echo "tests: the digitalocean provider is in $reason: its tests run" >&2
  reason=""
else
  echo "tests: skipping the tests that need the digitalocean provider: $reason" >&2
fi
cargo test --locked "${args[@]}" 2>&1 | tee target/test.log
status=${PIPESTATUS[0]}
awk -v reason="$reason" '
  /^test result:/ { passed += $4; failed += $6; ignored += $8 }
  END {
    printf "all tests: %d passed, %d failed, %d skipped", passed, failed, ignored
    if (ignored > 0) printf " (%s)", reason
    printf "\n"
  }' target/test.log
exit "$status"
