#!/usr/bin/env bash
# bench/syscalls.sh - one tunnel, one iperf3 run, and what it cost in system calls and drops:
# per thread of the server and of the refclient, `perf stat` on syscall tracepoints (and
# context switches) for PERF_SECS in the middle of the run; then where packets were lost
# (nstat in both namespaces, the client TUN's TX drops, /proc/net/softnet_stat).
# This is how "Lingering" in RESULTS.md was found and checked; it is a probe, not a
# comparison (the tracepoints slow the traced threads: use bench/run.sh for ratios).
#
# usage (root): bench/syscalls.sh ref|fast up|down|udp
# env: WARREN_BIN=path (default dist/warren)  WARREN_SHARED=dir  PERF_SECS=4
#      EVENTS=perf event list (default: context switches and the data path's syscalls)
# Topology: ../shared/bench/netns.sh, namespaces wbs<pid>-{cli,srv} (removed on exit).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SHARED=${WARREN_SHARED:-$HERE/../../shared}
die() { echo "syscalls.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, TUN devices)"
[ $# = 2 ] || die "usage: bench/syscalls.sh ref|fast up|down|udp"
case $2 in up) IPERF_ARGS="" ;; down) IPERF_ARGS="-R" ;; udp) IPERF_ARGS="-u -b 0 -l 1300" ;; *) die "direction must be up, down or udp, got '$2'" ;; esac
command -v perf >/dev/null || die "perf not found (apt-get install linux-perf)"
PERF_SECS=${PERF_SECS:-4}
EVENTS=${EVENTS:-context-switches,syscalls:sys_enter_recvmmsg,syscalls:sys_enter_sendmmsg,syscalls:sys_enter_poll,syscalls:sys_enter_ppoll,syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto}

case $1 in
ref) SERVER_BIN=ref ;;
fast) SERVER_BIN=${WARREN_BIN:-$HERE/../dist/warren} ;;
*) die "server must be ref or fast, got '$1'" ;;
esac
# shellcheck source=bench/probe.sh
. "$HERE/probe.sh"
probe_up wbs
probe_server "$SERVER_BIN"
probe_tunnel
ip netns exec "$WB_SRV" iperf3 -s -1 -B "$PROBE_ADDR" >/dev/null 2>&1 &
WB_PIDS+=($!)
sleep 0.5

ip netns exec "$WB_SRV" nstat -n
ip netns exec "$WB_CLI" nstat -n
cp /proc/net/softnet_stat "$WB_WORK/softnet0"
(sleep 2; perf stat -e "$EVENTS" -p "$PROBE_SERVER" --per-thread -- sleep "$PERF_SECS" 2>"$WB_WORK/perf-server") &
P1=$!
(sleep 2; perf stat -e "$EVENTS" -p "$PROBE_CLIENT" --per-thread -- sleep "$PERF_SECS" 2>"$WB_WORK/perf-client") &
P2=$!
# shellcheck disable=SC2086  # IPERF_ARGS is a word list
ip netns exec "$WB_CLI" iperf3 -c "$PROBE_ADDR" -t 8 $IPERF_ARGS -J >"$WB_WORK/iperf.json" || die "iperf3 failed"
wait "$P1" "$P2"

echo "## $1 $2: $(jq -r 'if .end.sum_received then "\(.end.sum_received.bits_per_second / 1e6 | floor) Mbit/s, \(.end.sum_sent.retransmits) TCP retransmits" else "\(.end.sum.bits_per_second / 1e6 | floor) Mbit/s received, \(.end.sum.lost_percent | floor) % lost" end' "$WB_WORK/iperf.json")"
for side in server client; do
    echo "### $side threads, $PERF_SECS s (counts that are not zero)"
    awk '$2 ~ /^[0-9,]+$/ && $2 != "0" { printf "%-24s %12s  %s\n", $1, $2, $3 }' "$WB_WORK/perf-$side" | sort -k1,1 -k3,3
done
echo "### drops and errors (nstat: server namespace, then client namespace)"
ip netns exec "$WB_SRV" nstat | grep -Ei 'err|drop|retrans|ofo' | sed 's/^/srv /'
ip netns exec "$WB_CLI" nstat | grep -Ei 'err|drop|retrans|ofo' | sed 's/^/cli /'
echo "client TUN (wbrc0) TX dropped: $(ip -n "$WB_CLI" -s link show wbrc0 | awk '/TX:/ { getline; print $4 }')"
echo "softnet_stat per CPU (processed, dropped, squeezed) during the run:"
paste "$WB_WORK/softnet0" /proc/net/softnet_stat | while read -r -a f; do
    n=$((${#f[@]} / 2))
    echo "  $((16#${f[n]} - 16#${f[0]})) $((16#${f[n + 1]} - 16#${f[1]})) $((16#${f[n + 2]} - 16#${f[2]}))"
done
