#!/usr/bin/env bash
# bench/run.sh - warren's server (both data paths) vs the C ToyVpn reference server, in
# one run, all driven by the same C reference client (../shared/bench/ref/refclient.c)
# in the two-namespace topology of ../shared/bench/netns.sh:
#
#   [wbr<pid>-cli] refclient, iperf3 -c, ping  --veth--  [wbr<pid>-srv] server, iperf3 -s
#
# Headline rows, BENCH_ROUNDS times, the order rotating per round so slow drift hits
# every variant alike; every server with 4 MiB server-side UDP buffers (equal buffers):
# First (part "rtt"): every variant up at once in its own namespace pair, ping batches
# alternating between them (RTT_ROUNDS batches of RTT_PINGS): the headline RTT.
#   ref:     refserver -b 4194304                       tunnel 198.19.1.1
#   simple:  warren --data-path simple (4 MiB default)  tunnel 198.19.5.1
#   fast:    warren --data-path fast                    tunnel 198.19.6.1
# Each: ping RTT (idle tunnel), iperf3 TCP client->server and server->client (-R) with CPU
# of both tunnel process trees and per thread, iperf3 UDP rx at an unlimited rate.
# Then (rounds of their own, BENCH_EXTRA_ROUNDS):
#   simple/fast x MULTI: MULTI refclients in MULTI namespaces at once, aggregate TCP
#   handshakes: hsflood (bench/hsflood.c), HS_COUNT distinct sources at HS_RATE/s, default limits
#   idle: IDLE_SESSIONS idle sessions, server CPU % over IDLE_SECS and RSS
# Context (BENCH_CONTEXT rounds): refserver as shipped (kernel default buffers).
#
# usage (root): bench/run.sh            full run (about 10 minutes on 2 CPUs)
#               BENCH_SHORT=1 bench/run.sh   1 round, 4 s tests (about 3 minutes)
# env: WARREN_BIN, WARREN_SHARED, BENCH_ROUNDS (3), BENCH_EXTRA_ROUNDS (1), BENCH_CONTEXT (0),
#      BENCH_PARTS ("rtt single multi hs idle"), RTT_ROUNDS (10), RTT_PINGS (100), BENCH_VARIANTS ("simple fast"), BENCH_OUT, BENCH_FLOOR (0.5), MULTI (4),
#      HS_COUNT (40000), HS_RATE (25000), IDLE_SESSIONS (10000), IDLE_SECS (20),
#      WARREN_EXTRA (extra warren server flags, every row), netns.sh knobs (WB_TCP_SECS ...)
# exit: 0 ran and the floor holds (fast TCP up >= BENCH_FLOOR x ref); 1 setup failed; 3 floor missed
set -u -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SHARED=${WARREN_SHARED:-$REPO/../shared}
if [ -n "${BENCH_SHORT:-}" ]; then
    : "${BENCH_ROUNDS:=1}" "${WB_TCP_SECS:=4}" "${WB_UDP_SECS:=3}" "${WB_PINGS:=100}" "${IDLE_SECS:=10}" "${HS_COUNT:=20000}"
fi
ROUNDS=${BENCH_ROUNDS:-3}
EXTRA=${BENCH_EXTRA_ROUNDS:-1}
CONTEXT=${BENCH_CONTEXT:-0}
PARTS=${BENCH_PARTS:-rtt single multi hs idle}
FLOOR=${BENCH_FLOOR:-0.5}
: "${WB_QUIET_WAIT:=20}"
export WB_QUIET_WAIT
CMDLINE="$0${*:+ $*}"

die() { echo "bench/run.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, TUN devices)"
[ -f "$SHARED/bench/netns.sh" ] || die "$SHARED/bench/netns.sh not found; set WARREN_SHARED"
case $ROUNDS in '' | *[!0-9]* | 0) die "BENCH_ROUNDS must be a positive integer" ;; esac

need=()
for pair in iperf3:iperf3 ping:iputils-ping jq:jq gcc:gcc ip:iproute2 ss:iproute2 ps:procps awk:gawk; do
    command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; } || die "apt-get install failed"
fi
src_bin=${WARREN_BIN:-$REPO/dist/warren}
if [ ! -x "$src_bin" ]; then
    [ -z "${WARREN_BIN:-}" ] || die "WARREN_BIN=$WARREN_BIN is not an executable"
    (cd "$REPO" && node_modules/.bin/bun run build) >&2 || die "build failed"
fi

# shellcheck source=/dev/null
. "$SHARED/bench/netns.sh"
. "$HERE/rows.sh"
. "$HERE/rows-more.sh"
NS_PREFIX=wbr
# shellcheck disable=SC2034  # read by netns.sh
WB_CLI=$NS_PREFIX$$-cli
# shellcheck disable=SC2034
WB_SRV=$NS_PREFIX$$-srv
for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    [[ $ns =~ ^$NS_PREFIX([0-9]+)-(cli|srv|m[0-9]+|p[0-9]+-[cs])$ ]] || continue
    [ -d "/proc/${BASH_REMATCH[1]}" ] && continue
    wb_log "removing leftover namespace $ns"
    # shellcheck disable=SC2046
    wb_stop $(ip netns pids "$ns" 2>/dev/null)
    ip netns del "$ns" 2>/dev/null
done

wb_init || exit 1
eval "wb_cleanup_orig() $(declare -f wb_cleanup | tail -n +2)"
wb_cleanup() { multi_topo_down; rtt_topo_down; wb_cleanup_orig; }
ROWS=$WB_WORK/rows.tsv
: >"$ROWS"
WARREN=$WB_WORK/warren
cp "$src_bin" "$WARREN" || die "cannot copy $src_bin"
WARREN_VERSION=$("$WARREN" --version 2>&1 | head -1)
wb_build_ref || die "building the C reference pair failed"
gcc -O2 -pthread -Wall -o "$WB_WORK/hsflood" "$HERE/hsflood.c" || die "building hsflood failed"
WB_HSFLOOD=$WB_WORK/hsflood
wb_topo_up || die "topology setup failed"

warren_cmd() { # DATAPATH TUN NET [extra flags]
    echo "exec $WARREN server --listen 0.0.0.0:8000 --secret wbsecret --tun $2 --pool $3 --route $3 --log-format text" \
        "--control-socket $WB_WORK/ctl-$2.sock --state-dir $WB_WORK/state-$2 --data-path $1 ${4:-} ${WARREN_EXTRA:-}"
}
REF_CMD="exec $WB_REFSERVER -p 8000 -k wbsecret -t wbrs1 -A 198.19.1.1/24 -m 1400 -b 4194304 -o 'm,1400 a,198.19.1.2,32 r,198.19.1.0,24'"
REFKD_CMD="exec $WB_REFSERVER -p 8000 -k wbsecret -t wbrs2 -A 198.19.2.1/24 -m 1400 -o 'm,1400 a,198.19.2.2,32 r,198.19.2.0,24'"
# A warren variant is "simple", "fast", or "<simple|fast>@gso=N": the TUN's gso_max_size
# set to N bytes once the server has created it (an experiment for TCP server->client:
# smaller TSO packets from the kernel, shorter UDP_SEGMENT bursts).
variant_cmd() { # VARIANT TUN NET [extra flags]
    local cmd
    cmd=$(warren_cmd "${1%%@*}" "$2" "$3" "${4:-}")
    if [[ $1 == *@gso=* ]]; then
        cmd="(for _ in \$(seq 50); do ip link set dev $2 gso_max_size ${1#*@gso=} 2>/dev/null && break; sleep 0.1; done) & $cmd"
    fi
    echo "$cmd"
}
one() { # VARIANT ROUND INDEX
    case $1 in
    ref) row_single ref "$2" "$REF_CMD" 198.19.1.1 ;;
    ref-kd) row_single ref-kd "$2" "$REFKD_CMD" 198.19.2.1 ;;
    *) row_single "$1" "$2" "$(variant_cmd "$1" "wbw$((4 + $3))" "198.19.$((4 + $3)).0/24")" "198.19.$((4 + $3)).1" ;;
    esac
}

VARIANTS=${BENCH_VARIANTS:-simple fast}
read -r -a order <<<"ref $VARIANTS"
if [[ " $PARTS " == *" rtt "* ]]; then
    rtt_part < <(
        echo "ref 198.19.1.1 $REF_CMD"
        k=0 # one TUN (and control socket, state dir) name per variant: they run at once
        for v in $VARIANTS; do k=$((k + 1)); echo "$v 198.19.5.1 $(variant_cmd "$v" "wbr$k" 198.19.5.0/24)"; done
    ) || die "RTT topology setup failed"
fi
if [[ " $PARTS " == *" single "* ]]; then
    for r in $(seq "$ROUNDS"); do
        for i in $(seq 0 $((${#order[@]} - 1))); do
            k=$(((i + r - 1) % ${#order[@]}))
            one "${order[$k]}" "$r" "$k"
        done
    done
    for r in $(seq "$CONTEXT"); do one ref-kd "$r"; done
fi
if [[ " $PARTS " == *" multi "* ]]; then
    multi_topo_up || die "multi-client topology setup failed"
    for r in $(seq "$EXTRA"); do
        k=0
        for v in $VARIANTS; do
            k=$((k + 1))
            row_multi "$v" "$r" "$(variant_cmd "$v" "wbt$k" "198.19.$((20 + k)).0/24")" "198.19.$((20 + k)).1"
        done
    done
    multi_topo_down
fi
if [[ " $PARTS " == *" hs "* || " $PARTS " == *" idle "* ]]; then
    hs_topo_up || die "handshake routes failed"
fi
if [[ " $PARTS " == *" hs "* ]]; then
    for r in $(seq "$EXTRA"); do
        row_handshakes default "$r" "$(warren_cmd fast wbw9 10.96.0.0/15)"
        row_handshakes nolimits "$r" "$(warren_cmd fast wbw9 10.96.0.0/15 "--handshake-budget 0 --handshake-rate 0 --lockout-failures 0")"
    done
fi
if [[ " $PARTS " == *" idle "* ]]; then
    for r in $(seq "$EXTRA"); do
        for v in $VARIANTS; do row_idle "$v" "$r" "$(variant_cmd "$v" wbw9 10.96.0.0/15)"; done
    done
fi

report() {
    echo "## warren (simple, fast) vs C ToyVpn reference, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "Machine: nproc=$(nproc), $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo), kernel $(uname -r)." \
        "Binary: $WARREN_VERSION. iperf3 TCP 1 stream ${WB_TCP_SECS} s each way; UDP -l ${WB_UDP_LEN} -b ${WB_UDP_RATE} ${WB_UDP_SECS} s;" \
        "ping -c ${WB_PINGS} -i ${WB_PING_INTERVAL}. Tunnel MTU 1400. All servers 4 MiB server-side UDP buffers; refclient kernel default."
    echo
    echo "Command: \`$CMDLINE\` (BENCH_ROUNDS=$ROUNDS BENCH_EXTRA_ROUNDS=$EXTRA BENCH_PARTS='$PARTS' WARREN_EXTRA='${WARREN_EXTRA:-}')"
    echo
    awk -v variants="$VARIANTS" -f "$HERE/report.awk" "$ROWS"
}
report >"$WB_WORK/report.md"
echo
cat "$WB_WORK/report.md"
[ -n "${BENCH_OUT:-}" ] && cp "$WB_WORK/report.md" "$BENCH_OUT" && cp "$ROWS" "${BENCH_OUT%.md}.tsv" && echo "written: $BENCH_OUT" >&2
ratio=$(awk -F'\t' '$2 == "fast" || $2 == "ref" {k = $2; for (i = 4; i <= NF; i++) if ($i ~ /^tcp_up=[0-9]/) {split($i, a, "="); s[k] += a[2]; c[k]++}}
    END {if (c["ref"] && c["fast"] && s["ref"]) printf "%.2f", (s["fast"] / c["fast"]) / (s["ref"] / c["ref"]); else print "NA"}' "$ROWS")
[[ " $PARTS " == *" single "* ]] || exit 0
[ "$ratio" != NA ] && awk -v r="$ratio" -v f="$FLOOR" 'BEGIN {exit !(r >= f)}' && exit 0
echo "floor missed: fast TCP up / ref = $ratio (< $FLOOR)" >&2
exit 3
