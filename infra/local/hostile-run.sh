#!/usr/bin/env bash
# Uploads every file of the hostile corpus (meetin_test_support::hostile) to a running local
# stack (`make dev` on localhost:8000) and asks for its transcription, as any registered user
# could, while a real recording of another user is transcribed; then prints how each ended,
# the stack's peak memory (VmHWM of the meetin-local process) and whether the other user's
# transcript arrived. It paces its requests under the per-user rate limit (120 a minute: two
# requests a file, one every 0.6 s), waits out a 429 and asks again, and exits 1 when an
# upload was refused or the other transcript never arrived. Usage:
# bash infra/local/hostile-run.sh [base-url]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
base="${1:-http://localhost:8000}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
cargo run -q -p meetin-test-support --example hostile_corpus -- "$dir" >/dev/null
pid="$(pgrep -f 'meetin-local serve' | head -n 1 || true)"
[ -n "$pid" ] || { echo "no meetin-local serve process: start make dev first" >&2; exit 1; }

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
account() {
  local email="hostile-$1-$RANDOM$RANDOM@example.com"
  curl -fs "$base/api/auth/register/" -H 'content-type: application/json' \
    -d "{\"email\":\"$email\",\"username\":\"${email%@*}\",\"password\":\"plum-harbor-71-lantern\"}" >/dev/null
  curl -fs "$base/api/auth/login/" -H 'content-type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"plum-harbor-71-lantern\"}" | json '["tokens"]["access"]'
}
meeting() {
  local org
  org="$(curl -fs "$base/api/auth/organizations/" -H "authorization: Bearer $1" | json '["results"][0]["id"]')"
  curl -fs "$base/api/meetings/" -H "authorization: Bearer $1" -H 'content-type: application/json' \
    -d "{\"title\":\"hostile\",\"organization\":\"$org\",\"language_preference\":\"en\"}" | json '["id"]'
}
mime() {
  case "$1" in
    *.wav) echo audio/wav;; *.flac) echo audio/flac;; *.ogg) echo audio/ogg;; *.m4a) echo audio/mp4;;
    *.mp4) echo video/mp4;; *.webm) echo audio/webm;; *.aac) echo audio/aac;; *) echo audio/mpeg;;
  esac
}

# The other user's real meeting, uploaded first.
other="$(account other)"; other_meeting="$(meeting "$other")"
other_rec="$(curl -fs "$base/api/meetings/$other_meeting/recordings/upload/" -H "authorization: Bearer $other" \
  -F "audio=@tests/fixtures/audio/meeting.webm;type=audio/webm" | json '["id"]')"
curl -s -o /dev/null -X POST "$base/api/meetings/$other_meeting/recordings/$other_rec/transcribe/" \
  -H "authorization: Bearer $other" -m 1 || true

attacker="$(account attacker)"; m="$(meeting "$attacker")"
# curl's arguments, again after a 429 (its Retry-After, or 5 s) and always 0.6 s apart; prints
# the body, then the status on its own last line.
paced() {
  local out code wait
  while :; do
    sleep 0.6
    out="$(curl -s -D "$dir.headers" -w '\n%{http_code}' "$@")"
    code="${out##*$'\n'}"
    [ "$code" = 429 ] || break
    wait="$(awk 'tolower($1) == "retry-after:" { print $2 + 0 }' "$dir.headers")"
    sleep "${wait:-5}"
  done
  rm -f "$dir.headers"
  printf '%s\n' "$out"
}

declare -A ended
refused=0
for f in "$dir"/*; do
  name="$(basename "$f")"
  r="$(paced "$base/api/meetings/$m/recordings/upload/" -H "authorization: Bearer $attacker" \
    -F "audio=@$f;type=$(mime "$f")" | sed '$d')"
  id="$(echo "$r" | json '["id"]' 2>/dev/null || true)"
  if [ -z "$id" ]; then ended[$name]="upload refused: $r"; refused=$((refused + 1)); continue; fi
  code="$(paced -o /dev/null -X POST \
    "$base/api/meetings/$m/recordings/$id/transcribe/" -H "authorization: Bearer $attacker" | tail -n 1)"
  ended[$name]="transcribe/ $code"
done
for name in $(printf '%s\n' "${!ended[@]}" | sort); do printf '%-70s %s\n' "$name" "${ended[$name]}"; done

for _ in $(seq 1 120); do
  t="$(curl -fs "$base/api/transcription/meetings/$other_meeting/transcript/" -H "authorization: Bearer $other")"
  n="$(echo "$t" | json '.get("segments", [])' | python3 -c 'import sys; print(len(eval(sys.stdin.read())))')"
  [ "$n" -gt 0 ] && break
  sleep 1
done
echo "other user's transcript: $n segments"
echo "meetin-local peak RSS: $(grep VmHWM /proc/"$pid"/status | awk '{printf "%.0f MiB", $2/1024}')"
echo "uploads refused: $refused"
[ "$refused" -eq 0 ] && [ "$n" -gt 0 ]
