#!/usr/bin/env bash
# PBXD_EXEC_PREFIX for the shared harness's pbxd target: sets sip.workers = $PBXD_WORKERS in the
# configuration the target wrote, then runs the pbxd command line it is given
# ("<bin>/pbxd --config <file> run"). The shared target has no knob for pbxd's own keys.
set -euo pipefail
: "${PBXD_WORKERS:?}"
conf=""
prev=""
for arg in "$@"; do
	[ "$prev" = "--config" ] && conf=$arg
	prev=$arg
done
[ -n "$conf" ] || { echo "with_workers.sh: no --config in: $*" >&2; exit 2; }
sed -i "/^\[sip\]$/a workers = $PBXD_WORKERS" "$conf"
exec "$@"
