#!/usr/bin/env bash
# Runs each fuzz target of fuzz/ briefly, from its seeds (fuzz/seeds/<target>/) and a scratch corpus that is
# thrown away, and prints one line a target for scripts/test.sh to count:
#   fuzz: <target> passed|failed|skipped: <what happened>
# Exits non-zero when a target crashed or the targets do not build. Needs cargo-fuzz (`make tools` installs it)
# and a nightly Rust toolchain: without either every target is reported skipped, with the reason.
# WILDSIDE_FUZZ_SECONDS sets the time each target runs (10 s by default).
set -uo pipefail
cd "$(dirname "$0")/.."
seconds="${WILDSIDE_FUZZ_SECONDS:-10}"
targets=(stack_loader tofu_ui plan_json ledger)
cache="${WILDSIDE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wildside-tofu}"
cargo_fuzz="$(sed -n 's/^WILDSIDE_CARGO_FUZZ_BIN=//p' "$cache/test-tools.env" 2>/dev/null || true)"

report_all() {
  local target
  for target in "${targets[@]}"; do printf 'fuzz: %s %s: %s\n' "$target" "$1" "$2"; done
}

if [ -z "$cargo_fuzz" ] || [ ! -x "$cargo_fuzz" ]; then
  report_all skipped "cargo-fuzz is not installed (\`make tools\` installs it)"
  exit 0
fi
if ! rustc +nightly --version >/dev/null 2>&1; then
  report_all skipped "no nightly Rust toolchain, which cargo-fuzz needs (\`rustup toolchain install nightly\`)"
  exit 0
fi
export RUSTUP_TOOLCHAIN=nightly
mkdir -p target
if ! { cargo fetch --locked --manifest-path fuzz/Cargo.toml && "$cargo_fuzz" build; } >target/fuzz-build.log 2>&1; then
  report_all failed "the fuzz targets do not build (target/fuzz-build.log)"
  exit 1
fi
status=0
for target in "${targets[@]}"; do
  corpus="$(mktemp -d)"
  log="target/fuzz-$target.log"
  if "$cargo_fuzz" run "$target" "$corpus" "fuzz/seeds/$target" -- \
    -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
    printf 'fuzz: %s passed: %s runs in %s s\n' "$target" "${runs:-?}" "$seconds"
  else
    printf 'fuzz: %s failed: the input that crashed it is in fuzz/artifacts/%s/ (log: %s)\n' "$target" "$target" "$log"
    status=1
  fi
  rm -rf "$corpus"
done
exit "$status"
