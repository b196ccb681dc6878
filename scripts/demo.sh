#!/usr/bin/env bash
# The README's main command. Starts an OpenBao dev server and the local DigitalOcean sandbox, brings the demo
# platform up on the sandbox with the real provider, reads its kubeconfig back from OpenBao, hibernates and wakes
# it, lets Flux (its controllers run locally) reconcile the cluster from the platform repository and a namespace
# preview for pull request 1 from the application repository, runs the Vault appliance (up, bootstrap through its
# load balancer, outputs into it, kubeconfig back, down), opens and closes a preview for pull request 1, writes
# the pull-request comment, and takes everything down again. Where the DigitalOcean provider cannot be installed
# it says why and runs every step that needs no provider.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/provider.sh
repo="$(pwd)"
bin="${CARGO_TARGET_DIR:-$repo/target}/release/wildside-tofu"
sandbox_bin="${CARGO_TARGET_DIR:-$repo/target}/release/wildside-sandbox"
bao="$(sed -n 's/^WILDSIDE_BAO_BIN=//p' "${WILDSIDE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wildside-tofu}/tools.env")"
kube_tool() { sed -n "s/^$1=//p" "$tools_dir/kube-tools.env" 2>/dev/null; }
bao_address=127.0.0.1:18200
sandbox_address=127.0.0.1:18686
git_address=127.0.0.1:18687
tools_dir="${WILDSIDE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wildside-tofu}"

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
step() { printf '\n==> %s\n' "$*" >&2; }

for address in "$bao_address" "$sandbox_address" "$git_address"; do
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

# Said in a box, at the start and again at the end, so nobody takes the shortened demo for the whole one.
missing_provider=""
provider_box() {
  local lines=("THE DIGITALOCEAN PROVIDER CANNOT BE INSTALLED HERE")
  local line rule
  while IFS= read -r line; do lines+=("$line"); done < <(printf '%s\n' "$missing_provider" | fold -s -w 106)
  lines+=("Skipped: the platform (VPC, DOKS cluster) and the Vault appliance." "Ran: every step that needs no provider.")
  rule="$(printf '%*s' 110 '' | tr ' ' '#')"
  printf '\n%s\n' "$rule" >&2
  for line in "${lines[@]}"; do
    printf '# %-106.106s #\n' "$line" >&2
  done
  printf '%s\n\n' "$rule" >&2
}

# The sandbox runs either way: without the provider, the GitOps part still gets a cluster from its API.
step "starting the DigitalOcean sandbox on $sandbox_address"
# Its state file puts the droplets' disks (the appliance's servers run from them) under $sandbox_data.
sandbox_data="$work/sandbox.json.droplets"
"$sandbox_bin" serve --listen "$sandbox_address" --delay 200ms --state "$work/sandbox.json" 2>"$work/sandbox.log" &
pids+=($!)
export WILDSIDE_SANDBOX="http://$sandbox_address"
for _ in $(seq 50); do grep -q listening "$work/sandbox.log" && break; sleep 0.1; done
head -1 "$work/sandbox.log" >&2
if mirror="$(digitalocean_provider_mirror)"; then
  export WILDSIDE_PROVIDER_MIRROR="$mirror"
  platform=(platform)
else
  missing_provider="$mirror"
  provider_box
  platform=()
fi

# The Vault appliance (demo/stacks/appliance.toml): up on the sandbox, where its droplet runs a real OpenBao;
# `vault bootstrap --appliance` through its load balancer, the CA the node made trusted only once it proves
# itself with the stack's enrollment token, then TLS verified against it; the stack's [vault]
# becomes the appliance, `outputs push` writes the kubeconfig into it and `kubeconfig` reads it back; down.
appliance_flow() {
  if [ "$(id -u)" != 0 ] && [ "$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start 2>/dev/null || echo 1024)" -gt 443 ]; then
    echo "demo: skipping the Vault appliance: its load balancer listens on port 443, which needs root or CAP_NET_BIND_SERVICE here" >&2
    return 0
  fi
  local stack="$work/project/stacks/appliance.toml" ca="$work/project/appliance-ca.pem" endpoint role_id
  cp "$stack" "$work/appliance.toml"
  step "up appliance (a one-node OpenBao appliance behind the sandbox's load balancer)"
  wt up appliance --yes
  wt output appliance --json >"$work/appliance-outputs.json"
  endpoint="$(python3 -c 'import json,sys; print(next(o["value"] for o in json.load(open(sys.argv[1]))["outputs"] if o["name"] == "vault_endpoint"))' "$work/appliance-outputs.json")"
  step "vault bootstrap --appliance appliance --ca-cert appliance-ca.pem (through the balancer)"
  bootstrap_appliance() {
    wt --output json vault bootstrap "$@" --ca-cert "$ca" \
      --state-file "$work/appliance-bootstrap.json" --secret-id-file "$work/appliance-secret-id" \
      --plan-secret-id-file "$work/appliance-plan-secret-id" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["apply"]["role_id"])'
  }
  role_id="$(bootstrap_appliance --appliance appliance)"
  echo "bootstrapped: apply role_id $role_id; unseal keys and root token in the bootstrap state file" >&2
  cat >>"$stack" <<TOML

[vault]
address = "$endpoint"
ca_cert = "appliance-ca.pem"
auth = "approle"

[outputs_to_vault]
kubeconfig = "kubeconfig"
TOML
  step "vault bootstrap again (the CA now pinned): the apply role may now write the appliance stack's outputs"
  role_id="$(bootstrap_appliance --address "$endpoint")"
  step "outputs push appliance (into the appliance itself)"
  VAULT_ROLE_ID="$role_id" VAULT_SECRET_ID="$(cat "$work/appliance-secret-id")" wt outputs push appliance
  step "kubeconfig appliance (read back from the appliance)"
  VAULT_ROLE_ID="$role_id" VAULT_SECRET_ID="$(cat "$work/appliance-secret-id")" wt kubeconfig appliance | head -5
  cp "$work/appliance.toml" "$stack"
  step "down appliance"
  wt down appliance --yes
  for _ in $(seq 40); do
    [ -z "$(ls -A "$sandbox_data" 2>/dev/null)" ] && break
    sleep 0.25
  done
  echo "the sandbox stopped $(grep -c 'is deleted: its server stops' "$work/sandbox.log") appliance server(s); droplet disks left: $(ls -A "$sandbox_data" 2>/dev/null | wc -l)" >&2
}

# GitOps past the platform: Flux's source-controller and kustomize-controller (built from their Go modules by
# `make kube-tools`) run as local processes against the platform cluster's real API server and clone the two
# bare repositories from a local Git server. `gitops push` commits the platform tree, `gitops bootstrap` installs
# Flux's CRDs and points it at the cluster path; Flux applies the platform. A namespace preview for pull request
# 1 commits its overlay and Flux makes the namespace with its quota; closing it removes the overlay and Flux
# prunes the namespace. A Git host's webhook would tell Flux of each push; here kubectl annotates the
# GitRepository as Flux's webhook receiver does. The operators' CRDs stand in for the charts helm-controller
# would install (it is not run: the sandbox's clusters have no nodes).
# A running cluster made through the sandbox's API, its kubeconfig written to $1.
sandbox_cluster() {
  local api="$WILDSIDE_SANDBOX/v2/kubernetes/clusters" id version
  version="$(curl -fsS -H 'Authorization: Bearer demo' "$WILDSIDE_SANDBOX/v2/kubernetes/options" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["options"]["versions"][0]["slug"])')"
  id="$(curl -fsS -H 'Authorization: Bearer demo' -H 'Content-Type: application/json' "$api" \
    -d "{\"name\": \"demo-gitops\", \"region\": \"nyc3\", \"version\": \"$version\", \"node_pools\": [{\"name\": \"default\", \"size\": \"s-2vcpu-4gb\", \"count\": 1}]}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["kubernetes_cluster"]["id"])')"
  for _ in $(seq 600); do
    curl -fsS -H 'Authorization: Bearer demo' "$api/$id" | grep -q '"state":"running"' && break
    sleep 0.5
  done
  curl -fsS -H 'Authorization: Bearer demo' "$api/$id/kubeconfig" >"$1"
  chmod 600 "$1"
}

gitops_flow() {
  local kubectl flux_crds operator_crds missing="" key
  for key in KUBECTL FLUX_CRDS OPERATOR_CRDS FLUX_SOURCE_CONTROLLER FLUX_KUSTOMIZE_CONTROLLER; do
    [ -e "$(kube_tool "$key")" ] || missing="$missing $key"
  done
  if [ -n "$missing" ]; then
    echo "demo: skipping GitOps: $tools_dir/kube-tools.env names no$missing (make kube-tools builds them)" >&2
    return 0
  fi
  kubectl="$(kube_tool KUBECTL)" flux_crds="$(kube_tool FLUX_CRDS)" operator_crds="$(kube_tool OPERATOR_CRDS)"
  local kubeconfig="$work/cluster-kubeconfig" repositories="$work/project/gitops" namespace=wildside-pr-1
  local gitops_stack bootstrap_args=()
  if [ ${#platform[@]} -gt 0 ]; then
    gitops_stack=platform
    wt kubeconfig platform --write "$kubeconfig"
  else
    # Without the provider there is no platform stack: a cluster made through the sandbox's API stands in,
    # and the namespace preview stack (which names the same repositories) is pushed and bootstrapped.
    gitops_stack=apps
    step "a cluster from the sandbox's API (the platform stack needs the provider)"
    sandbox_cluster "$kubeconfig"
    bootstrap_args=(--kubeconfig "$kubeconfig")
  fi
  kube() { "$kubectl" --kubeconfig "$kubeconfig" --request-timeout 60s "$@"; }
  mkdir -p "$repositories"
  git init --quiet --bare --initial-branch main "$repositories/wildside-infra.git"
  git init --quiet --bare --initial-branch main "$repositories/wildside-apps.git"
  step "starting Flux's source-controller and kustomize-controller, and a Git server on $git_address"
  python3 scripts/local-flux.py --kubeconfig "$kubeconfig" --repositories "$repositories" \
    --work "$work/flux" --git-listen "$git_address" >"$work/flux.out" 2>&1 &
  local flux_pid=$!
  pids+=("$flux_pid")
  kube apply --server-side -f "$operator_crds" >/dev/null
  step "gitops push $gitops_stack (the platform tree into wildside-infra)"
  wt gitops push "$gitops_stack"
  step "gitops bootstrap $gitops_stack (Flux's CRDs, its GitRepository and Kustomization)"
  WILDSIDE_GITOPS_TOKEN=demo-git-token wt gitops bootstrap "$gitops_stack" --crds "$flux_crds" "${bootstrap_args[@]}"
  for _ in $(seq 600); do grep -qx ready "$work/flux.out" && break; kill -0 "$flux_pid" 2>/dev/null || break; sleep 0.2; done
  grep -qx ready "$work/flux.out" || { cat "$work/flux.out" >&2; echo "demo: Flux's controllers did not start (logs in $work/flux)" >&2; return 1; }
  kube -n flux-system wait --for=condition=Ready --timeout=180s kustomization/flux-system kustomization/platform-databases
  kube -n flux-system get gitrepositories,kustomizations
  step "preview up for pull request 1 (namespace kind: its overlay committed to wildside-apps)"
  local committed
  wt preview --stack apps up --yes --pr 1 --sha "$(git rev-parse HEAD 2>/dev/null || echo demo)"
  committed=$SECONDS
  kube -n flux-system annotate --overwrite gitrepository/apps "reconcile.fluxcd.io/requestedAt=$(date +%s%N)" >/dev/null
  for _ in $(seq 600); do
    [ -n "$(kube -n "$namespace" get resourcequota preview -o jsonpath='{.status.hard.requests\.cpu}' 2>/dev/null)" ] && break
    sleep 0.2
  done
  kube get namespace "$namespace" --show-labels
  kube -n "$namespace" get resourcequota,limitrange,networkpolicy
  echo "Flux made namespace $namespace with its quota $((SECONDS - committed))s after the commit" >&2
  step "preview down for pull request 1 (the overlay removed; Flux prunes the namespace)"
  wt preview --stack apps down --yes --pr 1
  kube -n flux-system annotate --overwrite gitrepository/apps "reconcile.fluxcd.io/requestedAt=$(date +%s%N)" >/dev/null
  kube wait --for=delete "namespace/$namespace" --timeout=180s
  echo "namespace $namespace is gone" >&2
  kill -INT "$flux_pid" 2>/dev/null || true
  wait "$flux_pid" 2>/dev/null || true
}

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
  wt up "$stack" --yes
  step "plan $stack (expect no changes)"
  wt plan "$stack" --detailed-exitcode
done
if [ ${#platform[@]} -gt 0 ]; then
  step "kubeconfig platform (read back from OpenBao)"
  wt kubeconfig platform | head -12
  step "hibernate platform (node pools to their floor), plan (expect no changes), wake"
  wt hibernate platform --yes
  wt plan platform --detailed-exitcode
  wt wake platform --yes
fi
gitops_flow
if [ ${#platform[@]} -gt 0 ]; then
  appliance_flow
fi
step "output example"
wt output example

step "preview up for pull request 1"
wt preview up --yes --pr 1 --sha "$(git rev-parse HEAD 2>/dev/null || echo demo)"
wt preview list
step "preview down for pull request 1"
wt preview down --yes --pr 1

for stack in example "${platform[@]}"; do
  step "down $stack"
  wt down "$stack" --yes
done
step "done: everything the demo started is stopped"
if [ -n "$missing_provider" ]; then
  provider_box
fi
