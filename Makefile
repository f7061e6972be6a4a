# The two commands: `make dev` runs the whole product on localhost:8000, `make test` runs
# every test. Both install and start what is missing (PostgreSQL, the AWS emulator).
SHELL := /bin/bash
ENV := source infra/local/load-env.sh

.PHONY: dev test setup openapi bench bench-whisper bench-transcribe bench-live fuzz fuzz-decoder lint stop

dev: setup
	@$(ENV) && cargo run -q -p meetin-local -- serve

test: setup
	@$(ENV) && cargo build -q -p meetin-local -p live-bridge && cargo test --workspace --no-fail-fast

setup:
	@bash infra/local/setup.sh

# Rewrites docs/openapi.json from the code (the tests fail while it differs).
openapi:
	@cargo run -q -p meetin-local -- openapi > docs/openapi.json

# On release builds: the auth Lambda's cold start next to a lambda_http hello world (through a
# local Runtime API), profile req/s and latency at 1/16/64 connections through the local stack,
# DynamoDB calls per 1,000 requests, RSS around 100 parallel logins, the meetings list, the
# minutes worker's own time, then the Whisper engine (bench-whisper) and a long recording's
# transcription (bench-transcribe), then live transcription (bench-live); see docs/benchmarks.md.
# Options: make bench BENCH_ARGS="--help".
bench: setup
	cargo build --release -p auth -p meetin-local -p meetin-bench
	@$(ENV) && "$${CARGO_TARGET_DIR:-target}/release/meetin-bench" $(BENCH_ARGS)
	@$(MAKE) --no-print-directory bench-whisper
	@$(MAKE) --no-print-directory bench-transcribe
	@$(MAKE) --no-print-directory bench-live

# The embedded Whisper engine's real-time factor, peak memory and word error rate on the test
# clips and on a 30-minute file made by repeating them, for each model of WHISPER_BENCH_MODELS
# (files of the provisioning cache), then faster-whisper int8 (its own pinned virtual
# environment, made on first use) on the same files and Whisper base weights, with the ratio
# (docs/benchmarks.md, "Whisper (offline transcription)"; about 15 minutes on 2 idle cores).
# Options: make bench-whisper WHISPER_BENCH_MINUTES=5 WHISPER_BENCH_MODELS=ggml-base.bin
WHISPER_BENCH_MODELS ?= ggml-tiny.en.bin ggml-base.bin
WHISPER_BENCH_MINUTES ?= 30
bench-whisper:
	@bash infra/local/whisper-model.sh
	cargo build --release -p meetin-whisper --example rtf
	@cache="$${WHISPER_CACHE_DIR:-$${XDG_CACHE_HOME:-$$HOME/.cache}/meetin/whisper}"; \
	  work="$$(mktemp -d)"; trap 'rm -rf "$$work"' EXIT; \
	  clips="tests/fixtures/audio/librivox-0870.flac tests/fixtures/audio/meeting.webm"; \
	  wav="$$work/clips-$(WHISPER_BENCH_MINUTES)min.wav"; \
	  echo "load average: $$(cut -d' ' -f1-3 /proc/loadavg)"; \
	  "$${CARGO_TARGET_DIR:-target}/release/examples/rtf" \
	    $(foreach m,$(WHISPER_BENCH_MODELS),--model "$$cache/$(m)") \
	    --minutes $(WHISPER_BENCH_MINUTES) --long-wav "$$wav" --results "$$work/results.tsv" $$clips && \
	  echo "load average: $$(cut -d' ' -f1-3 /proc/loadavg)" && \
	  python3 infra/local/faster_whisper_bench.py --model-dir "$$cache/ct2-base" \
	    --compute-type int8 --threads 2 --compare "$$work/results.tsv" $$clips "$$wav" && \
	  echo "load average: $$(cut -d' ' -f1-3 /proc/loadavg)"

# A 60-minute recording transcribed in windows by 1, 2 and 4 recording workers polling their
# queue side by side, with the fake Deepgram and with Whisper: wall time from its job to its
# transcript (docs/benchmarks.md, "Long recordings: transcription wall time"; Whisper takes most
# of it, 15 minutes a run on 2 shared cores). Options: make bench-transcribe
# TRANSCRIBE_ARGS="--minutes 5 --engines deepgram" (or "--help").
bench-transcribe: setup
	@bash infra/local/whisper-model.sh
	cargo build --release -p meetin-bench
	@$(ENV) && "$${CARGO_TARGET_DIR:-target}/release/meetin-bench" transcribe $(TRANSCRIBE_ARGS)

# Live transcription with a Deepgram answering every frame at once: chunk → final latency
# through API Gateway's socket and the legacy one, fan-out to 100 and 1,000 listeners, and the
# release live-bridge's CPU and memory per session at 100 and 1,000 sessions fed in real time
# (docs/benchmarks.md, "Live transcription"; about 9 minutes). 1,000 listeners hold about
# 3,000 sockets in one process: the open-file limit is raised for it. Options: make bench-live
# LIVE_ARGS="--parts latency --chunks 100" (or "--help").
bench-live: setup
	cargo build --release -p meetin-bench -p live-bridge
	@$(ENV) && { [ "$$(ulimit -n)" -ge 8192 ] || ulimit -n 8192 2>/dev/null; }; "$${CARGO_TARGET_DIR:-target}/release/meetin-bench" live $(LIVE_ARGS)

# Fuzzes every documented operation (schemathesis); fails on any 5xx and on any response that
# does not conform to the documented status codes, content types and schemas. Then the
# recording decoder (fuzz-decoder).
fuzz: setup
	@bash infra/local/fuzz.sh
	@$(MAKE) --no-print-directory fuzz-decoder

# libFuzzer on the recording decoder (cargo-fuzz, nightly; both installed when missing) for
# FUZZ_DECODER_SECONDS (120) under a 256 MiB allocation limit; see docs/hostile-input.md.
fuzz-decoder:
	@bash infra/local/fuzz-decoder.sh

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

# Stops the AWS emulator started by setup (PostgreSQL is left as it was).
stop:
	@if [ -f .local/moto.pid ]; then kill "$$(cat .local/moto.pid)" 2>/dev/null || true; rm -f .local/moto.pid; fi
