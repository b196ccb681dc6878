#!/usr/bin/env bash
# The README's main command. Starts an OpenBao dev server and the local DigitalOcean sandbox, brings the demo
# platform up on the sandbox with the real provider, reads its kubeconfig back from OpenBao, hibernates and wakes
# it, opens and closes a preview for pull request 1, writes the pull-request comment, and takes everything down again. Where the
# DigitalOcean provider cannot be installed it says why and runs every step that needs no provider.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/provider.sh
repo="$(pwd)"
bin="$repo/target/release/wildside-tofu"
bao="$(sed -n 's/^WILDSIDE_BAO_BIN=//p' "${WILDSIDE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wildside-tofu}/tools.env")"
bao_address=127.0.0.1:18200
sandbox_address=127.0.0.1:18686

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
step() { printf '\n==> %s\n' "$*" >&2; }

for address in "$bao_address" "$sandbox_address"; do
  if (exec 3<>"/dev/tcp/${address%:*}/${address#*:}") 2>/dev/null; then
    echo "demo: $address is in use; stop what listens there and run make demo again" >&2
    exit 1
  fi
done

mkdir -p "$work/project"
cp -r modules demo/stacks "$work/project/"
wt() { "$bin" --project "$work/project" "$@"; }

step "starting an OpenBao dev server on $bao_address"
"$bao" server -dev -dev-root-token-id=demo-root -dev-listen-address="$bao_address" >"$work/openbao.log" 2>&1 &
pids+=($!)
export VAULT_TOKEN=demo-root
for _ in $(seq 50); do
  curl -fs "http://$bao_address/v1/sys/health" >/dev/null && break
  sleep 0.2
done
# State is encrypted: stacks with [vault] use a transit key, the others a passphrase (a demo one here).
BAO_ADDR="http://$bao_address" BAO_TOKEN=demo-root "$bao" secrets enable transit >/dev/null
export WILDSIDE_STATE_PASSPHRASE="${WILDSIDE_STATE_PASSPHRASE:-demo-state-passphrase-not-for-real-use}"

if mirror="$(digitalocean_provider_mirror)"; then
  export WILDSIDE_PROVIDER_MIRROR="$mirror"
  step "starting the DigitalOcean sandbox on $sandbox_address"
  "$bin" sandbox serve --listen "$sandbox_address" --delay 200ms 2>"$work/sandbox.log" &
  pids+=($!)
  export WILDSIDE_SANDBOX="http://$sandbox_address"
  for _ in $(seq 50); do grep -q listening "$work/sandbox.log" && break; sleep 0.1; done
  head -1 "$work/sandbox.log" >&2
  platform=(platform)
else
  echo "demo: the DigitalOcean provider cannot be installed here: $mirror; running the steps that need no provider" >&2
  platform=()
fi

step "doctor"
wt doctor "${platform[@]}" example preview || true
step "plan ${platform[*]:+${platform[*]} }example, as CI does for a pull request"
wt plan "${platform[@]}" example --report-dir "$work/reports" >/dev/null
mkdir -p target/demo
cp "$work/reports/summary.md" target/demo/pr-comment.md
echo "the pull-request comment, written to target/demo/pr-comment.md:" >&2
head -24 target/demo/pr-comment.md
for stack in "${platform[@]}" example; do
  step "up $stack (outputs into OpenBao)"
  wt up "$stack"
  step "plan $stack (expect no changes)"
  wt plan "$stack" --detailed-exitcode
done
if [ ${#platform[@]} -gt 0 ]; then
  step "kubeconfig platform (read back from OpenBao)"
  wt kubeconfig platform | head -12
  step "hibernate platform (node pools to their floor), plan (expect no changes), wake"
  wt hibernate platform
  wt plan platform --detailed-exitcode
  wt wake platform
fi
step "output example"
wt output example

step "preview up for pull request 1"
wt preview up --pr 1 --sha "$(git rev-parse HEAD 2>/dev/null || echo demo)"
wt preview list
step "preview down for pull request 1"
wt preview down --pr 1

for stack in example "${platform[@]}"; do
  step "down $stack"
  wt down "$stack"
done
step "done: everything the demo started is stopped"
