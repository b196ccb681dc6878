#!/usr/bin/env bash
# Installs the Kubernetes tools the tests need, pinned (scripts/versions.env), into the tools cache keyed by
# version: kube-apiserver, kube-controller-manager, kubectl and etcd built from their Go modules, kustomize,
# kubeconform, Flux's CRDs generated with controller-gen from Flux's Go API modules (Flux's release
# downloads are not reachable from CI), the CRDs of cert-manager, External Secrets and CloudNativePG taken
# from their Go modules, Flux's source-controller and kustomize-controller, plus JSON schemas for kubeconform made from the Kubernetes OpenAPI document shipped
# in the k8s.io/kubernetes module and from those CRDs. Idempotent: what is already built at
# its pinned version is left alone. Writes the manifest `kube-tools.env`.
set -euo pipefail
shopt -s inherit_errexit

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
. "$here/versions.env"

cache="${WILDSIDE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wildside-tofu}"
mkdir -p "$cache"
export GOWORK=off GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
log() { printf 'kube-tools: %s\n' "$*" >&2; }

module_dir() {
  go mod download -json "$1@$2" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("Dir") or sys.exit(d.get("Error")))'
}

# A writable copy of a downloaded module, to edit its go.mod and build there.
scratch_copy() {
  local dir scratch
  dir="$(module_dir "$1" "$2")"
  [ -d "$dir" ] || { log "no module directory for $1@$2"; return 1; }
  scratch="$(mktemp -d)"
  cp -r "$dir/." "$scratch/"
  chmod -R u+w "$scratch"
  printf '%s\n' "$scratch"
}

# The modules a go.mod replaces with a directory of the same repository (./staging/..., ../api, ...).
local_replacements() {
  go mod edit -json | python3 -c '
import json, sys
for r in json.load(sys.stdin).get("Replace") or []:
    new = r["New"]["Path"]
    if (new.startswith("./") or new.startswith("../")) and "FORBIDDEN" not in new:
        print(r["Old"]["Path"])'
}

# kube-apiserver, kube-controller-manager and kubectl from k8s.io/kubernetes. Its go.mod replaces the
# k8s.io/* staging modules with ./staging directories the module download lacks; the copy requires the
# published modules of the matching v0.x version instead.
install_kubernetes() {
  local dir="$cache/kubernetes/$KUBERNETES_VERSION" staging="v0.${KUBERNETES_VERSION#*.}"
  if [ -x "$dir/kube-apiserver" ] && [ -x "$dir/kube-controller-manager" ] && [ -x "$dir/kubectl" ] \
    && "$dir/kube-apiserver" --version 2>/dev/null | grep -x "Kubernetes v$KUBERNETES_VERSION" >/dev/null; then
    return
  fi
  log "building kube-apiserver, kube-controller-manager and kubectl $KUBERNETES_VERSION from k8s.io/kubernetes (about 15 minutes, once)"
  local scratch module ldflags=""
  scratch="$(scratch_copy k8s.io/kubernetes "v$KUBERNETES_VERSION")"
  (
    cd "$scratch"
    for module in $(local_replacements); do
      go mod edit -dropreplace="$module" -require="$module@$staging"
    done
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldflags+=" -X $pkg.gitVersion=v$KUBERNETES_VERSION -X $pkg.gitMajor=${KUBERNETES_VERSION%%.*}"
      ldflags+=" -X $pkg.gitMinor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2) -X $pkg.gitTreeState=clean"
    done
    mkdir -p out
    go build -trimpath -ldflags "-s -w$ldflags" -o out/ ./cmd/kube-apiserver ./cmd/kube-controller-manager ./cmd/kubectl
    mkdir -p "$dir"
    mv out/kube-apiserver out/kube-controller-manager out/kubectl "$dir/"
    cp api/openapi-spec/swagger.json "$dir/swagger.json"
  )
  rm -rf "$scratch"
}

# etcd from go.etcd.io/etcd/server/v3, whose go.mod replaces its sibling modules with ../ paths; the copy
# uses the published sibling modules its go.mod already requires at the same version.
install_etcd() {
  local dir="$cache/etcd/$ETCD_VERSION"
  if [ -x "$dir/etcd" ] && "$dir/etcd" --version 2>/dev/null | grep "etcd Version: $ETCD_VERSION" >/dev/null; then
    return
  fi
  log "building etcd $ETCD_VERSION from go.etcd.io/etcd/server/v3"
  local scratch module
  scratch="$(scratch_copy go.etcd.io/etcd/server/v3 "v$ETCD_VERSION")"
  (
    cd "$scratch"
    for module in $(local_replacements); do
      go mod edit -dropreplace="$module"
    done
    go build -trimpath -ldflags "-s -w" -o etcd.out .
    mkdir -p "$dir"
    mv etcd.out "$dir/etcd"
  )
  rm -rf "$scratch"
}

go_install() {
  local dir="$1" package="$2" binary="$3"
  if [ ! -x "$dir/$binary" ]; then
    log "building $package"
    mkdir -p "$dir"
    GOBIN="$dir" go install -trimpath -ldflags "-s -w" "$package"
  fi
}

# Flux's CRDs, generated as Flux's own build does: controller-gen over each controller's api module.
install_flux_crds() {
  local dir="$cache/flux-crds/source-$FLUX_SOURCE_API_VERSION-kustomize-$FLUX_KUSTOMIZE_API_VERSION-helm-$FLUX_HELM_API_VERSION-notification-$FLUX_NOTIFICATION_API_VERSION"
  FLUX_CRDS="$dir/crds"
  [ -f "$dir/.complete" ] && return
  log "generating Flux CRDs with controller-gen $CONTROLLER_TOOLS_VERSION"
  rm -rf "$dir"
  mkdir -p "$FLUX_CRDS"
  local entry module version scratch
  for entry in "source-controller/api@$FLUX_SOURCE_API_VERSION" "kustomize-controller/api@$FLUX_KUSTOMIZE_API_VERSION" \
    "helm-controller/api@$FLUX_HELM_API_VERSION" "notification-controller/api@$FLUX_NOTIFICATION_API_VERSION"; do
    module="github.com/fluxcd/${entry%@*}" version="v${entry#*@}"
    scratch="$(scratch_copy "$module" "$version")"
    (cd "$scratch" && "$CONTROLLER_GEN" crd paths=./... output:crd:dir="$FLUX_CRDS")
    rm -rf "$scratch"
  done
  touch "$dir/.complete"
}

# Flux's source-controller and kustomize-controller, built from their pinned Go modules (the version of their
# api modules) so that Flux itself can reconcile a sandbox cluster (scripts/local-flux.py runs them). Each
# go.mod replaces its api module with ./api, which the module download lacks: the copy requires the published
# api module instead. A dependency version the Go module proxy refuses is replaced by the one
# FLUX_MODULE_SUBSTITUTES names.
install_flux_controllers() {
  local entry controller version dir substitute
  for entry in "source-controller@$FLUX_SOURCE_API_VERSION" "kustomize-controller@$FLUX_KUSTOMIZE_API_VERSION"; do
    controller="${entry%@*}" version="v${entry#*@}"
    dir="$cache/flux/$controller/$version"
    [ -x "$dir/$controller" ] && continue
    log "building Flux's $controller $version from its Go module (several minutes, once)"
    local scratch
    scratch="$(scratch_copy "github.com/fluxcd/$controller" "$version")"
    (
      cd "$scratch"
      go mod edit -dropreplace="github.com/fluxcd/$controller/api" -require="github.com/fluxcd/$controller/api@$version"
      for substitute in $FLUX_MODULE_SUBSTITUTES; do
        go mod edit -replace="${substitute%@*}=$substitute"
      done
      go build -trimpath -ldflags "-s -w" -o "$controller.out" .
      mkdir -p "$dir"
      mv "$controller.out" "$dir/$controller"
    )
    rm -rf "$scratch"
  done
}

# A Python with PyYAML, for the scripts that read CRDs.
yaml_python() {
  local venv="$cache/pyyaml/$PYYAML_VERSION"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv" >&2
  "$venv/bin/python" -c 'import yaml' 2>/dev/null || "$venv/bin/pip" install --quiet "pyyaml==$PYYAML_VERSION" >&2
  printf '%s\n' "$venv/bin/python"
}

# The CRDs of the operators the platform installs, generated as their own builds generate them: controller-gen
# over the API packages of cert-manager's, External Secrets' and CloudNativePG's pinned Go modules.
install_operator_crds() {
  # The leading number changes whenever how the CRDs are made changes, so that a cached set is made again.
  local dir="$cache/operator-crds/2-controller-gen-$CONTROLLER_TOOLS_VERSION-cert-manager-$CERT_MANAGER_VERSION-external-secrets-$EXTERNAL_SECRETS_VERSION-cloudnative-pg-$CLOUDNATIVE_PG_VERSION"
  OPERATOR_CRDS="$dir/crds"
  [ -f "$dir/.complete" ] && return
  log "generating the operators' CRDs with controller-gen $CONTROLLER_TOOLS_VERSION"
  rm -rf "$dir"
  mkdir -p "$OPERATOR_CRDS"
  local entry module version packages scratch path
  for entry in "cert-manager/cert-manager@$CERT_MANAGER_VERSION:./pkg/apis/certmanager/v1/... ./pkg/apis/acme/v1/..." \
    "external-secrets/external-secrets@$EXTERNAL_SECRETS_VERSION:./apis/..." \
    "cloudnative-pg/cloudnative-pg@$CLOUDNATIVE_PG_VERSION:./api/..."; do
    module="github.com/${entry%%@*}" version="${entry#*@}" packages="${version#*:}" version="v${version%%:*}"
    scratch="$(scratch_copy "$module" "$version")"
    local args=()
    for path in $packages; do args+=("paths=$path"); done
    (cd "$scratch" && "$CONTROLLER_GEN" crd "${args[@]}" output:crd:dir="$OPERATOR_CRDS")
    rm -rf "$scratch"
  done
  # cert-manager marks its cluster-scoped kind for its client generator (+genclient:nonNamespaced), which
  # controller-gen does not read, so it makes ClusterIssuer namespaced; the API server would then refuse
  # the platform's ClusterIssuer, which has no namespace.
  "$(yaml_python)" - "$OPERATOR_CRDS/cert-manager.io_clusterissuers.yaml" <<'PY'
import sys
import yaml
path = sys.argv[1]
with open(path) as file:
    definition = yaml.safe_load(file)
definition["spec"]["scope"] = "Cluster"
with open(path, "w") as file:
    yaml.safe_dump(definition, file, sort_keys=False)
PY
  touch "$dir/.complete"
}

# kubeconform's default schema location (GitHub) is not reachable: its schemas are made here, in its
# file layout, from the Kubernetes OpenAPI document, the Flux CRDs and the operators' CRDs.
install_schemas() {
  local dir="$cache/kubeconform-schemas/kubernetes-$KUBERNETES_VERSION-$(basename "$(dirname "$FLUX_CRDS")")-$(basename "$(dirname "$OPERATOR_CRDS")")"
  KUBECONFORM_SCHEMAS="$dir"
  [ -f "$dir/.complete" ] && return
  log "writing kubeconform schemas"
  rm -rf "$dir"
  mkdir -p "$dir"
  "$(yaml_python)" "$here/kube-schemas.py" "$cache/kubernetes/$KUBERNETES_VERSION/swagger.json" "$dir" \
    "$FLUX_CRDS" "$OPERATOR_CRDS"
  touch "$dir/.complete"
}

started=$SECONDS
install_etcd
install_kubernetes
go_install "$cache/kustomize/$KUSTOMIZE_VERSION" "sigs.k8s.io/kustomize/kustomize/v5@v$KUSTOMIZE_VERSION" kustomize
go_install "$cache/kubeconform/$KUBECONFORM_VERSION" "github.com/yannh/kubeconform/cmd/kubeconform@v$KUBECONFORM_VERSION" kubeconform
go_install "$cache/controller-gen/$CONTROLLER_TOOLS_VERSION" "sigs.k8s.io/controller-tools/cmd/controller-gen@v$CONTROLLER_TOOLS_VERSION" controller-gen
CONTROLLER_GEN="$cache/controller-gen/$CONTROLLER_TOOLS_VERSION/controller-gen"
install_flux_crds
install_operator_crds
install_schemas
install_flux_controllers

kube="$cache/kubernetes/$KUBERNETES_VERSION"
cat >"$cache/kube-tools.env.tmp" <<ENV
# Generated by scripts/kube-tools.sh; read by the sandbox and the tests.
KUBE_APISERVER=$kube/kube-apiserver
KUBE_CONTROLLER_MANAGER=$kube/kube-controller-manager
KUBECTL=$kube/kubectl
ETCD=$cache/etcd/$ETCD_VERSION/etcd
KUSTOMIZE=$cache/kustomize/$KUSTOMIZE_VERSION/kustomize
KUBECONFORM=$cache/kubeconform/$KUBECONFORM_VERSION/kubeconform
FLUX_CRDS=$FLUX_CRDS
OPERATOR_CRDS=$OPERATOR_CRDS
KUBECONFORM_SCHEMAS=$KUBECONFORM_SCHEMAS
KUBECONFORM_SCHEMA_LOCATION=$KUBECONFORM_SCHEMAS/{{.ResourceKind}}{{.KindSuffix}}.json
CONTROLLER_GEN=$CONTROLLER_GEN
FLUX_SOURCE_CONTROLLER=$cache/flux/source-controller/v$FLUX_SOURCE_API_VERSION/source-controller
FLUX_KUSTOMIZE_CONTROLLER=$cache/flux/kustomize-controller/v$FLUX_KUSTOMIZE_API_VERSION/kustomize-controller
ENV
mv "$cache/kube-tools.env.tmp" "$cache/kube-tools.env"
log "kube tools ready in $((SECONDS - started))s (manifest: $cache/kube-tools.env)"
