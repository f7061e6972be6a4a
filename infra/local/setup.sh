#!/usr/bin/env bash
# Brings up what the local stack and the tests need, idempotently: PostgreSQL on
# 127.0.0.1:5432 (installed from Debian's packages where missing), the AWS emulator (moto
# server, in a project-local virtualenv), the Whisper model and its build tools
# (infra/local/whisper-model.sh) and the resources in both. Used by `make dev`,
# `make test` and .ci/run. Safe to run again at any time.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
state="$root/.local"
mkdir -p "$state"

# shellcheck source=infra/local/env
source "$root/infra/local/load-env.sh"

say() { printf '[setup] %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }

postgres_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

ensure_postgres() {
  if command -v pg_isready >/dev/null && postgres_up; then
    say "PostgreSQL is running on 127.0.0.1:5432"
  else
    if ! command -v pg_ctlcluster >/dev/null; then
      say "PostgreSQL is not installed; installing it from Debian's packages"
      as_root apt-get update -qq || { say "cannot run apt-get: install PostgreSQL (>= 14) and start it on 127.0.0.1:5432"; exit 1; }
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi
    local version
    version="$(ls /etc/postgresql | sort -V | tail -n 1)"
    say "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do postgres_up && break; sleep 1; done
    postgres_up || { say "PostgreSQL did not start; see /var/log/postgresql/"; exit 1; }
  fi
  # Packaged clusters ask TCP clients for a password: give `postgres` the one our URLs use.
  # (Where the server trusts local connections, this changes nothing that matters.)
  if ! psql "$DATABASE_URL" -Atqc 'select 1' >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
  fi
}

moto_up() { curl -fs "http://127.0.0.1:${MOTO_PORT}/moto-api/" >/dev/null 2>&1; }

ensure_moto() {
  if moto_up; then
    say "AWS emulator (moto) is running on 127.0.0.1:${MOTO_PORT}"
    return
  fi
  if [ ! -x "$root/.venv/bin/moto_server" ]; then
    say "installing moto server into .venv"
    python3 -m venv "$root/.venv"
    "$root/.venv/bin/pip" install -q --disable-pip-version-check 'moto[server]>=5.1,<6'
  fi
  say "starting the AWS emulator (moto) on 127.0.0.1:${MOTO_PORT}"
  setsid nohup "$root/.venv/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$state/moto.log" 2>&1 &
  echo $! >"$state/moto.pid"
  for _ in $(seq 1 60); do moto_up && break; sleep 0.5; done
  moto_up || { say "moto did not start; see .local/moto.log"; exit 1; }
}

ensure_postgres
ensure_moto
# Before any cargo build: whisper.cpp needs cmake.
bash "$root/infra/local/whisper-model.sh"
say "creating the database, table and secrets"
cargo run -q -p meetin-local -- provision
