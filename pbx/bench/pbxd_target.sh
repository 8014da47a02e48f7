#!/usr/bin/env bash
# The shared harness's pbxd target (../shared/bench/sip/targets/pbxd.sh), with pbxd's resident
# memory sampled every second into $SIP_WORKDIR/rss.log ("<unix time> <RSS kB>", the front and
# its worker processes together) for as long as it runs, and sip.workers = $PBXD_WORKERS
# (default 1, the single process; what 2 measured on the 2-core bench box: pbx/README.md,
# "Several cores"). Used by side_by_side.sh; the harness's contract (environment, foreground,
# stopped by SIGTERM to the group) is the shared target's.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HARNESS=${HARNESS:-$ROOT/../shared/bench/sip}
[ -d "$HARNESS" ] || { echo "no SIP harness at $HARNESS; set HARNESS=<folder of the shared bench/sip harness>" >&2; exit 2; }
: "${SIP_WORKDIR:?}" "${SIP_PORT:?}"
LOG=$SIP_WORKDIR/rss.log
: > "$LOG"

# The sampler finds pbxd by the UDP port it holds, and ends when pbxd has gone.
(
	pid=""
	for _ in $(seq 1 600); do
		pid=$(ss -Hulpn "sport = :$SIP_PORT" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2 || true)
		[ -n "$pid" ] && break
		sleep 0.5
	done
	[ -n "$pid" ] || exit 0
	# The socket is shared with the workers: the front is the holder whose parent holds none.
	holders=" $(ss -Hulpn "sport = :$SIP_PORT" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u | tr '\n' ' ') "
	for candidate in $holders; do
		parent=$(awk '/^PPid/ {print $2}' "/proc/$candidate/status" 2>/dev/null || true)
		case $holders in *" $parent "*) ;; *) pid=$candidate ;; esac
	done
	while kb=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null) && [ -n "$kb" ]; do
		for child in $(cat "/proc/$pid/task/$pid/children" 2>/dev/null); do
			kb=$((kb + $(awk '/^VmRSS/ {print $2}' "/proc/$child/status" 2>/dev/null || echo 0)))
		done
		echo "$(date +%s) $kb" >> "$LOG"
		sleep 1
	done
) &

# shellcheck source=build.sh
source "$ROOT/pbx/bench/build.sh"
export PBXD_WORKERS=${PBXD_WORKERS:-1}
if [ "$PBXD_WORKERS" != 1 ]; then
	export PBXD_EXEC_PREFIX="${PBXD_EXEC_PREFIX:-} bash $ROOT/pbx/bench/with_workers.sh"
fi
exec bash "$HARNESS/targets/pbxd.sh"
