#!/usr/bin/env bash
# Regenerates test/vectors/formats/ from the reference Nix 2.8 (/usr/bin), in
# an isolated root at a fixed path (store paths depend on the store dir):
#   nar/<name>.nar + nar/index.json   (`nix-store --dump`, `nix-hash` sha256/md5, base16/base32)
#   drv/*.drv + drv/show.json + drv/index.json   (`nix-instantiate` of test/differential/formats-drv.nix)
# Never touches /nix. Run: bash scripts/gen-vectors-formats.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=test/vectors/formats
ROOT=/tmp/tix-formats-vectors
rm -rf "$ROOT" "$OUT/nar" "$OUT/drv"
mkdir -p "$ROOT"/{store,var,log,etc,trees} "$OUT/nar" "$OUT/drv"
printf 'build-users-group =\nsubstituters =\nsandbox = false\nexperimental-features = nix-command ca-derivations impure-derivations\n' > "$ROOT/etc/nix.conf"
export NIX_STORE_DIR=$ROOT/store NIX_STATE_DIR=$ROOT/var NIX_LOG_DIR=$ROOT/log NIX_CONF_DIR=$ROOT/etc NIX_REMOTE= HOME=$ROOT NIX_PATH=
T=$ROOT/trees
# Trees: empty and executable files, symlinks, empty dirs, byte-order names, non-UTF-8 names.
printf '' > "$T/empty-file"
printf 'hello\n' > "$T/exec-file"; chmod 755 "$T/exec-file"
ln -s /some/target "$T/symlink"
mkdir "$T/empty-dir"
mkdir "$T/order"; for n in a Z _ é 10 9 .dot A-b; do printf '%s' "$n" > "$T/order/$n"; done
mkdir "$T/bytes"; printf 'x' > "$T/bytes/$(printf '\xff\xfe')"; ln -s "$(printf '\x80')" "$T/bytes/l"
mkdir -p "$T/nested/a/b/c"; printf 'deep' > "$T/nested/a/b/c/leaf"; ln -s ../.. "$T/nested/a/b/up"
head -c 100000 /dev/zero | tr '\0' 'z' > "$T/big-file"
{
  echo '['
  sep=''
  for t in "$T"/*; do
    n=$(basename "$t")
    /usr/bin/nix-store --dump "$t" > "$OUT/nar/$n.nar"
    printf '%s{"name":"%s","sha256":"%s","sha256Base32":"%s","md5":"%s"}\n' "$sep" "$n" \
      "$(/usr/bin/nix-hash --type sha256 "$t")" "$(/usr/bin/nix-hash --type sha256 --base32 "$t")" "$(/usr/bin/nix-hash --type md5 "$t")"
    sep=','
  done
  echo ']'
} > "$OUT/nar/index.json"
/usr/bin/nix-instantiate test/differential/formats-drv.nix 2>/dev/null | sed 's/!.*//' > "$ROOT/top"
cp "$ROOT"/store/*.drv "$OUT/drv/"
# shellcheck disable=SC2046
/usr/bin/nix show-derivation $(ls "$ROOT"/store/*.drv) > "$OUT/drv/show.json"
printf '{"storeDir":"%s","topLevel":[%s]}\n' "$ROOT/store" "$(sed 's/.*/"&"/' "$ROOT/top" | paste -sd,)" > "$OUT/drv/index.json"
chmod -R u+w "$ROOT"; rm -rf "$ROOT"
echo "wrote $(ls "$OUT/nar" | wc -l) NAR files and $(ls "$OUT/drv" | wc -l) drv files to $OUT"
