#!/usr/bin/env bash
# pbxd and Kamailio in one run of the shared SIP harness, with pbxd's memory and the host's load.
#
#   bash pbx/bench/side_by_side.sh            # from the project root; about 15 minutes
#   TARGETS=pbxd bash pbx/bench/side_by_side.sh    # pbxd alone
#
# Needs SIPp (Debian sip-tester) and, for the Kamailio baseline, Debian's kamailio and
# kamailio-sqlite-modules (apt-get install kamailio kamailio-sqlite-modules sip-tester). Every
# setting of ../shared/bench/sip/run.sh applies (REG_RATES, CALL_RATES, STEP_SECONDS, ...); its
# README says what the summary lines mean. pbxd runs with its defaults, SQLite with
# database.synchronous = FULL, as Kamailio's SQLite commits here. PBXD_BUILD picks the pbxd
# build: compiled (the default; `make compiled` first) or pure (pbx/bench/build.sh).
#
# Besides the harness's summary lines this prints, for pbxd, its resident memory (RSS, sampled
# every second from /proc: at start, the peak, and the last sample before it was stopped), and
# the host's load average over the run (1-minute figure, sampled every 10 s), which says how
# much the figures owe to other work on the machine.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HARNESS=${HARNESS:-$ROOT/../shared/bench/sip}
[ -d "$HARNESS" ] || { echo "no SIP harness at $HARNESS; set HARNESS=<folder of the shared bench/sip harness>" >&2; exit 2; }
# Refuse a missing or unknown build now rather than after the Kamailio half of the run; the
# pbxd target settles it again for its own process (pbxd_target.sh).
PBXD_BUILD=$(source "$ROOT/pbx/bench/build.sh" && echo "$PBXD_BUILD") || exit 2
export PBXD_BUILD
echo "pbxd build: $PBXD_BUILD"
export SCRATCH=${SCRATCH:-/tmp/bench-sip-side-by-side}
# Not the harness's default 5060/15060, so that this run keeps clear of another on the same host.
export SIP_PORT=${SIP_PORT:-5070} SIPP_BASE_PORT=${SIPP_BASE_PORT:-17060}
TARGETS=${TARGETS:-kamailio pbxd}
mkdir -p "$SCRATCH"
LOADS=$SCRATCH/loadavg.log
: > "$LOADS"

(while :; do echo "$(date +%s) $(cut -d' ' -f1 /proc/loadavg)" >> "$LOADS"; sleep 10; done) &
SAMPLER=$!
trap 'kill "$SAMPLER" 2>/dev/null || true' EXIT

args=()
for target in $TARGETS; do
	case $target in
	kamailio) args+=(kamailio) ;;
	pbxd) args+=("pbxd=bash $ROOT/pbx/bench/pbxd_target.sh") ;;
	*) echo "unknown target $target (kamailio, pbxd)" >&2; exit 2 ;;
	esac
done

cd "$ROOT"
"$HARNESS/run.sh" "${args[@]}"

kill "$SAMPLER" 2>/dev/null || true
rss=$SCRATCH/pbxd/rss.log
if [ -s "$rss" ]; then
	awk 'NR == 1 {first = $2} {if ($2 > peak) peak = $2; last = $2}
		END {printf "pbxd rss_start_mb=%.1f rss_peak_mb=%.1f rss_last_mb=%.1f\n", first / 1024, peak / 1024, last / 1024}' "$rss"
fi
awk '{n++; s += $2; if (n == 1 || $2 < lo) lo = $2; if ($2 > hi) hi = $2}
	END {if (n) printf "host load_avg_1min min=%.2f mean=%.2f max=%.2f samples=%d\n", lo, s / n, hi, n}' "$LOADS"
