# oncopanel: the two commands are `make demo` and `make test`; both set up everything they need first.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
# Rules call the `oncopanel` command: put the virtualenv first on PATH for every recipe.
export PATH := $(abspath $(VENV))/bin:$(PATH)
CORES ?= 2
DEMO_OUT ?= results/demo
PYTEST_LONG_TIMEOUT ?= 3600

.PHONY: setup reference demo demo-data examples test test-long test-cluster lint bench bench-quick clean
MASKED_REF := resources/reference/grch38_panel_masked.fa.gz

setup:
	@bash scripts/setup.sh

## requirements.lock: every Python dependency's exact version for the runtime, test and workflow extras together
## (scripts/setup.sh installs it); requirements-workflow.lock: runtime and workflow only (the container images).
## Re-run after changing pyproject.toml's dependencies.
.PHONY: lock
UV_VERSION := 0.9.30
lock:
	@test -x $(BIN)/python || bash scripts/setup.sh
	$(BIN)/pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip compile pyproject.toml --extra test --extra workflow --python-version 3.11 \
	  --custom-compile-command "make lock" -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra workflow --python-version 3.11 \
	  --custom-compile-command "make lock" -o requirements-workflow.lock

## The embedded panel-masked GRCh38 (seconds; the demo builder simulates reads from it). Skipped when present.
reference: setup
	@test -e $(MASKED_REF).fai || $(BIN)/oncopanel reference prepare --masked --out $(MASKED_REF)

demo-data: reference
	$(BIN)/python scripts/make_demo.py --out demo/generated

## Run the whole workflow on the bundled demo batch; ends with per-sample reports under $(DEMO_OUT).
demo: demo-data
	$(BIN)/snakemake --snakefile workflow/Snakefile --configfile config/config.yaml demo/generated/demo_config.yaml \
	  --config results=$(DEMO_OUT) \
	  --cores $(CORES) --keep-going --rerun-incomplete --printshellcmds
	@echo
	@echo "Demo batch done: reports in $(DEMO_OUT)/reports/, QC in $(DEMO_OUT)/qc/, batch summary in $(DEMO_OUT)/batch/"
	@echo "Review and sign it in the web application (demo accounts reviewer / signer / anxian, password demo-password-1):"
	@echo "  $(BIN)/oncopanel serve --demo --insecure-http --results $(DEMO_OUT) --state $(DEMO_OUT)/web \\"
	@echo "    --configfile config/config.yaml demo/generated/demo_config.yaml   # then open http://127.0.0.1:8080"

## The shipped report examples (reports/examples/, see its README) from a finished `make demo`.
EXAMPLES := DEMO-T01 DEMO-T02 DEMO-T03 DEMO-T04 DEMO-G03 DEMO-T06 DEMO-P01
examples:
	@for s in $(EXAMPLES); do \
	  cp $(DEMO_OUT)/reports/$$s.pdf reports/examples/demo_$$s.pdf && \
	  cp $(DEMO_OUT)/result/$$s.result.json reports/examples/demo_$$s.result.json || exit 1; \
	done; echo "examples: $(EXAMPLES) copied from $(DEMO_OUT)"

## Fast suite (CI); the slow checks are `make test-long`.
test: setup
	$(BIN)/ruff check oncopanel oncosim scripts workflow/scripts tests benchmarks
	$(BIN)/snakemake --snakefile workflow/Snakefile --configfile config/config.yaml --lint
	$(BIN)/snakefmt --check workflow
	$(BIN)/pytest -q

## Every benchmark in its quick mode (CI: none can rot unseen). Results and logs go to $(QUICK)/, never to
## benchmarks/latest/; a benchmark that crashes fails the target. backbone reads the run scale.py --quick keeps.
QUICK := results/benchmarks/quick
BENCH_QUICK := hgvs.py knowledge.py report.py batching.py reliability.py calling.py calling_cost.py low_vaf.py allele_counts.py hotspot_rule.py cnv.py plasma.py scale.py web.py coverage.py \
  overhead.py "backbone.py --run $(QUICK)/scale_run/p2000/chunk0/results_c2"
bench-quick: reference
	@mkdir -p $(QUICK); start=$$(date +%s); \
	for b in $(BENCH_QUICK); do \
	  set -- $$b; name=$${1%.py}; t0=$$(date +%s); \
	  if $(BIN)/python benchmarks/$$1 --quick $${@:2} > $(QUICK)/$$name.log 2>&1; then \
	    echo "bench-quick: $$name ok in $$(( $$(date +%s) - t0 ))s"; \
	  else \
	    tail -n 40 $(QUICK)/$$name.log; echo "bench-quick: $$name FAILED after $$(( $$(date +%s) - t0 ))s"; exit 1; \
	  fi; \
	done; \
	echo "bench-quick: all benchmarks ran in $$(( $$(date +%s) - start ))s (results in $(QUICK)/)"

test-long: setup
	$(BIN)/pytest -q -m long; rc=$$?; [ $$rc -eq 5 ] && echo "no long tests collected" && rc=0; exit $$rc

test-cluster: setup
	$(BIN)/pytest -q -m cluster; rc=$$?; [ $$rc -eq 5 ] && echo "no cluster tests collected" && rc=0; exit $$rc

lint: setup
	$(BIN)/ruff check oncopanel oncosim scripts workflow/scripts tests benchmarks
	$(BIN)/snakemake --snakefile workflow/Snakefile --configfile config/config.yaml --lint
	$(BIN)/snakefmt --check workflow

clean:
	rm -rf results .snakemake demo/generated
