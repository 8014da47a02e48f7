#!/usr/bin/env bash
# Create the small virtual environments in which the lab's wire contract tests run against each
# ansible-core minor the lab supports (lab/tests/wire). Each holds only ansible-core at the pinned
# version plus pytest and the lab itself (editable), so that an upgrade of the main venv cannot
# hide a format change in an older core. Idempotent: a venv whose pins are already installed is
# left alone, so a re-run takes well under a second.
#
# Usage: scripts/contract-venvs.sh [VERSION ...]     (default: every pinned version)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENVS="$ROOT/.venvs"

# ansible-core minor -> exact pin. The 2.21 pin matches requirements.txt (the main venv).
declare -A CORE_PINS=(
  [2.19]="2.19.14"
  [2.20]="2.20.10"
  [2.21]="2.21.5"
)
PYTEST_PIN="9.2.0"
PYYAML_PIN="6.0.4"

find_python() {
  # ansible-core 2.19 - 2.21 all run on Python 3.12; prefer the main venv's interpreter.
  for candidate in "$ROOT/.venv/bin/python3.12" "$(command -v python3.12 || true)"; do
    if [[ -n "$candidate" && -x "$candidate" ]]; then
      echo "$candidate"
      return 0
    fi
  done
  echo "contract-venvs: no Python 3.12 interpreter found; install one (e.g. 'pyenv install 3.12')" >&2
  return 1
}

build_venv() {
  local minor="$1" pin="${CORE_PINS[$1]}" dir="$VENVS/core-$1" stamp
  stamp="ansible-core==$pin pytest==$PYTEST_PIN PyYAML==$PYYAML_PIN wsfclab-pth ansible-windows-pth"
  if [[ -f "$dir/.contract-pins" && "$(cat "$dir/.contract-pins")" == "$stamp" ]]; then
    echo "core-$minor: up to date (ansible-core $pin)"
    return 0
  fi
  local python
  python="$(find_python)"
  echo "core-$minor: creating $dir with ansible-core $pin"
  rm -rf "$dir"
  "$python" -m venv "$dir"
  "$dir/bin/pip" install --quiet --no-warn-script-location "ansible-core==$pin" "pytest==$PYTEST_PIN" "PyYAML==$PYYAML_PIN"
  # The lab's sources, and the ansible.windows collection of the main venv (the version the lab
  # simulates, bundled by the pinned `ansible` package), go on the path through .pth files: no build
  # step, always the checkout's code. The contract tests check that collection against each core.
  "$dir/bin/python" -c 'import site, sys; open(site.getsitepackages()[0] + "/wsfclab-src.pth", "w").write(sys.argv[1] + "\n")' \
    "$ROOT/lab/src"
  "$dir/bin/python" -c 'import site, sys; open(site.getsitepackages()[0] + "/ansible-windows.pth", "w").write(sys.argv[1] + "\n")' \
    "$VENVS/ansible-windows"
  echo "$stamp" > "$dir/.contract-pins"
}

link_ansible_windows() {
  local source
  source="$("$ROOT/.venv/bin/python" -c 'import pathlib, ansible_collections.ansible.windows as w; print(pathlib.Path(w.__path__[0]))' 2>/dev/null)" || {
    echo "contract-venvs: the main venv has no ansible.windows collection; run 'make setup' first" >&2
    return 1
  }
  mkdir -p "$VENVS/ansible-windows/ansible_collections/ansible"
  ln -sfn "$source" "$VENVS/ansible-windows/ansible_collections/ansible/windows"
}

main() {
  local versions=("$@")
  if [[ ${#versions[@]} -eq 0 ]]; then
    versions=(2.19 2.20 2.21)
  fi
  mkdir -p "$VENVS"
  link_ansible_windows
  for minor in "${versions[@]}"; do
    if [[ -z "${CORE_PINS[$minor]:-}" ]]; then
      echo "contract-venvs: unknown ansible-core minor '$minor' (known: ${!CORE_PINS[*]})" >&2
      exit 2
    fi
    build_venv "$minor"
  done
}

main "$@"
