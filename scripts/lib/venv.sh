# Sourced by scripts that need the Python test tools (redis-py, prometheus-client): creates
# .venv-test/ beside the repo root on first use, installs scripts/test-requirements.txt into
# it, and sets CHORUS_PY to its python. Sets CHORUS_PY empty when it cannot (no network,
# no venv module): callers then report SKIP rather than pass.
chorus_venv() {
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  local venv="$root/.venv-test" req="$root/scripts/test-requirements.txt"
  CHORUS_PY=""
  if [ ! -x "$venv/bin/python" ] || ! cmp -s "$req" "$venv/.requirements"; then
    python3 -m venv "$venv" >/dev/null 2>&1 || { echo "venv: python3 -m venv failed" >&2; return 1; }
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >/dev/null 2>&1 \
      || { echo "venv: pip install -r $req failed" >&2; return 1; }
    cp "$req" "$venv/.requirements"
  fi
  CHORUS_PY="$venv/bin/python"
}
