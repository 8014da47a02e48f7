#!/usr/bin/env bash
# Print the path of a Python interpreter >= 3.12 (ansible-core 2.21 needs it on the controller).
# Looks at $PYTHON, then python3.12..python3.14 and python3 on PATH, then pyenv's interpreters.
set -u
candidates=()
[ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
for v in 3.12 3.13 3.14; do candidates+=("python$v"); done
candidates+=(python3)
if [ -d "${PYENV_ROOT:-$HOME/.pyenv}/versions" ]; then
  for dir in $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.* 2>/dev/null | sort -t. -k2,2n -k3,3n); do
    candidates+=("$dir/bin/python3")
  done
fi
for candidate in "${candidates[@]}"; do
  path=$(command -v "$candidate" 2>/dev/null) || continue
  if "$path" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
    # Resolve pyenv shims to the real interpreter so the venv does not depend on the shim's version file.
    "$path" -c 'import sys; print(sys.executable)'
    exit 0
  fi
done
cat >&2 <<MSG
error: no Python 3.12 or newer found (ansible-core 2.21 needs it; Debian 12's python3 is 3.11).
Looked at: \$PYTHON, python3.14, python3.13, python3.12, python3 on PATH, and pyenv's versions.
Install one (for example 'pyenv install 3.12' or the python3.12 package of your distribution),
or point PYTHON at it: make setup PYTHON=/path/to/python3.12
MSG
exit 1
