#!/usr/bin/env bash
# Fuzzes the recording decoder (fuzz/fuzz_targets/decode.rs) with libFuzzer through
# cargo-fuzz, seeded with every audio fixture, for FUZZ_DECODER_SECONDS (default 120) under a
# 256 MiB allocation limit and a 1 GiB RSS limit. cargo-fuzz needs the nightly toolchain
# (rustup's, installed when missing). Crashes land in fuzz/artifacts/decode/; the findings so
# far are in docs/hostile-input.md. Usage: bash infra/local/fuzz-decoder.sh [seconds]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
seconds="${1:-${FUZZ_DECODER_SECONDS:-120}}"
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
corpus=fuzz/corpus/decode
mkdir -p "$corpus"
cp tests/fixtures/audio/phrase.* tests/fixtures/audio/meeting.webm "$corpus"/
# whisper.cpp's cmake flags (.cargo/config.toml) apply here too.
cargo +nightly fuzz run --sanitizer none decode "$corpus" -- \
  -max_total_time="$seconds" -max_len=200000 -malloc_limit_mb=256 -rss_limit_mb=1024 -timeout=20
