#!/usr/bin/env bash
# Property-based requests from the OpenAPI document (schemathesis) against a local stack of
# its own. Fails on any 5xx, on a response whose body, status code or content type the
# document does not describe. The stack and its user come from `meetin-bench stack` (the
# same start-and-register code as the tests and the benchmark), with raised rate limits
# (the fuzzer would otherwise mostly see 429s). Usage: make fuzz [FUZZ_EXAMPLES=150]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
source infra/local/load-env.sh
examples="${FUZZ_EXAMPLES:-150}"
port="${FUZZ_PORT:-8765}"
target="${CARGO_TARGET_DIR:-target}"
checks="not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"

if [ ! -x .local/fuzz-venv/bin/st ]; then
  echo "[fuzz] installing schemathesis into .local/fuzz-venv"
  python3 -m venv .local/fuzz-venv
  .local/fuzz-venv/bin/pip install -q --disable-pip-version-check 'schemathesis>=4,<5'
fi
cargo build -q -p meetin-local -p meetin-bench

# The stack prints ACCESS_TOKEN=<jwt> once it answers, then serves until SIGTERM.
out=.local/fuzz-stack.out
RUST_LOG=warn "$target/debug/meetin-bench" stack --port "$port" \
  --binary "$target/debug/meetin-local" --log .local/fuzz-server.log >"$out" 2>.local/fuzz-stack.log &
stack=$!
trap 'kill -TERM $stack 2>/dev/null || true; wait $stack 2>/dev/null || true' EXIT
access=""
for _ in $(seq 1 300); do
  access="$(sed -n 's/^ACCESS_TOKEN=//p' "$out")"
  [ -n "$access" ] && break
  if ! kill -0 "$stack" 2>/dev/null; then
    echo "[fuzz] the local stack did not start:" >&2
    cat .local/fuzz-stack.log >&2
    exit 1
  fi
  sleep 0.2
done
[ -n "$access" ] || { echo "[fuzz] no access token after 60 s; see .local/fuzz-stack.log" >&2; exit 1; }

.local/fuzz-venv/bin/st run "http://127.0.0.1:$port/api/schema/" -H "Authorization: Bearer $access" \
  --checks "$checks" --max-examples "$examples" --workers 2
