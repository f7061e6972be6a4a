#!/usr/bin/env bash
# Lints the SAM template with cfn-lint (installed into the repo's .venv, which it shares
# with the moto server of the local stack). Exits with cfn-lint's status.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

venv=.venv
if [ ! -x "$venv/bin/python" ]; then
  # Debian ships ensurepip separately (python3-venv); without it, make the venv without
  # pip and bootstrap pip into it with the system pip instead.
  python3 -m venv "$venv" 2>/dev/null || {
    rm -rf "$venv"
    python3 -m venv --without-pip "$venv"
  }
fi
if [ ! -x "$venv/bin/pip" ]; then
  python3 -m pip --python "$venv/bin/python" install -q --disable-pip-version-check pip
fi
# cfn-lint may already be there (moto[server] depends on it); make sure it is 1.x.
if ! "$venv/bin/cfn-lint" --version 2>/dev/null | grep -q '^cfn-lint 1\.'; then
  echo "[lint-template] installing cfn-lint into $venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check 'cfn-lint>=1,<2'
fi

status=0
"$venv/bin/cfn-lint" template.yaml || status=$?
if [ "$status" -eq 0 ]; then echo "[lint-template] template.yaml: no findings"; fi
exit "$status"
