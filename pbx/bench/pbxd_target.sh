#!/usr/bin/env bash
# The shared harness's pbxd target (../shared/bench/sip/targets/pbxd.sh), with pbxd's resident
# memory sampled every second into $SIP_WORKDIR/rss.log ("<unix time> <RSS kB>") for as long as
# it runs. Used by side_by_side.sh; the harness's contract (environment, foreground, stopped
# by SIGTERM to the group) is the shared target's.
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
	while kb=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null) && [ -n "$kb" ]; do
		echo "$(date +%s) $kb" >> "$LOG"
		sleep 1
	done
) &

exec bash "$HARNESS/targets/pbxd.sh"
