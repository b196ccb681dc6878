#!/usr/bin/env bash
# The fault trials (tests/trials/): WILDSIDE_TRIALS trials (default 20) of each case against the real tofu,
# OpenBao and the DigitalOcean sandbox, then a table of trials, passed and what was lost. Not part of
# `make test`. The sandbox case needs the DigitalOcean provider and is reported skipped without it.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/provider.sh
if mirror="$(digitalocean_provider_mirror)"; then
  export WILDSIDE_PROVIDER_MIRROR="$mirror"
fi
cargo test --locked --test trials
