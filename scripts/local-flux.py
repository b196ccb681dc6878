#!/usr/bin/env python3
"""Flux's source-controller and kustomize-controller as local processes against one cluster, with a Git
smart-HTTP server (scripts/git-http.py) for the bare repositories they clone, all on loopback.

A Flux installed in a cluster runs these controllers as pods; a sandbox cluster has an API server and no
nodes, so they run here instead, built from their pinned Go modules by `make test-tools` (kube-tools.env:
FLUX_SOURCE_CONTROLLER, FLUX_KUSTOMIZE_CONTROLLER). What they reconcile is Flux's own doing: source-controller
clones the repositories the GitRepository objects name and serves the artifacts, kustomize-controller builds
and applies them server-side and prunes what a commit removed.

Usage: local-flux.py --kubeconfig FILE --repositories DIR --work DIR [--git-listen 127.0.0.1:PORT]
Prints `git http://ADDRESS` once the Git server listens. Then it waits for Flux's CRDs (`gitops bootstrap`
installs them), starts the controllers, prints `ready` once they answer their health checks, and runs until
it gets SIGINT or SIGTERM, which it passes on to them (or one of them exits).
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent


def kube_tools():
    cache = os.environ.get("WILDSIDE_TOOLS_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "wildside-tofu"
    )
    manifest = Path(cache) / "kube-tools.env"
    if not manifest.exists():
        sys.exit(f"local-flux: {manifest} is missing: run `make test-tools`")
    tools = dict(line.split("=", 1) for line in manifest.read_text().splitlines() if "=" in line)
    for key in ("KUBECTL", "FLUX_CRDS", "FLUX_SOURCE_CONTROLLER", "FLUX_KUSTOMIZE_CONTROLLER"):
        if not tools.get(key):
            sys.exit(f"local-flux: {manifest} names no {key}: run `make test-tools`")
    return tools


def free_address():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


def wait_healthy(name, address, process, deadline):
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"local-flux: {name} exited with {process.returncode}; see its log")
        try:
            with urllib.request.urlopen(f"http://{address}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(f"local-flux: {name} did not become healthy at {address}")


def flux_crd_names(directory):
    """The names of the CRDs in Flux's CRD directory (controller-gen names each file `<group>_<plural>.yaml`)."""
    names = []
    for file in sorted(Path(directory).glob("*.yaml")):
        group, _, plural = file.stem.partition("_")
        names.append(f"{plural}.{group}")
    return names


def wait_for_crds(tools, kubeconfig, deadline):
    """Waits until every Flux CRD is established: the controllers refuse to start without them, and
    `gitops bootstrap` installs them."""
    command = [tools["KUBECTL"], "--kubeconfig", kubeconfig, "--request-timeout", "10s", "wait",
               "--for=condition=established", "--timeout=5s"]
    command += [f"crd/{name}" for name in flux_crd_names(tools["FLUX_CRDS"])]
    while time.monotonic() < deadline:
        if subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
            return
        time.sleep(0.5)
    sys.exit("local-flux: Flux's CRDs were not installed in time (run `wildside-tofu gitops bootstrap`)")


def run(args, tools, children):
    work = Path(args.work)
    (work / "artifacts").mkdir(parents=True, exist_ok=True)
    git = subprocess.Popen(
        [sys.executable, str(HERE / "git-http.py"), args.repositories, "--listen", args.git_listen],
        stdout=subprocess.PIPE,
        text=True,
    )
    children.append(git)
    line = git.stdout.readline().strip()
    if not line.startswith("listening on "):
        sys.exit("local-flux: the Git server did not start")
    print(f"git {line.removeprefix('listening on ')}", flush=True)

    wait_for_crds(tools, args.kubeconfig, time.monotonic() + 600)
    environment = dict(os.environ, KUBECONFIG=args.kubeconfig, RUNTIME_NAMESPACE="flux-system")
    storage = free_address()
    controllers = {
        "source-controller": [
            tools["FLUX_SOURCE_CONTROLLER"],
            f"--storage-path={work / 'artifacts'}",
            f"--storage-addr={storage}",
            f"--storage-adv-addr={storage}",
        ],
        "kustomize-controller": [tools["FLUX_KUSTOMIZE_CONTROLLER"]],
    }
    deadline = time.monotonic() + 120
    for name, command in controllers.items():
        health = free_address()
        command += [
            f"--health-addr={health}",
            f"--metrics-addr={free_address()}",
            "--enable-leader-election=false",
            "--log-level=info",
        ]
        with open(work / f"{name}.log", "wb") as log:
            process = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)
        children.append(process)
        wait_healthy(name, health, process, deadline)
    print("ready", flush=True)
    while all(child.poll() is None for child in children):
        time.sleep(0.5)
    sys.exit("local-flux: a child exited: " + ", ".join(
        f"{' '.join(map(str, child.args[:1]))} ({child.returncode})" for child in children if child.poll() is not None))


def stop(children):
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--repositories", required=True, help="the directory holding the bare repositories")
    parser.add_argument("--work", required=True, help="a directory for the artifacts and the controllers' logs")
    parser.add_argument("--git-listen", default="127.0.0.1:0")
    args = parser.parse_args()
    tools = kube_tools()

    def interrupted(*_):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    children = []
    try:
        run(args, tools, children)
    finally:
        stop(children)


if __name__ == "__main__":
    main()
