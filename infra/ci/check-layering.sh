#!/usr/bin/env bash
# Fails when the crate layering breaks:
#  - a pure crate (meetin-core, meetin-messages, meetin-vocab; override with
#    PURE_PACKAGES="a b") reaches the AWS SDK (aws-sdk-*, aws-config, aws-smithy-*), sqlx or axum through normal dependencies;
#  - a deployed function (every package under functions/) reaches meetin-test-support through
#    normal dependencies (dev-dependencies are fine: they never ship);
#  - meetin-aws with every feature (what a service that only sends jobs links, JobQueue)
#    reaches a Lambda crate (lambda_runtime, lambda_http, aws_lambda_events): the worker
#    skeleton, meetin-worker, is the only shared crate with the Lambda SQS event types;
#  - the service core, meetin-service (authentication, throttling, tenant access), reaches a
#    Lambda crate or axum through normal dependencies: the WebSocket handlers and the live
#    bridge (a plain tokio service) link it. The live bridge (`functions/live-bridge`, a
#    Fargate service) is under the same rule from the day its package exists.
# Usage: infra/ci/check-layering.sh   (exit 0 clean, 1 violations, 2 cargo failed)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

pure_packages=${PURE_PACKAGES:-meetin-core meetin-messages meetin-vocab}
forbidden_in_pure='^(aws-sdk-.*|aws-config|aws-smithy-.*|sqlx|sqlx-.*|axum|axum-.*)$'
forbidden_in_functions='^meetin-test-support$'
forbidden_in_senders='^(lambda_runtime|lambda_http|aws_lambda_events)$'
service_packages=${SERVICE_PACKAGES:-meetin-service live-bridge}
# tower and hyper's client come with the AWS SDK's HTTP client, so they are not on the list.
forbidden_in_service='^(lambda_runtime|lambda_http|lambda_runtime_api_client|aws_lambda_events|axum|axum-.*|tower-http)$'
forbidden_in_bridge='^(lambda_runtime|lambda_http|lambda_runtime_api_client|aws_lambda_events|axum|axum-.*)$'

# Prints "<direct dependency of $1>: <forbidden crates it brings>" for every direct normal
# dependency of $1 that is, or brings, a crate whose name matches the regex $2. Every target
# platform counts: Lambda builds for aarch64 Linux, which may not be the host. Extra cargo tree
# flags follow ($3...): --no-dedupe lists every path, slower (seconds) but complete.
violations() {
  local pkg=$1 re=$2
  shift 2
  cargo tree --quiet -p "$pkg" -e normal --target all --prefix depth --format '{p}' "$@" |
    awk -v re="$re" '
      { match($0, /^[0-9]+/); depth = substr($0, 1, RLENGTH) + 0; name = substr($1, RLENGTH + 1) }
      depth == 1 { top = name }
      depth >= 1 && name ~ re && !seen[top, name]++ { bad[top] = bad[top] (bad[top] ? ", " : "") name }
      END { for (t in bad) print t ": " bad[t] }' | sort
}

# $1 package, $2 forbidden-name regex, $3 what the rule protects, then extra cargo tree
# flags (features). Prints violations.
check() {
  local found
  if ! found=$(violations "$1" "$2" "${@:4}"); then
    echo "[check-layering] cargo tree -p $1 failed" >&2
    exit 2
  fi
  [ -z "$found" ] && return 0
  # The deduplicated tree shows each crate's subtree once; list every path for the report.
  found=$(violations "$1" "$2" --no-dedupe "${@:4}") || exit 2
  echo "[check-layering] FAIL: $1 must not depend on $3. Through its direct dependencies:"
  sed 's/^/    /' <<<"$found"
  return 1
}

status=0
for pkg in $pure_packages; do
  check "$pkg" "$forbidden_in_pure" "the AWS SDK, sqlx or axum (it is the pure domain layer)" || status=1
done

functions=$(for manifest in functions/*/Cargo.toml; do
  # The package name: the first `name = "…"` of the [package] table.
  awk -F'"' '/^\[/ { in_pkg = ($0 == "[package]") } in_pkg && /^name *=/ { print $2; exit }' "$manifest"
done)
for pkg in $functions; do
  check "$pkg" "$forbidden_in_functions" "meetin-test-support (deployed code)" || status=1
done

check meetin-aws "$forbidden_in_senders" "a Lambda crate (job senders link it)" --all-features || status=1

# A listed package not in the workspace yet (the bridge before it is built) is skipped.
workspace_packages=$(for manifest in */*/Cargo.toml infra/*/Cargo.toml; do
  awk -F'"' '/^\[/ { in_pkg = ($0 == "[package]") } in_pkg && /^name *=/ { print $2; exit }' "$manifest"
done | sort -u)
present_service_packages=""
for pkg in $service_packages; do
  if grep -qx "$pkg" <<<"$workspace_packages"; then
    present_service_packages="$present_service_packages $pkg"
  else
    echo "[check-layering] $pkg: no such package yet, skipped"
  fi
done
service_packages=${present_service_packages# }
for pkg in $service_packages; do
  if [ "$pkg" = meetin-service ]; then
    check "$pkg" "$forbidden_in_service" "a Lambda crate or axum (the socket handlers and the bridge link it)" || status=1
  else
    # The bridge is an HTTP service itself (hyper, tower-http's CORS), but never a Lambda
    # or axum one.
    check "$pkg" "$forbidden_in_bridge" "a Lambda crate or axum (it is a plain tokio service on Fargate)" || status=1
  fi
done

if [ "$status" -eq 0 ]; then
  echo "[check-layering] ok: $pure_packages free of AWS SDK/sqlx/axum;" \
    "$(echo $functions | wc -w) functions ($(echo $functions)) free of meetin-test-support;" \
    "meetin-aws (all features) free of Lambda crates;" \
    "$service_packages free of Lambda crates and axum"
fi
exit "$status"
