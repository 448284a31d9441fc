# Sourced by the multi-process suites: re-runs the calling script inside a private network
# namespace (so iptables rules and bound addresses never touch the host) and brings its
# loopback up. Where namespaces are unavailable the suite reports SKIP and exits 0.
enter_private_netns() {  # NAME "$@"
  local name=$1
  shift
  if [ -z "${CHORUS_IN_NETNS:-}" ]; then
    if ! command -v unshare >/dev/null || ! unshare -n true 2>/dev/null; then
      echo "$name: SKIP (cannot create a private network namespace here)"
      exit 0
    fi
    exec unshare -n env CHORUS_IN_NETNS=1 bash "$0" "$@"
  fi
  ip link set lo up
}
