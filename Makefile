# The two commands a fresh machine needs: `make demo` and `make test`. Both install what they need first.
.PHONY: tools kube-tools test-tools build install demo test bench trials lint
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c

# What the tool needs to run: OpenTofu, providers, OpenBao for the demo.
tools:
	bash scripts/tools.sh

# What the demo's GitOps part and the Kubernetes tests need: the sandbox clusters' API servers, Flux's controllers.
kube-tools: tools
	bash scripts/kube-tools.sh

# What only the tests and benchmarks add: PostgreSQL, moto, actionlint, conftest, cargo-fuzz, Kubernetes.
test-tools: tools
	bash scripts/test-tools.sh

build:
	cargo build --release --locked --workspace

# `wildside-tofu` into Cargo's bin directory (~/.cargo/bin), as `cargo install --path .` does.
install:
	cargo install --locked --path .

demo: tools kube-tools build
	bash scripts/demo.sh

test: test-tools
	bash scripts/test.sh

bench: test-tools build
	python3 scripts/bench.py

trials: test-tools
	bash scripts/trials.sh

lint:
	cargo fmt --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
