#!/usr/bin/env python3
"""`make bench`: wildside-tofu against raw `tofu plan`, side by side in the same run. Prints medians and ratios;
asserts nothing.

- `wildside-tofu plan example` vs raw `tofu plan` in the same initialised directory, alternated;
- a repeated `wildside-tofu up example` with no changes vs raw `tofu plan`;
- the driver's peak RSS (VmHWM of the wildside-tofu process itself, sampled while it runs), for `plan` and for
  a no-op `up` (target <= 20 MiB: the policy engine is loaded only for a plan with changes);
- the size of the release binary (target <= 12 MB);
- `plan --all` over 20 stacks with parallelism 4 vs 1, and how many provider copies the shared cache holds;
- `preview up` + `preview down` against the same tofu commands run raw (OpenBao dev server for the ledger);
- a cluster preview's `preview up` + `down` on the DigitalOcean sandbox against the same tofu commands run raw,
  and 20 concurrent previews against one (where a mirror holds the DigitalOcean provider);
- namespace previews reconciled by Flux's controllers on a sandbox cluster's real API server: from the overlay
  committed to the namespace ready, and from `preview down` to the namespace gone, p50 and p95, for 1 and for 20
  concurrent previews (alone with `BENCH_ONLY=gitops`; needs the Kubernetes tools, `make test-tools`);
- `render --all` of 1,000 and 2,000 generated platform stacks;
- policy evaluation of a 2,000-resource plan with the built-in rules: `wildside-tofu policy check` (regorus,
  in-process) vs `conftest test` given the same Rego files and plan JSON (target <= 0.2x conftest's time).
- `plan` of a 500-resource state, encrypted (passphrase, and an OpenBao transit key) vs unencrypted, alternated
  (alone with `BENCH_ONLY=encryption`; `BENCH_BIN` runs another build of wildside-tofu, e.g. to compare two).

`BENCH_ONLY=driver` runs only the size, start-up, plan and no-op `up` part.

The comparisons with raw tofu use stacks with `[encryption] enabled = false`, so both sides do the same work;
the cost of encryption is measured on its own.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

RUNS = int(os.environ.get("BENCH_RUNS", "9"))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
BIN = os.environ.get("BENCH_BIN") or os.path.join(TARGET, "release", "wildside-tofu")
SANDBOX_BIN = os.path.join(TARGET, "release", "wildside-sandbox")
# Stacks without [vault] encrypt their state with a passphrase; the bench's own.
os.environ.setdefault("WILDSIDE_STATE_PASSPHRASE", "bench-state-passphrase-0123456789")
PLAIN = "\n[encryption]\nenabled = false\n"


def read_manifest(name):
    """The entries of one of the tools cache's manifests (`tools.env`, `test-tools.env`, `kube-tools.env`)."""
    cache = os.environ.get("WILDSIDE_TOOLS_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "wildside-tofu")
    with open(os.path.join(cache, name)) as file:
        return dict(line.strip().split("=", 1) for line in file if "=" in line and not line.startswith("#"))


def tools():
    return {**read_manifest("tools.env"), **read_manifest("test-tools.env")}


def timed(command, cwd=None, env=None, ok=(0, 2)):
    """Wall time of one run, and the peak RSS (KiB) of the process itself."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while process.poll() is None:
        try:
            with open(f"/proc/{process.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.002)
    elapsed = time.perf_counter() - start
    if process.returncode not in ok:
        sys.exit(f"bench: {' '.join(command)} exited {process.returncode}")
    return elapsed, peak


def plan_all(parallelism, cache):
    """Wall time of `plan --all` over 20 fresh stacks (init included), with a shared plugin cache."""
    project = tempfile.mkdtemp(prefix="wildside-bench-set-")
    try:
        shutil.copytree(os.path.join(ROOT, "modules"), os.path.join(project, "modules"))
        os.makedirs(os.path.join(project, "stacks"))
        for i in range(20):
            with open(os.path.join(project, "stacks", f"s{i:02}.toml"), "w") as stack:
                stack.write(f'[[modules]]\nname = "m{i}"\nsource = "example"\ninputs = {{ message = "s{i}" }}\n')
        command = [BIN, "--project", project, "--plugin-cache", cache, "plan", "--all",
                   "--parallelism", str(parallelism)]
        return timed(command)[0]
    finally:
        shutil.rmtree(project, ignore_errors=True)


def providers_in(cache):
    return sum(len(files) for _, _, files in os.walk(cache))


def bench_plan_all():
    cache = tempfile.mkdtemp(prefix="wildside-bench-cache-")
    try:
        runs = {"sequential (parallelism 1)": [], "parallel (parallelism 4)": []}
        for _ in range(max(3, RUNS // 3)):
            runs["sequential (parallelism 1)"].append(plan_all(1, cache))
            runs["parallel (parallelism 4)"].append(plan_all(4, cache))
        sequential = statistics.median(runs["sequential (parallelism 1)"])
        print(f"\nplan --all over 20 stacks (fresh projects, init included), {len(runs['parallel (parallelism 4)'])} runs each")
        for name, values in runs.items():
            median = statistics.median(values)
            print(f"{name:32} {median:7.2f}s  {median / sequential:6.3f}x")
        print(f"provider binaries in the shared plugin cache after all runs: {providers_in(cache)} (fetched once)")
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def bench_render():
    """`render --all` over 1,000 and 2,000 generated platform stacks (prod-like), to show it grows linearly."""
    with open(os.path.join(ROOT, "stacks", "prod.toml")) as prod:
        template = prod.read()
    print("\nrender --all of generated platform stacks (like stacks/prod.toml), 3 runs each")
    per_thousand = []
    for count in (1000, 2000):
        project = tempfile.mkdtemp(prefix="wildside-bench-render-")
        try:
            shutil.copytree(os.path.join(ROOT, "modules"), os.path.join(project, "modules"))
            os.makedirs(os.path.join(project, "stacks"))
            for i in range(count):
                with open(os.path.join(project, "stacks", f"p{i:04}.toml"), "w") as stack:
                    stack.write(template.replace('cidr = "10.20.0.0/16"', f'cidr = "10.{20 + i % 200}.0.0/16"'))
            runs = []
            for _ in range(3):
                # Every run writes every file: no build directory is left from the run before.
                shutil.rmtree(os.path.join(project, ".wildside"), ignore_errors=True)
                runs.append(timed([BIN, "--project", project, "render", "--all"])[0])
            median = statistics.median(runs)
            per_thousand.append(median / count * 1000)
            print(f"{count:5} stacks: {median:6.2f}s  ({median / count * 1000:.2f} ms per stack)")
        finally:
            shutil.rmtree(project, ignore_errors=True)
    print(f"1,000 stacks: {per_thousand[0]:.2f}s (target <= 1s); per-stack cost at 2,000 vs 1,000: {per_thousand[1] / per_thousand[0]:.2f}x")


def bench_preview(manifest):
    """`preview up` + `preview down` against the same tofu commands run raw, alternated."""
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bao = subprocess.Popen([manifest["WILDSIDE_BAO_BIN"], "server", "-dev", "-dev-root-token-id=bench",
                            f"-dev-listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    project = tempfile.mkdtemp(prefix="wildside-bench-preview-")
    try:
        time.sleep(2)
        shutil.copytree(os.path.join(ROOT, "modules"), os.path.join(project, "modules"))
        os.makedirs(os.path.join(project, "stacks"))
        with open(os.path.join(project, "stacks", "preview.toml"), "w") as stack:
            stack.write(f'[vault]\naddress = "http://127.0.0.1:{port}"\n\n[preview]\nmax_concurrent = 100\n\n'
                        '[[modules]]\nname = "app"\nsource = "example"\npreview_inputs = { message = "commit_sha" }\n'
                        + PLAIN)
        env = dict(os.environ, VAULT_TOKEN="bench")
        cli = [BIN, "--project", project]
        subprocess.run(cli + ["preview", "up", "--yes", "--pr", "1", "--sha", "warm"], check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(cli + ["preview", "down", "--yes", "--pr", "1"], check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        build = os.path.join(project, ".wildside", "build", "preview")
        raw_env = dict(os.environ, TF_IN_AUTOMATION="1", TF_INPUT="0", CHECKPOINT_DISABLE="1",
                       TF_CLI_CONFIG_FILE=manifest["WILDSIDE_TOFU_CLI_CONFIG"],
                       TF_PLUGIN_CACHE_DIR=manifest["WILDSIDE_PLUGIN_CACHE"])
        tofu = manifest["WILDSIDE_TOFU_BIN"]

        def raw_cycle(pr):
            start = time.perf_counter()
            workspace_env = dict(raw_env, TF_WORKSPACE=f"pr-{pr}", TF_VAR_commit_sha=f"sha{pr}", TF_VAR_pr_number=str(pr))
            steps = [([tofu, "workspace", "new", f"pr-{pr}"], raw_env),
                     ([tofu, "plan", "-input=false", "-out=raw.tfplan"], workspace_env),
                     ([tofu, "apply", "-input=false", "raw.tfplan"], workspace_env),
                     ([tofu, "apply", "-destroy", "-auto-approve", "-input=false"], workspace_env),
                     ([tofu, "workspace", "select", "default"], raw_env),
                     ([tofu, "workspace", "delete", f"pr-{pr}"], raw_env)]
            for command, command_env in steps:
                subprocess.run(command, cwd=build, env=command_env, check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return time.perf_counter() - start

        def our_cycle(pr):
            start = time.perf_counter()
            for action in (["up", "--yes", "--pr", str(pr), "--sha", f"sha{pr}"], ["down", "--yes", "--pr", str(pr)]):
                subprocess.run(cli + ["preview"] + action, env=env, check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return time.perf_counter() - start

        raw, ours = [], []
        for i in range(5):
            raw.append(raw_cycle(100 + i))
            ours.append(our_cycle(200 + i))
        base = statistics.median(raw)
        print("\npreview up + down (workspace, plan, apply, destroy, workspace delete), 5 alternated runs each")
        print(f"{'raw tofu commands':32} {base:7.2f}s  1.000x")
        print(f"{'wildside-tofu preview up + down':32} {statistics.median(ours):7.2f}s  {statistics.median(ours) / base:6.3f}x (target <= 1.1x)")
    finally:
        bao.terminate()
        bao.wait()
        shutil.rmtree(project, ignore_errors=True)


def digitalocean_mirror(manifest):
    """The filesystem mirror holding the DigitalOcean provider, or None."""
    for mirror in (os.environ.get("WILDSIDE_PROVIDER_MIRROR"), manifest.get("WILDSIDE_PROVIDER_MIRROR")):
        if mirror and os.path.isdir(os.path.join(mirror, "registry.opentofu.org", "digitalocean", "digitalocean")):
            return mirror
    return None


def bench_cluster_preview(manifest):
    """A cluster preview's `preview up` + `down` against the same tofu commands run raw on the same sandbox,
    and the wall time of 20 concurrent previews against one."""
    mirror = digitalocean_mirror(manifest)
    if mirror is None:
        print("\ncluster previews: skipped: no filesystem mirror holds the digitalocean provider "
              "(set WILDSIDE_PROVIDER_MIRROR), and the registries this machine reaches do not serve it")
        return
    import socket
    import tomllib
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    project = tempfile.mkdtemp(prefix="wildside-bench-clusters-")
    bao = subprocess.Popen([manifest["WILDSIDE_BAO_BIN"], "server", "-dev", "-dev-root-token-id=bench",
                            f"-dev-listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sandbox = subprocess.Popen([SANDBOX_BIN, "serve", "--listen", "127.0.0.1:0", "--delay", "100ms"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        url = None
        for line in sandbox.stderr:
            if "listening on" in line:
                url = line.split("listening on ")[1].split()[0]
                break
        time.sleep(2)
        shutil.copytree(os.path.join(ROOT, "modules"), os.path.join(project, "modules"))
        os.makedirs(os.path.join(project, "stacks"))
        with open(os.path.join(ROOT, "stacks", "preview.toml"), "rb") as shipped:
            stack = tomllib.load(shipped)
        # The shipped preview stack's region, range and version, with local state and the benchmark's OpenBao.
        lines = ['[digitalocean]', f'region = "{stack["digitalocean"]["region"]}"',
                 '[backend]', 'type = "local"',
                 '[vault]', f'address = "http://127.0.0.1:{port}"',
                 '[preview]', 'max_concurrent = 50',
                 '[vpc]', f'cidr = "{stack["vpc"]["cidr"]}"',
                 '[cluster]', f'version = "{stack["cluster"]["version"]}"',
                 '[[node_pools]]', 'name = "default"', 'size = "s-2vcpu-4gb"', 'count = 1',
                 '[encryption]', 'enabled = false']
        with open(os.path.join(project, "stacks", "preview.toml"), "w") as out:
            out.write("\n".join(lines) + "\n")
        env = dict(os.environ, VAULT_TOKEN="bench", WILDSIDE_SANDBOX=url, WILDSIDE_PROVIDER_MIRROR=mirror)
        cli = [BIN, "--project", project]
        quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(cli + ["preview", "up", "--yes", "--pr", "1", "--sha", "warm"], check=True, env=env, **quiet)
        subprocess.run(cli + ["preview", "down", "--yes", "--pr", "1"], check=True, env=env, **quiet)
        build = os.path.join(project, ".wildside", "build", "preview")
        raw_env = dict(os.environ, TF_IN_AUTOMATION="1", TF_INPUT="0", CHECKPOINT_DISABLE="1",
                       TF_CLI_CONFIG_FILE=os.path.join(project, ".wildside", "tofurc"),
                       TF_PLUGIN_CACHE_DIR=manifest["WILDSIDE_PLUGIN_CACHE"],
                       DIGITALOCEAN_API_URL=url, DIGITALOCEAN_TOKEN="bench")
        tofu = manifest["WILDSIDE_TOFU_BIN"]

        def raw_cycle(pr):
            start = time.perf_counter()
            workspace_env = dict(raw_env, TF_WORKSPACE=f"pr-{pr}", TF_VAR_commit_sha=f"sha{pr}",
                                 TF_VAR_pr_number=str(pr), TF_VAR_expires_at="2030-01-01T00:00:00Z")
            for command, command_env in [([tofu, "workspace", "new", f"pr-{pr}"], raw_env),
                                         ([tofu, "plan", "-input=false", "-out=raw.tfplan"], workspace_env),
                                         ([tofu, "apply", "-input=false", "raw.tfplan"], workspace_env),
                                         ([tofu, "apply", "-destroy", "-auto-approve", "-input=false"], workspace_env),
                                         ([tofu, "workspace", "select", "default"], raw_env),
                                         ([tofu, "workspace", "delete", f"pr-{pr}"], raw_env)]:
                subprocess.run(command, cwd=build, env=command_env, check=True, **quiet)
            return time.perf_counter() - start

        def our_cycle(pr):
            start = time.perf_counter()
            for action in (["up", "--yes", "--pr", str(pr), "--sha", f"sha{pr}"], ["down", "--yes", "--pr", str(pr)]):
                subprocess.run(cli + ["preview"] + action, env=env, check=True, **quiet)
            return time.perf_counter() - start

        raw, ours = [], []
        for i in range(3):
            raw.append(raw_cycle(100 + i))
            ours.append(our_cycle(200 + i))
        base = statistics.median(raw)
        print("\ncluster preview up + down on the sandbox (VPC, DOKS cluster, project), 3 alternated runs each")
        print(f"{'raw tofu commands':32} {base:7.2f}s  1.000x")
        print(f"{'wildside-tofu preview up + down':32} {statistics.median(ours):7.2f}s  "
              f"{statistics.median(ours) / base:6.3f}x (target <= 1.10x)")

        def ups(prs):
            start = time.perf_counter()
            jobs = [subprocess.Popen(cli + ["preview", "up", "--yes", "--pr", str(pr), "--sha", "c"], env=env, **quiet)
                    for pr in prs]
            if any(job.wait() != 0 for job in jobs):
                raise SystemExit("a preview up failed")
            return time.perf_counter() - start

        one = ups([300])
        twenty = ups(range(301, 321))
        for pr in range(300, 321):
            subprocess.run(cli + ["preview", "down", "--yes", "--pr", str(pr)], env=env, check=True, **quiet)
        print(f"{'one preview up':32} {one:7.2f}s")
        print(f"{'20 concurrent preview ups':32} {twenty:7.2f}s  {twenty / one:6.2f}x one")
    finally:
        for process in (sandbox, bao):
            process.terminate()
            process.wait()
        shutil.rmtree(project, ignore_errors=True)


def big_plan(count):
    """A plan JSON of `count` DigitalOcean resources in the shape `tofu show -json` gives, some breaking rules."""
    changes = []
    kinds = ["droplet", "volume", "firewall", "loadbalancer", "kubernetes_cluster", "kubernetes_node_pool", "vpc", "droplet"]
    for i in range(count):
        kind = kinds[i % len(kinds)]
        address = f"module.fleet.digitalocean_{kind}.r[{i}]"
        after = {"name": f"r-{i}", "tags": ["wildside"] if i % 3 else []}
        if kind == "droplet":
            after.update(size="s-2vcpu-4gb" if i % 5 else "c-32vcpu-64gb", volume_ids=["v"])
        elif kind == "volume":
            after.update(size=10)
        elif kind == "firewall":
            after["inbound_rule"] = [{"protocol": "tcp", "port_range": "22",
                                      "source_addresses": ["0.0.0.0/0" if i % 7 == 0 else "10.0.0.0/8"]}]
        elif kind == "loadbalancer":
            after.update(redirect_http_to_https=i % 2 == 0, forwarding_rule=[
                {"entry_protocol": "https", "entry_port": 443}, {"entry_protocol": "http", "entry_port": 80}])
        elif kind == "kubernetes_cluster":
            after.update(version="1.33.1-do.3" if i % 4 else "1.33", ha=i % 2 == 0, surge_upgrade=True,
                         maintenance_policy=[{"day": "sunday", "start_time": "04:00"}],
                         node_pool=[{"name": "core", "size": "s-4vcpu-8gb", "node_count": 3, "auto_scale": False}])
        elif kind == "kubernetes_node_pool":
            after.update(size="s-4vcpu-8gb", auto_scale=True, min_nodes=1, max_nodes=30 if i % 6 == 0 else 5)
        changes.append({"address": address, "mode": "managed", "type": f"digitalocean_{kind}", "name": "r",
                        "change": {"actions": ["create"], "before": None, "after": after, "after_unknown": {}}})
    return {"format_version": "1.2", "terraform_version": "1.12.6", "resource_changes": changes,
            "configuration": {"provider_config": {"digitalocean": {
                "name": "digitalocean", "full_name": "registry.opentofu.org/digitalocean/digitalocean",
                "version_constraint": "~> 2.50"}}}}


def bench_policy(manifest):
    conftest = manifest.get("WILDSIDE_CONFTEST_BIN")
    if not conftest:
        print("policy: conftest is not installed (run `make tools`); skipped")
        return
    work = tempfile.mkdtemp(prefix="wildside-bench-policy-")
    try:
        os.makedirs(os.path.join(work, "stacks"))
        with open(os.path.join(work, "stacks", "bench.toml"), "w") as out:
            out.write('[digitalocean]\nregion = "nyc3"\n\n[policy]\nproduction = true\nrequired_tags = ["wildside"]\n')
        plan = os.path.join(work, "plan.json")
        with open(plan, "w") as out:
            json.dump(big_plan(2000), out)
        data = os.path.join(work, "data.json")
        with open(data, "w") as out:
            json.dump({"wildside": {"stack_name": "bench", "stack": {}, "settings": {
                "production": True, "required_tags": ["wildside"], "max_node_count": 20, "max_size_vcpus": 16,
                "disabled": []}}}, out)
        rules = os.path.join(ROOT, "policies", "builtin")
        # The same settings both ways: the stack file for wildside-tofu, a data document for conftest.
        ours = [BIN, "--project", work, "policy", "check", "--stack", "bench", "--plan", plan]
        theirs = [conftest, "test", "--no-color", "--all-namespaces", "--policy", rules, "--data", data, plan]
        check = subprocess.run(ours + ["--output", "json"], capture_output=True, text=True)
        denials = len(json.loads(check.stdout)["policy"]["denials"])
        verdict = subprocess.run(theirs + ["--output", "json"], capture_output=True, text=True)
        failures = sum(len(result.get("failures") or []) for result in json.loads(verdict.stdout))
        if denials != failures:
            sys.exit(f"bench: wildside-tofu found {denials} denials, conftest {failures} failures")
        samples = {"wildside-tofu": [], "conftest": []}
        for _ in range(RUNS):
            samples["wildside-tofu"].append(timed(ours, ok=(0, 3))[0])
            samples["conftest"].append(timed(theirs, ok=(0, 1))[0])
        ours_median = statistics.median(samples["wildside-tofu"])
        theirs_median = statistics.median(samples["conftest"])
        print(f"policy, 2,000-resource plan, 8 built-in rules ({denials} denials, the same both ways):")
        print(f"  wildside-tofu policy check: {ours_median * 1000:.0f} ms (median of {RUNS})")
        print(f"  conftest test:              {theirs_median * 1000:.0f} ms (median of {RUNS})")
        print(f"  ratio: {ours_median / theirs_median:.2f}x conftest (target <= 0.2x)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bench_encryption(manifest):
    """`plan` of a 500-resource state: passphrase-encrypted, transit-encrypted and unencrypted, alternated."""
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bao = subprocess.Popen([manifest["WILDSIDE_BAO_BIN"], "server", "-dev", "-dev-root-token-id=bench",
                            f"-dev-listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    project = tempfile.mkdtemp(prefix="wildside-bench-encryption-")
    try:
        time.sleep(2)
        address = f"http://127.0.0.1:{port}"
        subprocess.run([manifest["WILDSIDE_BAO_BIN"], "secrets", "enable", "transit"], check=True,
                       env=dict(os.environ, BAO_ADDR=address, BAO_TOKEN="bench"), stdout=subprocess.DEVNULL)
        shutil.copytree(os.path.join(ROOT, "modules"), os.path.join(project, "modules"))
        shutil.copytree(os.path.join(ROOT, "tests", "fixtures", "modules", "many"),
                        os.path.join(project, "modules", "many"))
        os.makedirs(os.path.join(project, "stacks"))
        module = ('[[modules]]\nname = "many"\nsource = "many"\ninputs = { resources = 500 }\n\n'
                  '[[outputs]]\nname = "secret"\nfrom = "many.secret"\nsensitive = true\n')
        stacks = {
            "unencrypted": module + PLAIN,
            "passphrase (PBKDF2, once per run)": module,
            "transit (OpenBao)": f'[vault]\naddress = "{address}"\n\n' + module,
        }
        names = {label: f"s{i}" for i, label in enumerate(stacks)}
        for label, text in stacks.items():
            with open(os.path.join(project, "stacks", f"{names[label]}.toml"), "w") as stack:
                stack.write(text)
        env = dict(os.environ, VAULT_TOKEN="bench")
        cli = [BIN, "--project", project]
        for name in names.values():
            subprocess.run(cli + ["up", name, "--yes"], check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples = {label: [] for label in stacks}
        for _ in range(RUNS):
            for label, name in names.items():
                samples[label].append(timed(cli + ["plan", name], env=env)[0])
        base = statistics.median(samples["unencrypted"])
        print(f"\nplan of a 500-resource state (local backend, no changes), {RUNS} alternated runs each")
        for label, values in samples.items():
            median = statistics.median(values)
            print(f"{label:32} {median * 1000:7.1f}ms {median / base:6.3f}x")
        print("(unencrypted state still gets its saved plan encrypted, with a one-time key that tofu reads through its external key provider)")
    finally:
        bao.terminate()
        bao.wait()
        shutil.rmtree(project, ignore_errors=True)


def kube_tools():
    try:
        return read_manifest("kube-tools.env")
    except OSError:
        return {}


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def bench_gitops(manifest):
    """Namespace previews reconciled by Flux on a sandbox cluster's real API server: from the overlay committed
    (`preview up` returned) to the namespace ready (its quota computed by the controller manager), and from
    `preview down` to the namespace gone, for 1 and for 20 concurrent previews. Flux's controllers run locally
    (scripts/local-flux.py); each push is announced as a Git host's webhook would, by annotating the
    GitRepository."""
    import json as jsonlib
    import socket
    import threading
    import urllib.request
    kube = kube_tools()
    missing = [key for key in ("KUBECTL", "FLUX_CRDS", "OPERATOR_CRDS", "FLUX_SOURCE_CONTROLLER",
                               "FLUX_KUSTOMIZE_CONTROLLER", "KUBE_APISERVER", "ETCD")
               if not os.path.exists(kube.get(key, ""))]
    if missing:
        print(f"\nGitOps previews: skipped: kube-tools.env names no {', '.join(missing)} (make test-tools builds them)")
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    project = tempfile.mkdtemp(prefix="wildside-bench-gitops-")
    children = []
    try:
        children.append(subprocess.Popen([manifest["WILDSIDE_BAO_BIN"], "server", "-dev", "-dev-root-token-id=bench",
                                          f"-dev-listen-address=127.0.0.1:{port}"],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        sandbox = subprocess.Popen([SANDBOX_BIN, "serve", "--listen", "127.0.0.1:0", "--delay", "100ms",
                                    "--state", os.path.join(project, "sandbox.json")],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        children.append(sandbox)
        url = next(line.split("listening on ")[1].split()[0] for line in sandbox.stderr if "listening on" in line)
        threading.Thread(target=lambda: [None for _ in sandbox.stderr], daemon=True).start()

        def api(method, path, body=None):
            request = urllib.request.Request(url + path, method=method, headers={
                "Authorization": "Bearer bench", "Content-Type": "application/json"},
                data=None if body is None else jsonlib.dumps(body).encode())
            with urllib.request.urlopen(request, timeout=60) as response:
                return jsonlib.load(response) if response.status != 204 else None

        version = api("GET", "/v2/kubernetes/options")["options"]["versions"][0]["slug"]
        cluster = api("POST", "/v2/kubernetes/clusters", {
            "name": "bench-gitops", "region": "nyc3", "version": version,
            "node_pools": [{"name": "default", "size": "s-2vcpu-4gb", "count": 1}]})["kubernetes_cluster"]["id"]
        deadline = time.monotonic() + 300
        while api("GET", f"/v2/kubernetes/clusters/{cluster}")["kubernetes_cluster"]["status"]["state"] != "running":
            if time.monotonic() > deadline:
                raise SystemExit("GitOps previews: the sandbox cluster's API server did not start")
            time.sleep(0.5)
        kubeconfig = os.path.join(project, "kubeconfig")
        request = urllib.request.Request(f"{url}/v2/kubernetes/clusters/{cluster}/kubeconfig",
                                         headers={"Authorization": "Bearer bench"})
        with urllib.request.urlopen(request, timeout=60) as response, open(kubeconfig, "wb") as out:
            out.write(response.read())
        kubectl = [kube["KUBECTL"], "--kubeconfig", kubeconfig, "--request-timeout", "60s"]
        quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(kubectl + ["apply", "--server-side", "-f", kube["OPERATOR_CRDS"]], check=True, **quiet)

        repositories = os.path.join(project, "repositories")
        for name in ("wildside-infra.git", "wildside-apps.git"):
            subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch", "main",
                            os.path.join(repositories, name)], check=True)
        flux = subprocess.Popen([sys.executable, os.path.join(ROOT, "scripts", "local-flux.py"), "--kubeconfig",
                                 kubeconfig, "--repositories", repositories, "--work", os.path.join(project, "flux")],
                                stdout=subprocess.PIPE, text=True)
        children.insert(0, flux)
        git_url = flux.stdout.readline().strip().removeprefix("git ")
        os.makedirs(os.path.join(project, "stacks"))
        with open(os.path.join(project, "stacks", "apps.toml"), "w") as stack:
            stack.write(
                f'[vault]\naddress = "http://127.0.0.1:{port}"\n\n[preview]\nkind = "namespace"\nmax_concurrent = 50\n\n'
                f'[gitops]\nrepository = "{repositories}/wildside-infra.git"\n'
                f'source_url = "{git_url}/wildside-infra.git"\ndomain = "wildside.example"\n'
                '[gitops.cert_manager]\nacme_email = "ops@wildside.example"\n'
                '[gitops.vault]\naddress = "https://vault.wildside.example:8200"\n'
                f'[gitops.apps]\nrepository = "{repositories}/wildside-apps.git"\n'
                f'source_url = "{git_url}/wildside-apps.git"\nproject = "wildside"\n'
                'image = "ghcr.io/example/wildside-app"\ndatabases = ["postgres", "redis"]\n')
        env = dict(os.environ, VAULT_TOKEN="bench", WILDSIDE_GITOPS_TOKEN="bench-git-token")
        cli = [BIN, "--project", project]
        subprocess.run(cli + ["gitops", "push", "apps"], check=True, env=env, **quiet)
        subprocess.run(cli + ["gitops", "bootstrap", "apps", "--kubeconfig", kubeconfig, "--crds", kube["FLUX_CRDS"]],
                       check=True, env=env, **quiet)
        if flux.stdout.readline().strip() != "ready":
            raise SystemExit("GitOps previews: Flux's controllers did not start")
        subprocess.run(kubectl + ["-n", "flux-system", "wait", "--for=condition=Ready", "--timeout=300s",
                                  "kustomization/flux-system", "kustomization/platform-databases"], check=True, **quiet)

        def announce():
            subprocess.run(kubectl + ["-n", "flux-system", "annotate", "--overwrite", "gitrepository/apps",
                                      f"reconcile.fluxcd.io/requestedAt={time.time_ns()}"], check=True, **quiet)

        def quotas():
            listed = subprocess.run(kubectl + ["get", "resourcequota", "-A", "-o", "json"], check=True,
                                    capture_output=True).stdout
            return {item["metadata"]["namespace"] for item in jsonlib.loads(listed)["items"]
                    if item.get("status", {}).get("hard")}

        def namespaces():
            listed = subprocess.run(kubectl + ["get", "namespaces", "-o", "name"], check=True,
                                    capture_output=True, text=True).stdout
            return {line.removeprefix("namespace/") for line in listed.split()}

        def round_trip(prs, action, done):
            """Runs `preview <action>` for every pull request at once; each one's commit time, announced as it
            lands, then when each namespace reached `done`, relative to its commit."""
            committed = {}

            def one(pr):
                command = ["up", "--yes", "--pr", str(pr), "--sha", f"{pr:040x}"] if action == "up" else \
                    ["down", "--yes", "--pr", str(pr)]
                subprocess.run(cli + ["preview", "--stack", "apps"] + command, check=True, env=env, **quiet)
                committed[pr] = time.monotonic()
                announce()

            threads = [threading.Thread(target=one, args=(pr,)) for pr in prs]
            for thread in threads:
                thread.start()
            reached = {}
            deadline = time.monotonic() + 600
            while len(reached) < len(prs):
                if time.monotonic() > deadline:
                    raise SystemExit(f"GitOps previews: {action}: {sorted(set(prs) - set(reached))} never got there")
                state = done()
                now = time.monotonic()
                for pr in prs:
                    if pr in committed and pr not in reached and state(f"wildside-pr-{pr}"):
                        reached[pr] = now - committed[pr]
                time.sleep(0.1)
            for thread in threads:
                thread.join()
            return list(reached.values())

        def ready():
            computed = quotas()
            return lambda namespace: namespace in computed

        def gone():
            present = namespaces()
            return lambda namespace: namespace not in present

        print("\nGitOps previews on a sandbox cluster's real API server, reconciled by Flux's controllers"
              " (design targets: a URL in under 10 minutes, destruction in under 5)")
        print(f"{'':40} {'p50':>8} {'p95':>8}  samples")
        rounds = {1: 5, 20: 1}
        next_pr = 1
        for count, repeat in rounds.items():
            up, down = [], []
            for _ in range(repeat):
                prs = list(range(next_pr, next_pr + count))
                next_pr += count
                up += round_trip(prs, "up", ready)
                down += round_trip(prs, "down", gone)
            for name, values in ((f"{count:2} preview(s): committed -> ready", up),
                                 (f"{count:2} preview(s): down -> namespace gone", down)):
                print(f"{name:40} {percentile(values, 0.5):7.1f}s {percentile(values, 0.95):7.1f}s  {len(values)}")
    finally:
        import signal
        for child in children:
            child.send_signal(signal.SIGINT)
            child.wait()
        shutil.rmtree(project, ignore_errors=True)


def bench_binary():
    """The release binary's size, and the start-up time of `--help` and of `render` of one stack."""
    size = os.path.getsize(BIN)
    print(f"release binary: {size / 1e6:.1f} MB ({size} bytes, stripped; target <= 12 MB)")
    project = tempfile.mkdtemp(prefix="wildside-bench-")
    try:
        for directory in ("stacks", "modules"):
            shutil.copytree(os.path.join(ROOT, directory), os.path.join(project, directory))
        for name, command in (("--help", [BIN, "--help"]),
                              ("render example", [BIN, "--project", project, "render", "example"])):
            times = [timed(command, ok=(0,))[0] for _ in range(RUNS)]
            print(f"{name + ':':16} {statistics.median(times) * 1000:7.1f}ms median of {RUNS}")
    finally:
        shutil.rmtree(project, ignore_errors=True)


def main():
    manifest = tools()
    bench_binary()
    if os.environ.get("BENCH_ONLY") != "driver":
        bench_policy(manifest)
    if os.environ.get("BENCH_ONLY") == "policy":
        return
    if os.environ.get("BENCH_ONLY") == "encryption":
        bench_encryption(manifest)
        return
    if os.environ.get("BENCH_ONLY") == "gitops":
        bench_gitops(manifest)
        return
    project = tempfile.mkdtemp(prefix="wildside-bench-")
    try:
        shutil.copytree(os.path.join(ROOT, "modules"), os.path.join(project, "modules"))
        shutil.copytree(os.path.join(ROOT, "stacks"), os.path.join(project, "stacks"))
        with open(os.path.join(project, "stacks", "example.toml"), "a") as example:
            example.write(PLAIN)
        cli = [BIN, "--project", project]
        subprocess.run(cli + ["up", "example", "--yes"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        build = os.path.join(project, ".wildside", "build", "example")
        raw_env = dict(os.environ, TF_IN_AUTOMATION="1", TF_INPUT="0", CHECKPOINT_DISABLE="1",
                       TF_CLI_CONFIG_FILE=manifest["WILDSIDE_TOFU_CLI_CONFIG"],
                       TF_PLUGIN_CACHE_DIR=manifest["WILDSIDE_PLUGIN_CACHE"])
        raw = [manifest["WILDSIDE_TOFU_BIN"], "plan", "-input=false", "-lock-timeout=60s"]
        # What `wildside-tofu plan` asks tofu for: a saved plan and the JSON UI.
        raw_saved = raw + ["-json", "-detailed-exitcode", f"-out={os.path.join(build, 'raw.tfplan')}"]
        # And what it runs for policies and costs: `show -json` of that plan.
        raw_show = [manifest["WILDSIDE_TOFU_BIN"], "show", "-json", os.path.join(build, "raw.tfplan")]
        samples = {"raw tofu plan": [], "raw tofu plan -json -out": [], "raw tofu plan -json -out + show -json": [],
                   "wildside-tofu plan": [], "wildside-tofu up (no changes)": []}
        plan_peaks, up_peaks = [], []
        for _ in range(RUNS):
            samples["raw tofu plan"].append(timed(raw, cwd=build, env=raw_env)[0])
            samples["raw tofu plan -json -out"].append(timed(raw_saved, cwd=build, env=raw_env)[0])
            plan_then_show = timed(raw_saved, cwd=build, env=raw_env)[0] + timed(raw_show, cwd=build, env=raw_env)[0]
            samples["raw tofu plan -json -out + show -json"].append(plan_then_show)
            elapsed, peak = timed(cli + ["plan", "example"])
            samples["wildside-tofu plan"].append(elapsed)
            plan_peaks.append(peak)
            elapsed, peak = timed(cli + ["up", "example", "--yes"])
            samples["wildside-tofu up (no changes)"].append(elapsed)
            up_peaks.append(peak)
        # The no-op `up` target is a few milliseconds on a plan's time, less than the spread of a handful of runs:
        # its ratio takes three times as many alternated pairs.
        for _ in range(2 * RUNS):
            samples["raw tofu plan"].append(timed(raw, cwd=build, env=raw_env)[0])
            elapsed, peak = timed(cli + ["up", "example", "--yes"])
            samples["wildside-tofu up (no changes)"].append(elapsed)
            up_peaks.append(peak)
        subprocess.run(cli + ["down", "example", "--yes"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        shutil.rmtree(project, ignore_errors=True)

    base = statistics.median(samples["raw tofu plan"])
    print(f"{RUNS} alternated runs each ({3 * RUNS} of raw tofu plan and of the no-op up), example stack, local state,"
          " no changes")
    print(f"{'command':32} {'median':>9} {'ratio':>7}")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:32} {median * 1000:7.1f}ms {median / base:6.3f}x")
    plan_overhead = statistics.median(samples["wildside-tofu plan"]) / base - 1
    print(f"plan overhead over raw tofu: {plan_overhead * 100:+.1f}% (target <= 2%)")
    same_flags = statistics.median(samples["wildside-tofu plan"]) / statistics.median(samples["raw tofu plan -json -out"]) - 1
    print(f"plan overhead over raw tofu with the same flags (saved plan, JSON UI): {same_flags * 100:+.1f}%")
    same_work = statistics.median(samples["wildside-tofu plan"]) / statistics.median(samples["raw tofu plan -json -out + show -json"]) - 1
    print(f"plan overhead over the same tofu commands (plan, then show -json for policies and costs): {same_work * 100:+.1f}%")
    print(f"up with no changes: {statistics.median(samples['wildside-tofu up (no changes)']) / base:.3f}x raw plan (target <= 1.03x)")
    print(f"driver peak RSS, plan: {max(plan_peaks) / 1024:.1f} MiB")
    print(f"driver peak RSS, up with no changes: {max(up_peaks) / 1024:.1f} MiB (target <= 20 MiB)")
    if os.environ.get("BENCH_ONLY") == "driver":
        return
    bench_encryption(manifest)
    bench_plan_all()
    bench_preview(manifest)
    bench_cluster_preview(manifest)
    bench_gitops(manifest)
    bench_render()


if __name__ == "__main__":
    main()
