#!/usr/bin/env bash
# Runs every test, then each fuzz target briefly (scripts/fuzz.sh; one test each). The tests that need the
# DigitalOcean provider are `#[ignore]`d: they run where a mirror holds the provider, and are reported as skipped,
# with the reason, where none does; likewise the fuzz targets where cargo-fuzz or a nightly toolchain is missing.
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
cargo test --locked --workspace "${args[@]}" 2>&1 | tee target/test.log
status=${PIPESTATUS[0]}
bash scripts/fuzz.sh | tee target/fuzz.log
fuzz_status=${PIPESTATUS[0]}
awk -v reason="$reason" '
  FILENAME ~ /test\.log$/ && /^test result:/ { passed += $4; failed += $6; ignored += $8; tests_ignored += $8 }
  FILENAME ~ /fuzz\.log$/ && /^fuzz: / {
    if ($3 == "passed:") passed++
    else if ($3 == "failed:") failed++
    else if ($3 == "skipped:") { ignored++; fuzz_skipped = 1; fuzz_reason = substr($0, index($0, "skipped: ") + 9) }
  }
  END {
    printf "all tests: %d passed, %d failed, %d skipped", passed, failed, ignored
    reasons = ""
    if (tests_ignored > 0) reasons = reason
    if (fuzz_skipped) reasons = reasons (reasons == "" ? "" : "; ") "fuzz targets: " fuzz_reason
    if (reasons != "") printf " (%s)", reasons
    printf "\n"
  }' target/test.log target/fuzz.log
[ "$status" -ne 0 ] && exit "$status"
exit "$fuzz_status"
