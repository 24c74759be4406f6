#!/usr/bin/env bash
# bench/ab.sh - binaries against each other and the C reference, one iperf3 test at a time,
# alternating: REPS repetitions of every server, the order rotating per repetition, each
# server and refclient started fresh in one topology. Prints Mbit/s and TCP retransmits
# (UDP: loss %) per cell, then each server's median ratio to the reference of the same
# repetition. For before/after questions on one direction; bench/run.sh is the full bench.
#
# usage (root): bench/ab.sh REPS up|down|udp NAME=BINARY... [ref]
#   e.g. bench/ab.sh 6 down ref before=/tmp/warren-old after=dist/warren
# env: BENCH_PIN=1     the server side (server, iperf3 -s) on CPU 0, the client side
#                      (refclient, iperf3 -c) on CPU 1: each end has a CPU of its own, as on
#                      two machines, instead of sharing both (run.sh's setting)
#      AB_SECS=8       seconds per iperf3 test
#      WARREN_EXTRA    extra flags for every warren server; WARREN_SHARED=dir
# Topology: ../shared/bench/netns.sh, namespaces wbx<pid>-{cli,srv} (removed on exit).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SHARED=${WARREN_SHARED:-$HERE/../../shared}
die() { echo "ab.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, TUN devices)"
[ $# -ge 3 ] || die "usage: bench/ab.sh REPS up|down|udp NAME=BINARY... [ref]"
REPS=$1
case $REPS in '' | *[!0-9]*) die "REPS must be a number, got '$REPS'" ;; esac
case $2 in up) IPERF_ARGS="" ;; down) IPERF_ARGS="-R" ;; udp) IPERF_ARGS="-u -b 0 -l 1300" ;; *) die "direction must be up, down or udp, got '$2'" ;; esac
shift 2
for s in "$@"; do
    [ "$s" = ref ] && continue
    [ -x "${s#*=}" ] && [ "${s%%=*}" != "$s" ] || die "'$s' is not NAME=BINARY with an executable BINARY"
done
[ -n "${BENCH_PIN:-}" ] && PROBE_SERVER_PIN=(taskset -c 0) PROBE_CLIENT_PIN=(taskset -c 1)
# shellcheck source=bench/probe.sh
. "$HERE/probe.sh"
probe_up wbx
CELLS=$WB_WORK/cells.tsv

# cell REP NAME BINARY|ref: one server, one refclient, one iperf3 test; appends to CELLS.
cell() {
    local v
    probe_server "$3"
    probe_tunnel
    ip netns exec "$WB_SRV" "${PROBE_SERVER_PIN[@]}" iperf3 -s -1 -B "$PROBE_ADDR" >/dev/null 2>&1 &
    WB_PIDS+=($!)
    sleep 0.5
    # shellcheck disable=SC2086  # IPERF_ARGS is a word list
    v=$(ip netns exec "$WB_CLI" "${PROBE_CLIENT_PIN[@]}" iperf3 -c "$PROBE_ADDR" -t "${AB_SECS:-8}" $IPERF_ARGS -J |
        jq -r 'if .end.sum_received then "\(.end.sum_received.bits_per_second / 1e6 | floor)\t\(.end.sum_sent.retransmits)" else "\(.end.sum.bits_per_second / 1e6 | floor)\t\(.end.sum.lost_percent | floor)" end') ||
        die "iperf3 against $2 failed"
    printf '%s\t%s\t%s\n' "$1" "$2" "$v" | tee -a "$CELLS"
    wb_stop "$PROBE_CLIENT" "$PROBE_SERVER"
}

echo "rep	server	Mbit/s	$([ "$IPERF_ARGS" = "${IPERF_ARGS#-u}" ] && echo retransmits || echo loss%)"
n=$#
for r in $(seq 1 "$REPS"); do
    for k in $(seq 0 $((n - 1))); do
        i=$(((k + r) % n + 1))
        s=${!i}
        if [ "$s" = ref ]; then cell "$r" ref ref; else cell "$r" "${s%%=*}" "${s#*=}"; fi
    done
done

echo "== median Mbit/s (range), and the median of the ratios to ref in the same repetition"
awk -F'\t' '
    { v[$1 SUBSEP $2] = $3; seen[$2] = 1; if ($1 > reps) reps = $1 }
    function median(a, m,   i, j, t) {
        for (i = 2; i <= m; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
        return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
    }
    END {
        for (s in seen) {
            m = 0; q = 0; delete a; delete b
            for (r = 1; r <= reps; r++) {
                if (!((r SUBSEP s) in v)) continue
                a[++m] = v[r SUBSEP s]
                if ((r SUBSEP "ref") in v && v[r SUBSEP "ref"] > 0) b[++q] = v[r SUBSEP s] / v[r SUBSEP "ref"]
            }
            med = median(a, m); lo = a[1]; hi = a[m]
            line = sprintf("%-10s %6d (%d-%d)", s, med, lo, hi)
            if (s != "ref" && q > 0) { rmed = median(b, q); line = line sprintf("  ratio %.2f (%.2f-%.2f)", rmed, b[1], b[q]) }
            print line
        }
    }' "$CELLS" | sort
