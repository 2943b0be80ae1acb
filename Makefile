# wabiz.api_client: the two commands of the README, and a few shortcuts.
.PHONY: demo test test-% venv images clean

# Run the migration on the local demo (old multiconnect setup -> new setup, on the emulator).
demo:
	bash tools/demo.sh

# Run every test suite (what .ci/run calls).
test:
	python3 tools/run-tests.py

# Run the suites whose file name contains the word after "test-", e.g. make test-sanity.
test-%:
	python3 tools/run-tests.py $*

venv:
	bash tools/bootstrap.sh

images:
	bash tools/ensure-docker.sh && bash tools/build-images.sh

clean:
	rm -rf tests/output .venv

# Benchmark of the local migration: downtime, seconds per step and ratios (by hand; not part of make test).
.PHONY: bench
bench:
	bash tools/bootstrap.sh && bash tools/ensure-docker.sh && bash tools/build-images.sh
	.venv/bin/python tests/bench/bench_migration.py
