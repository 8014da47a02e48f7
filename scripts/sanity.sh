#!/usr/bin/env bash
# ansible-test sanity on the built artifact, installed into a temporary folder (ansible-test must
# run inside ansible_collections/<ns>/<name>, and outside this git checkout, or it finds no files).
#
# Tests skipped here, and why:
# - pslint: runs PSScriptAnalyzer under PowerShell (pwsh); there is no PowerShell on these
#   machines. The executor's syntax and safety are checked by tests/unit/test_executor_module.py
#   with tree-sitter-pwsh instead.
# - validate-modules: for a .ps1 module it asks pwsh for the argument spec, so it cannot run
#   without PowerShell either; tests/unit/test_executor_module.py compares the spec with the
#   documentation, and ansible-doc renders every module from the artifact (make artifact).
set -eu
tarball=${1:?usage: sanity.sh COLLECTION_TARBALL}
repo=$(cd "$(dirname "$0")/.." && pwd)
python=$repo/.venv/bin/python
core_version=$("$python" -c 'import ansible.release as r; print(r.__version__)')
test_root=$(mktemp -d)
trap 'rm -rf "$test_root"' EXIT
"$repo/.venv/bin/ansible-galaxy" collection install --offline --no-deps --force -p "$test_root" "$tarball" >/dev/null 2>&1

# ansible-test's pip bootstrap downloads get-pip.py; seed its cache with the offline stand-in.
pip_version=$("$python" - <<'PY'
from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.host_configs import NativePythonConfig
import sys
config = NativePythonConfig(version=f"{sys.version_info.major}.{sys.version_info.minor}", path=sys.executable)
print(get_venv_packages(config)["pip"])
PY
)
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$cache")"
cp "$repo/scripts/ansible-test/get_pip_offline.py" "$cache"

echo "ansible-test $core_version sanity (skipped, no PowerShell here: pslint, validate-modules)"
cd "$test_root/ansible_collections/pbxops/wsfc"
"$repo/.venv/bin/ansible-test" sanity --python "$("$python" -c 'import sys; print(f"{sys.version_info.major}.{sys.version_info.minor}")')" \
  --skip-test pslint --skip-test validate-modules --color no
