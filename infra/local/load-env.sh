# Sourced by the local scripts: exports infra/local/env, keeping values already set.
_env_file="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/env"
while IFS='=' read -r _key _value; do
  case "$_key" in ''|\#*) continue ;; esac
  if [ -z "${!_key:-}" ]; then export "$_key=$_value"; fi
done <"$_env_file"
unset _env_file _key _value
