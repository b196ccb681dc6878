# The two commands a fresh machine needs: `make demo` and `make test`. Both install what they need first.
.PHONY: tools build demo test bench lint
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c

tools:
	bash scripts/tools.sh

build:
	cargo build --release --locked

demo: tools build
	bash scripts/demo.sh

test: tools
	mkdir -p target
	cargo test --locked 2>&1 | tee target/test.log
	@awk '/^test result:/ { passed += $$4; failed += $$6 } END { printf "all tests: %d passed, %d failed\n", passed, failed }' target/test.log

bench: tools build
	python3 scripts/bench.py

lint:
	cargo fmt --check
	cargo clippy --all-targets --locked -- -D warnings
