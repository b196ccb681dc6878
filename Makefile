# The two commands a fresh machine needs: `make demo` and `make test`. Both install what they need first.
.PHONY: tools build install demo test bench trials lint
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c

tools:
	bash scripts/tools.sh

build:
	cargo build --release --locked --workspace

# `wildside-tofu` into Cargo's bin directory (~/.cargo/bin), as `cargo install --path .` does.
install:
	cargo install --locked --path .

demo: tools build
	bash scripts/demo.sh

test: tools
	bash scripts/test.sh

bench: tools build
	python3 scripts/bench.py

trials: tools
	bash scripts/trials.sh

lint:
	cargo fmt --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
