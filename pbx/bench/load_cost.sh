#!/usr/bin/env bash
# What pbxd costs per authenticated REGISTER and per call, in CPU and in memory, however busy
# the host is.
#
#   bash pbx/bench/load_cost.sh               # from the project root, about 2 minutes
#   PROFILE=1 bash pbx/bench/load_cost.sh     # and a CPU-time profile of pbxd (top 40 printed)
#   MEMORY=1 bash pbx/bench/load_cost.sh      # and the memory Python holds (tracemalloc)
#   PBXD_WORKERS=2 bash pbx/bench/load_cost.sh  # sip.workers = 2: CPU and RSS of the front and
#                                             # its workers together, and of each
#   PBXD_BUILD=pure bash pbx/bench/load_cost.sh # the Python source instead of the compiled
#                                             # build (the default; pbx/bench/build.sh)
#
# A throughput ladder measures what a saturated server sustains, which on a shared host is
# mostly a measure of the other processes. This script instead drives pbxd closed-loop (SIPp
# keeps at most LIMIT flows open, so nothing is dropped or retransmitted) and divides the CPU
# time pbxd used (from /proc/<pid>/stat) by the flows completed: milliseconds of one core per
# REGISTER flow and per call. That figure compares two revisions on a busy host; the ladder of
# ../shared/bench/sip/run.sh (see side_by_side.sh) gives the absolute rates on a quiet one.
#
# Memory: pbxd's RSS (and with MEMORY=1 the bytes tracemalloc sees allocated) at start, after
# the load, and DRAIN seconds later, once RFC 3261's 32 s transaction lifetime has passed.
#
# Uses the shared harness's scenarios, provisioning and pbxd target (../shared/bench/sip), SIPp
# on 127.0.0.1 only; every SIPp run is bounded by -m and -timeout, pbxd is stopped at the end.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HARNESS=${HARNESS:-$ROOT/../shared/bench/sip}
[ -d "$HARNESS" ] || { echo "no SIP harness at $HARNESS; set HARNESS=<folder of the shared bench/sip harness>" >&2; exit 2; }
# shellcheck source=build.sh
source "$ROOT/pbx/bench/build.sh"
SC=$HARNESS/scenarios
WD=${WORKDIR:-$(mktemp -d /tmp/pbxd-cpu-cost.XXXXXX)}
HOST=127.0.0.1
PORT=${SIP_PORT:-25160}
BASE=${SIPP_BASE_PORT:-35160}
REGS=${REGS:-4000}
CALLS=${CALLS:-2000}
LIMIT=${LIMIT:-20}
N_USERS=${N_USERS:-2000}
HZ=$(getconf CLK_TCK)
mkdir -p "$WD"
SIPP_COMMON=(-i "$HOST" -nostdin -recv_timeout 5000 -trace_stat -fd 1 -buff_size 1048576)

python3 "$HARNESS/bench_util.py" provision "$WD" "$N_USERS" "$HOST:$PORT" callee

DRAIN=${DRAIN:-34}
prefix=""
if [ "${PROFILE:-0}" = 1 ]; then prefix="$ROOT/.venv/bin/python $ROOT/pbx/bench/cpu_profile.py profile $WD/pbxd.prof"; fi
if [ "${MEMORY:-0}" = 1 ]; then prefix="$ROOT/.venv/bin/python $ROOT/pbx/bench/cpu_profile.py memory $WD/traced.txt"; fi
WORKERS=${PBXD_WORKERS:-1}
if [ "$WORKERS" != 1 ]; then
	[ "$prefix" = "" ] || { echo "PROFILE and MEMORY measure the single process: leave PBXD_WORKERS at 1" >&2; exit 2; }
	prefix="bash $ROOT/pbx/bench/with_workers.sh"
fi
(cd "$ROOT" && exec env SIP_HOST=$HOST SIP_PORT=$PORT SIP_DOMAIN=$HOST:$PORT SIP_USERS_CSV=$WD/users.csv \
	SIP_CALLEE=callee SIP_WORKDIR=$WD "PBXD_EXEC_PREFIX=$prefix" PBXD_WORKERS=$WORKERS \
	setsid bash "$HARNESS/targets/pbxd.sh" > "$WD/server.log" 2>&1) &
SERVER=$!
trap 'kill -TERM "$PID" 2>/dev/null || true' EXIT
PID=$SERVER
python3 "$HARNESS/bench_util.py" ready "$HOST" "$PORT" 60 > /dev/null
# The process that holds the SIP port is pbxd (the target script execs it); with workers, the
# front shares the socket with them, and is the holder whose parent holds none.
holders=" $(ss -Hulpn "sport = :$PORT" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u | tr '\n' ' ') "
for candidate in $holders; do
	case $holders in *" $(awk '/^PPid/ {print $2}' "/proc/$candidate/status") "*) ;; *) PID=$candidate ;; esac
done
processes() {  # the front (or the single process) and its workers, not multiprocessing's resource tracker
	echo "$PID"
	for child in $(cat "/proc/$PID/task/$PID/children" 2>/dev/null); do
		grep -qa spawn_main "/proc/$child/cmdline" 2>/dev/null && echo "$child"
	done
}
ticks_each() { for p in $(processes); do awk '{printf "%s ", $14 + $15}' "/proc/$p/stat"; done; }
total() { awk '{for (i = 1; i <= NF; i++) s += $i} END {print s}' <<< "$1"; }  # of a ticks_each reading
status_mb() { for p in $(processes); do awk -v k="^$1" '$0 ~ k {print $2}' "/proc/$p/status"; done | awk '{s += $1} END {printf "%.1f", s / 1024}'; }
rss_mb() { status_mb VmRSS; }
hwm_mb() { status_mb VmHWM; }
# with workers: CPU ms per flow of each process (front first) between two ticks_each readings
split_ms() {  # split_ms "BEFORE" "AFTER" FLOWS
	[ "$WORKERS" = 1 ] && return 0
	paste <(tr ' ' '\n' <<< "$1") <(tr ' ' '\n' <<< "$2") | awk -v n="$3" -v hz="$HZ" \
		'NF == 2 {printf "%s%.3f", (NR > 1 ? " + " : " (front "), 1000 * ($2 - $1) / hz / (n ? n : 1)} END {print " ms: front + workers)"}'
}
traced_mb() {  # the latest tracemalloc sample: "current MB (peak MB)", or "-" without MEMORY=1
	if [ -s "$WD/traced.txt" ]; then sleep 1.2; tail -1 "$WD/traced.txt" | awk '{printf "%.1f MB (peak %.1f MB)", $2 / 1048576, $3 / 1048576}'; else echo -; fi
}
ok_of() { python3 "$HARNESS/bench_util.py" stat "$1" | tr ' ' '\n' | awk -F= '$1 == "successful" {print $2}'; }

sipp_bounded() {  # sipp_bounded NAME ARGS...
	local name=$1; shift
	(cd "$WD" && timeout --foreground 300 sipp "$HOST:$PORT" "$@" "${SIPP_COMMON[@]}" -timeout 240s \
		-timeout_error -stf "$WD/$name.csv" > "$WD/$name.out" 2>&1) || echo "sipp $name exited $?" >&2
}

echo "pbxd ($PBXD_BUILD build) pid $PID; at start: RSS $(rss_mb) MB, traced $(traced_mb)"
sipp_bounded warmup -sf "$SC/register_auth.xml" -inf "$WD/sipp_users.csv" -p $((BASE + 1)) \
	-m "$N_USERS" -r 2000 -l "$LIMIT"
e0=$(ticks_each)
sipp_bounded register -sf "$SC/register_auth.xml" -inf "$WD/sipp_users.csv" -p $((BASE + 1)) \
	-m "$REGS" -r 10000 -l "$LIMIT"
e1=$(ticks_each)
ok=$(ok_of "$WD/register.csv")
awk -v t=$(($(total "$e1") - $(total "$e0"))) -v n="$ok" -v hz="$HZ" -v m="$REGS" \
	'BEGIN {printf "register: %d of %d flows ok, pbxd CPU %.3f ms per flow\n", n, m, 1000 * t / hz / (n ? n : 1)}'
split_ms "$e0" "$e1" "$ok"

sipp_bounded callee_reg -sf "$SC/register_auth.xml" -inf "$WD/sipp_callee.csv" -p $((BASE + 2)) -m 1
(cd "$WD" && exec setsid timeout --foreground 300 sipp -sf "$SC/uas_answer.xml" -p $((BASE + 2)) \
	"${SIPP_COMMON[@]}" -timeout 280s -default_behaviors all,-abortunexp -stf "$WD/uas.csv" \
	> "$WD/uas.out" 2>&1) &
UAS=$!
sleep 0.5
e0=$(ticks_each)
sipp_bounded calls -sf "$SC/uac_call_auth.xml" -inf "$WD/sipp_users.csv" -s callee -p $((BASE + 3)) \
	-d 0 -m "$CALLS" -r 10000 -l "$LIMIT"
e1=$(ticks_each)
kill -TERM -- -"$UAS" 2>/dev/null || true
ok=$(ok_of "$WD/calls.csv")
awk -v t=$(($(total "$e1") - $(total "$e0"))) -v n="$ok" -v hz="$HZ" -v m="$CALLS" \
	'BEGIN {printf "calls: %d of %d ok, pbxd CPU %.3f ms per call\n", n, m, 1000 * t / hz / (n ? n : 1)}'
split_ms "$e0" "$e1" "$ok"
echo "after the load: RSS $(rss_mb) MB (peak $(hwm_mb) MB), traced $(traced_mb)"
sleep "$DRAIN"
echo "${DRAIN} s later: RSS $(rss_mb) MB (peak $(hwm_mb) MB), traced $(traced_mb)"

kill -TERM "$PID" 2>/dev/null || true
wait "$SERVER" 2>/dev/null || true
trap - EXIT
if [ "${PROFILE:-0}" = 1 ] && [ -f "$WD/pbxd.prof" ]; then
	"$ROOT/.venv/bin/python" -c 'import pstats, sys; pstats.Stats(sys.argv[1]).sort_stats("tottime").print_stats(40)' \
		"$WD/pbxd.prof" | sed -n '/ncalls/,$p'
fi
echo "work folder: $WD"
