# Sourced by scripts that check /metrics: sets PROMTOOL to a `promtool` binary, or empty.
# Uses one on PATH, else the copy cached in .tools/; else (as root, with apt) downloads
# Debian's prometheus package (19 MB) with `apt-get download` and keeps only promtool
# from it: installing the package itself would add the Prometheus server, its web assets
# and a system user, none of which the tests need. Call it before entering a private
# network namespace (no network there).
chorus_promtool() {
  local root tools
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  tools="$root/.tools"
  PROMTOOL=$(command -v promtool || true)
  [ -n "$PROMTOOL" ] && return 0
  if [ -x "$tools/promtool" ]; then PROMTOOL="$tools/promtool"; return 0; fi
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null && [ "$(id -u)" = 0 ] || return 1
  local tmp
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/chorus-promtool-XXXXXX")
  if (cd "$tmp" && apt-get download -qq prometheus >/dev/null 2>&1 && dpkg-deb -x prometheus_*.deb x) \
      && [ -x "$tmp/x/usr/bin/promtool" ]; then
    mkdir -p "$tools" && cp "$tmp/x/usr/bin/promtool" "$tools/promtool" && PROMTOOL="$tools/promtool"
  fi
  rm -rf "$tmp"
  [ -n "$PROMTOOL" ]
}
