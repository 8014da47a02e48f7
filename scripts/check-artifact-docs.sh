#!/usr/bin/env bash
# The built artifact is complete and documented: every module and plugin of the collection,
# loaded from the installed tarball (not from this checkout), renders with ansible-doc.
set -eu
installed=${1:?usage: check-artifact-docs.sh COLLECTIONS_PATH}
bin=$(dirname "$0")/../.venv/bin
root="$installed/ansible_collections/pbxops/wsfc"
export ANSIBLE_COLLECTIONS_PATH="$installed"
unset ANSIBLE_CONFIG
checked=0
for kind in module connection filter; do
  case $kind in module) dir=modules ;; *) dir=$kind ;; esac
  [ -d "$root/plugins/$dir" ] || continue
  # A filter file holds several filters, each documented in a .yml of its own name beside it.
  case $kind in filter) pattern="*.yml" ;; *) pattern="*.py" ;; esac
  for file in "$root/plugins/$dir"/$pattern; do
    name=$(basename "$file"); name=${name%.*}
    [ "$name" = "__init__" ] && continue
    if ! out=$("$bin/ansible-doc" -t "$kind" "pbxops.wsfc.$name" 2>&1) || ! grep -q "pbxops.wsfc.$name" <<<"$out"; then
      echo "ansible-doc -t $kind pbxops.wsfc.$name failed from the installed artifact:" >&2
      echo "$out" >&2
      exit 1
    fi
    checked=$((checked + 1))
  done
done
echo "ansible-doc rendered $checked plugin(s) from the installed artifact"
