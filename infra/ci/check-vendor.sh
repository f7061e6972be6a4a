#!/usr/bin/env bash
# Keeps the vendored sqlx-core honest (vendor/README.md says why it is there):
#  1. Cargo.lock must resolve sqlx-core to the vendored copy only, and cargo must use the
#     [patch.crates-io] entry. Otherwise sqlx moved to another release: time to drop the patch.
#  2. vendor/sqlx-core must equal the crates.io release plus vendor/sqlx-core.patch, so nobody
#     edits the vendored source without the change showing up in the patch.
# Usage: infra/ci/check-vendor.sh                check (exit 0 ok, 1 failed)
#        infra/ci/check-vendor.sh --write-patch  after an intended edit of vendor/sqlx-core:
#                                                rewrite vendor/sqlx-core.patch from the tree
# The pristine release comes from cargo's download cache, fetched by cargo if missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

crate=sqlx-core
vendored=vendor/$crate
patch_file=vendor/$crate.patch
# Files cargo adds to a published .crate that the vendored copy leaves out.
not_vendored=.cargo_vcs_info.json

fail() {
  echo "[check-vendor] FAIL: $*" >&2
  exit 1
}

version=$(awk -F'"' '/^\[/ { in_pkg = ($0 == "[package]") } in_pkg && /^version *=/ { print $2; exit }' \
  "$vendored/Cargo.toml")
[ -n "$version" ] || fail "no [package] version in $vendored/Cargo.toml"

drop_hint="sqlx no longer uses $crate $version. If the release it uses now contains the TCP_NODELAY \
fix (transact-rs/sqlx#4336), drop the patch: delete $vendored, $patch_file, the $crate line of \
[patch.crates-io] in Cargo.toml and its row in vendor/README.md. Otherwise vendor the new \
release with the fix re-applied."

# --- 1. The lock file resolves the vendored copy, and cargo uses the patch -----------------
if [ "${1:-}" != "--write-patch" ]; then
  # Every [[package]] of that name, one per line: "<version> (<source>)"; a path crate (the
  # vendored copy) has no source.
  resolved=$(awk -F'"' '
    function emit() { if (block == "[[package]]" && name == c) print version " (" (source ? source : "path") ")" }
    /^\[/ { emit(); block = $0; name = version = source = "" }
    /^name = / { name = $2 } /^version = / { version = $2 } /^source = / { source = $2 }
    END { emit() }' c="$crate" Cargo.lock)
  [ -n "$resolved" ] || fail "Cargo.lock has no $crate at all. $drop_hint"
  if [ "$resolved" != "$version (path)" ]; then
    fail "Cargo.lock resolves $crate to $(paste -sd';' <<<"$resolved" | sed 's/;/; /g')," \
      "not only to the vendored $version (path). $drop_hint"
  fi
  if grep -q '^\[\[patch.unused\]\]' Cargo.lock; then
    fail "Cargo.lock lists an unused patch ([[patch.unused]]). $drop_hint"
  fi
  # cargo warns (and --locked refuses) when the patch no longer applies to the graph.
  if ! out=$(cargo metadata --format-version 1 --locked 2>&1 >/dev/null); then
    fail "cargo metadata --locked failed (is Cargo.lock up to date?):"$'\n'"$out"
  fi
  if grep -q 'was not used in the crate graph' <<<"$out"; then
    fail "cargo reports the patch unused:"$'\n'"$out"$'\n'"$drop_hint"
  fi
fi

# --- 2. The vendored tree is the release plus the patch --------------------------------------
cargo_home=${CARGO_HOME:-$HOME/.cargo}
find_crate_file() {
  find "$cargo_home/registry/cache" -name "$crate-$version.crate" -print -quit 2>/dev/null || true
}
crate_file=$(find_crate_file)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -z "$crate_file" ]; then
  # A throwaway package outside the workspace (so the patch does not apply) makes cargo
  # download the release into its cache, checking it against the registry's checksum.
  mkdir -p "$work/fetch/src"
  printf '[package]\nname = "fetch-pristine"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\n%s = "=%s"\n[workspace]\n' \
    "$crate" "$version" >"$work/fetch/Cargo.toml"
  touch "$work/fetch/src/lib.rs"
  cargo fetch --quiet --manifest-path "$work/fetch/Cargo.toml" ||
    fail "could not download $crate $version from crates.io"
  crate_file=$(find_crate_file)
  [ -n "$crate_file" ] || fail "cargo fetched $crate $version but left no .crate in $cargo_home"
fi

mkdir -p "$work/unpacked"
tar -xzf "$crate_file" -C "$work/unpacked"
mv "$work/unpacked/$crate-$version" "$work/a"
rm -f "$work/a/$not_vendored"

if [ "${1:-}" = "--write-patch" ]; then
  cp -a "$vendored" "$work/b"
  # --no-prefix with the directories named a and b gives the usual a/… b/… paths (-p1).
  (cd "$work" && git diff --no-index --no-prefix --no-color --no-ext-diff --no-textconv a b >"$OLDPWD/$patch_file") || true
  [ -s "$patch_file" ] || fail "$vendored equals the release: no patch, so no reason to vendor it"
  echo "[check-vendor] wrote $patch_file (changes $(grep -c '^diff --git' "$patch_file") file(s))"
  exit 0
fi

[ -f "$patch_file" ] || fail "$patch_file is missing"
if ! out=$(patch --quiet --batch --forward -p1 -d "$work/a" --no-backup-if-mismatch <"$patch_file" 2>&1); then
  fail "$patch_file no longer applies to $crate $version:"$'\n'"$out"
fi
if ! out=$(diff -r "$work/a" "$vendored" 2>&1); then
  fail "$vendored is not $crate $version plus $patch_file. An intended change must be in the" \
    "patch (infra/ci/check-vendor.sh --write-patch, and say why in vendor/README.md):"$'\n'"$out"
fi
echo "[check-vendor] ok: Cargo.lock uses the vendored $crate $version;" \
  "$vendored = crates.io release + $patch_file, which changes $(grep -c '^diff --git' "$patch_file") file(s)"
