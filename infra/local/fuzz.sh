#!/usr/bin/env bash
# Property-based requests from the OpenAPI document (schemathesis) against a local stack of
# its own, failing on any 5xx. Rate limits are raised for the run (the fuzzer would
# otherwise mostly see 429s). Usage: make fuzz [FUZZ_EXAMPLES=150]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
source infra/local/load-env.sh
examples="${FUZZ_EXAMPLES:-150}"
port="${FUZZ_PORT:-8765}"

if [ ! -x .local/fuzz-venv/bin/st ]; then
  echo "[fuzz] installing schemathesis into .local/fuzz-venv"
  python3 -m venv .local/fuzz-venv
  .local/fuzz-venv/bin/pip install -q --disable-pip-version-check 'schemathesis>=4,<5'
fi
cargo build -q -p meetin-local
RATE_LIMIT_AUTH_PER_MINUTE=1000000 RATE_LIMIT_REFRESH_PER_MINUTE=1000000 RATE_LIMIT_ANON_PER_MINUTE=1000000 RATE_LIMIT_USER_PER_MINUTE=1000000 \
  RUST_LOG=warn target/debug/meetin-local serve --port "$port" >.local/fuzz-server.log 2>&1 &
server=$!
trap 'kill -INT $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.2; done

user="fuzz$(date +%s%N)"
access=$(curl -fs "http://127.0.0.1:$port/api/auth/register/" -H 'content-type: application/json' \
  -d "{\"email\":\"$user@example.com\",\"username\":\"$user\",\"password\":\"plum-harbor-71-lantern\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens"]["access"])')
.local/fuzz-venv/bin/st run "http://127.0.0.1:$port/api/schema/" -H "Authorization: Bearer $access" \
  --checks not_a_server_error --max-examples "$examples" --workers 2
