#!/usr/bin/env bash
# Run the lab's Windows wire contract tests (lab/tests/wire) under every ansible-core minor the lab
# supports, each in its own small venv (created or refreshed by contract-venvs.sh). A failure names
# the core version; a format change shows up as a failing pin in lab/tests/wire/format_pins.json.
#
# Usage: scripts/contract-tests.sh [VERSION ...]     (default: 2.19 2.20 2.21)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
versions=("$@")
if [[ ${#versions[@]} -eq 0 ]]; then
  versions=(2.19 2.20 2.21)
fi

"$ROOT/scripts/contract-venvs.sh" "${versions[@]}"
failed=()
for minor in "${versions[@]}"; do
  echo "== lab wire contract against ansible-core $minor"
  if ! (cd "$ROOT" && "$ROOT/.venvs/core-$minor/bin/python" -m pytest -q -p no:cacheprovider lab/tests/wire); then
    failed+=("$minor")
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "contract-tests: the lab's wire contract fails against ansible-core ${failed[*]}" >&2
  exit 1
fi
echo "contract-tests: the lab decodes ansible-core ${versions[*]}"
