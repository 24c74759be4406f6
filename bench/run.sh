#!/usr/bin/env bash
# bench/run.sh - warren's server vs the C ToyVpn reference server, in one run,
# both driven by the C reference client (../shared/bench/ref/refclient.c),
# in the two-namespace topology of ../shared/bench/netns.sh:
#
#   [wbr<pid>-cli] refclient, iperf3 -c, ping  --veth--  [wbr<pid>-srv] server, iperf3 -s
#
# Rows, repeated BENCH_ROUNDS times, the order alternating per round (ref first
# in odd rounds, warren first in even ones) so slow drift hits both sides alike:
#   ref:    refserver + refclient, kernel default UDP socket buffers, tunnel 198.19.1.1
#   warren: dist/warren server + refclient,                          tunnel 198.19.5.1
# and then BENCH_CONTEXT rounds (default 1), for context only, of the two
# servers with swapped UDP socket buffer settings (warren defaults to 4 MiB, the
# reference to the kernel default; refclient keeps the kernel default throughout):
#   ref 4 MiB srv:        refserver -b 4194304 + refclient,          tunnel 198.19.8.1
#   warren kernel bufs:   warren --udp-buffer 0 + refclient,         tunnel 198.19.9.1
# Each row: ping RTT (idle tunnel), iperf3 TCP 1 stream, iperf3 UDP unlimited
# rate, CPU of both tunnel process trees during the TCP test (see netns.sh).
#
# Prints a Markdown report: machine, command, the netns.sh tables, per-row thread
# CPU, warren's own session counters, and ratios warren / reference (medians
# over the rounds). Speed floor of issue 2: warren TCP >= 0.5 x reference.
#
# usage (root): bench/run.sh
# env: WARREN_BIN=path      benchmark this binary (default dist/warren, built if missing)
#      WARREN_SHARED=dir    the shared tree holding bench/netns.sh (default ../shared)
#      BENCH_ROUNDS=3       rounds of (ref, warren)
#      BENCH_CONTEXT=1      rounds of the two buffer-swapped context rows (0: none)
#      BENCH_OUT=file       also write the report there
#      BENCH_FLOOR=0.5      TCP ratio the run must reach (exit 3 below it)
#      netns.sh knobs: WB_TCP_SECS WB_UDP_SECS WB_UDP_RATE WB_UDP_LEN WB_PINGS
#      WB_PING_INTERVAL WB_QUIET_WAIT (default here 20) WB_QUIET_MAX WB_KEEP=1
# exit: 0 ran and the floor holds; 1 setup failed; 3 floor missed or no warren row
set -u -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SHARED=${WARREN_SHARED:-$REPO/../shared}
ROUNDS=${BENCH_ROUNDS:-3}
CONTEXT=${BENCH_CONTEXT:-1}
FLOOR=${BENCH_FLOOR:-0.5}
NOISY=50   # background busy % (before/after a row) that marks the row as disturbed
: "${WB_QUIET_WAIT:=20}"
export WB_QUIET_WAIT
CMDLINE="$0${*:+ $*}"

die() { echo "bench/run.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, TUN devices)"
[ -f "$SHARED/bench/netns.sh" ] || die "$SHARED/bench/netns.sh not found; set WARREN_SHARED to the shared tree"
case $ROUNDS in '' | *[!0-9]* | 0) die "BENCH_ROUNDS must be a positive integer, got '$ROUNDS'" ;; esac
case $CONTEXT in '' | *[!0-9]*) die "BENCH_CONTEXT must be a whole number, got '$CONTEXT'" ;; esac

# --- dependencies (Debian packages); netns.sh installs nothing itself ---
need=()
for pair in iperf3:iperf3 ping:iputils-ping jq:jq gcc:gcc ip:iproute2 ss:iproute2 ps:procps awk:gawk; do
    command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
{ [ -f /usr/include/linux/if_tun.h ] && [ -f /usr/include/stdio.h ]; } || need+=(libc6-dev linux-libc-dev)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; } ||
        die "apt-get install ${need[*]} failed"
fi

# --- the warren binary ---
if [ -n "${WARREN_BIN:-}" ]; then
    [ -x "$WARREN_BIN" ] || die "WARREN_BIN=$WARREN_BIN is not an executable"
    src_bin=$WARREN_BIN
else
    src_bin=$REPO/dist/warren
    if [ ! -x "$src_bin" ]; then
        echo "building dist/warren" >&2
        (cd "$REPO" && node_modules/.bin/bun run build) >&2 || die "build failed"
    fi
fi

# shellcheck source=/dev/null
. "$SHARED/bench/netns.sh"
# Namespaces unique to this run (TESTING.md rule 2): override netns.sh's fixed names.
# The veth and TUN names live inside them, so parallel runs never collide.
NS_PREFIX=wbr
# shellcheck disable=SC2034  # read by the sourced netns.sh
WB_CLI=$NS_PREFIX$$-cli
# shellcheck disable=SC2034
WB_SRV=$NS_PREFIX$$-srv

# Leftovers of crashed runs: namespaces of our prefix whose run (PID) is gone.
for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    [[ $ns =~ ^$NS_PREFIX([0-9]+)-(cli|srv)$ ]] || continue
    [ -d "/proc/${BASH_REMATCH[1]}" ] && continue
    wb_log "removing leftover namespace $ns"
    # shellcheck disable=SC2046  # word splitting of the PID list is intended
    wb_stop $(ip netns pids "$ns" 2>/dev/null)
    ip netns del "$ns" 2>/dev/null
done

wb_init || exit 1
# A private copy: other engineers may rebuild dist/warren during the run.
WARREN=$WB_WORK/warren
cp "$src_bin" "$WARREN" || die "cannot copy $src_bin"
WARREN_VERSION=$("$WARREN" --version 2>&1 | head -1)
WARREN_HELP=$("$WARREN" server --help 2>&1)
wb_build_ref || die "building the C reference pair failed"
wb_topo_up || die "topology setup failed"

# Wrap wb_measure: remember the thread names of the tunnel processes before the
# row (netns.sh records per-thread ticks by PID/TID only).
eval "wb_measure_orig() $(declare -f wb_measure | tail -n +2)"
# warren's control socket defaults to /run/warren/warren.sock, shared by every
# namespace: give each benchmark server its own, so it never meets other warrens.
ctl_opt() { # NAME
    case $WARREN_HELP in *--control-socket*) echo "--control-socket $WB_WORK/$1.sock" ;; esac
}

# shellcheck disable=SC2317  # called by bench_custom in netns.sh
wb_measure() {
    local n p t
    n=$(wc -l <"$WB_RESULTS")
    for p in $(wb_tree "${@:3}"); do
        for t in /proc/"$p"/task/*; do
            echo "$p/${t##*/} $(tr ' ' _ <"$t/comm" 2>/dev/null)"
        done
    done | sort >"$WB_WORK/row$n.comm"
    wb_measure_orig "$@"
}

REF_LABEL="ref: refserver + refclient"
WARREN_LABEL="warren: warren server + refclient"

row_ref() { # ROUND
    WB_NOTE="round $1; kernel default UDP socket buffers (rmem_default $(cat /proc/sys/net/core/rmem_default))" \
        bench_refclient "$REF_LABEL, round $1" \
        "exec $WB_REFSERVER -p 8000 -k wbsecret -t wbrs1 -A 198.19.1.1/24 -m 1400 -o 'm,1400 a,198.19.1.2,32 r,198.19.1.0,24'" \
        198.19.1.1
}
row_warren() { # ROUND
    WB_NOTE="round $1; $WARREN_VERSION" \
        bench_refclient "$WARREN_LABEL, round $1" \
        "exec $WARREN server --listen 0.0.0.0:8000 --secret wbsecret --tun wbw0 --pool 198.19.5.0/24 --route 198.19.5.0/24 --log-format text $(ctl_opt "ctl-round$1")" \
        198.19.5.1
}

for r in $(seq "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then row_ref "$r"; row_warren "$r"; else row_warren "$r"; row_ref "$r"; fi
done
row_ref4() { # ROUND
    WB_NOTE="context round $1: server -b 4194304 (SO_RCVBUFFORCE/SO_SNDBUFFORCE), client kernel default, like warren's default" \
        bench_refclient "ref 4 MiB srv: refserver -b 4194304 + refclient, round $1" \
        "exec $WB_REFSERVER -p 8000 -k wbsecret -t wbrs8 -A 198.19.8.1/24 -m 1400 -b 4194304 -o 'm,1400 a,198.19.8.2,32 r,198.19.8.0,24'" \
        198.19.8.1
}
row_warren0() { # ROUND
    [[ $WARREN_HELP == *--udp-buffer* ]] || return 0
    WB_NOTE="context round $1: --udp-buffer 0 = kernel default socket buffers, like the ref rows" \
        bench_refclient "warren kernel bufs: warren --udp-buffer 0 + refclient, round $1" \
        "exec $WARREN server --listen 0.0.0.0:8000 --secret wbsecret --tun wbw9 --pool 198.19.9.0/24 --route 198.19.9.0/24 --log-format text --udp-buffer 0 $(ctl_opt "ctl-context$1")" \
        198.19.9.1
}
for r in $(seq "$CONTEXT"); do
    if [ $((r % 2)) = 1 ]; then row_ref4 "$r"; row_warren0 "$r"; else row_warren0 "$r"; row_ref4 "$r"; fi
done

# Per row: the busiest threads over the TCP test (% of one CPU; the window is the
# iperf3 test time, a little shorter than the sampling window, so % reads high by ~5 %).
thread_table() {
    local n=0 label d secs
    echo "| row | busiest threads during the TCP test (process/thread: % of 1 CPU) |"
    echo "|---|---|"
    while IFS=$'\t' read -r label _; do
        d=$WB_WORK/row$n
        if [ -f "$d/threads0" ] && [ -f "$d/threads1" ]; then
            secs=$(jq -r '.end.sum_received.seconds // empty' "$d/tcp.json" 2>/dev/null)
            echo "| $label | $(join "$d/threads0" "$d/threads1" | join -a 1 - "$WB_WORK/row$n.comm" |
                awk -v s="${secs:-$WB_TCP_SECS}" -v hz="$(getconf CLK_TCK)" '{
                    split($1, id, "/"); role = (id[1] == id[2]) ? "main" : "thr"
                    printf "%.0f %s(%s)\n", 100 * ($3 - $2) / hz / s, ($4 == "" ? "?" : $4), role }' |
                sort -rn | head -6 | awk '$1 > 0 {printf "%s%s: %s%%", (NR > 1 ? ", " : ""), $2, $1}') |"
        fi
        n=$((n + 1))
    done <"$WB_RESULTS"
}

# Ratios of medians over the rows of each kind (label prefix before ":").
ratio_summary() {
    awk -F'\t' -v floor="$FLOOR" -v noisy="$NOISY" '
    # median of column col over the rows of kind (quiet_only: skip rows with background load)
    function med(kind, col, quiet_only,   n, i, j, v, a) {
        n = 0
        for (i = 1; i <= rows; i++) if (K[i] == kind && S[i] != "FAILED" && V[i, col] != "NA" && V[i, col] != "" &&
            !(quiet_only && N[i])) a[++n] = V[i, col] + 0
        if (!n) return "NA"
        for (i = 2; i <= n; i++) { v = a[i]; for (j = i - 1; j >= 1 && a[j] > v; j--) a[j + 1] = a[j]; a[j + 1] = v }
        return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function cnt(kind, quiet_only,   i, n) {
        n = 0
        for (i = 1; i <= rows; i++) if (K[i] == kind && S[i] != "FAILED" && !(quiet_only && N[i])) n++
        return n
    }
    function ctx(name, w, r) {
        printf "| %s | %s | %s | %s | %s | %s | %s |\n", name, f0(med(w, 3)), f0(med(r, 3)), ratio(med(w, 3), med(r, 3)),
            f0(med(w, 5)), f0(med(r, 5)), ratio(med(w, 5), med(r, 5))
    }
    function f0(x) { return (x == "NA") ? "NA" : sprintf("%.0f", x) }
    function nn(   i, n) { n = 0; for (i = 1; i <= rows; i++) n += N[i]; return n }
    function ratio(w, r) { return (w == "NA" || r == "NA" || r == 0) ? "NA" : sprintf("%.2f", w / r) }
    function line(name, col, fmt, better,   w, r) {
        w = med("warren", col); r = med("ref", col)
        printf "| %s | %s | %s | %s | %s |\n", name, (w == "NA" ? "NA" : sprintf(fmt, w)), (r == "NA" ? "NA" : sprintf(fmt, r)), ratio(w, r), better
    }
    {
        rows++; K[rows] = substr($1, 1, index($1, ":") - 1); S[rows] = $2
        for (c = 3; c <= 17; c++) V[rows, c] = $c
        split($18, bg, "/"); N[rows] = (bg[1] + 0 >= noisy || bg[2] + 0 >= noisy)
        if (match($1, /round [0-9]+$/)) { rd = substr($1, RSTART + 6); if ($2 != "FAILED" && $3 != "NA") T[K[rows], rd] = $3; R[rd] = 1 }
    }
    END {
        printf "Rows that ran: warren %d, ref %d (failed rows are left out of the medians).\n\n", cnt("warren"), cnt("ref")
        print "| metric (median over rounds) | warren | ref | warren / ref | better |"
        print "|---|---:|---:|---:|---|"
        line("TCP Mbit/s", 3, "%.0f", "higher")
        line("UDP rx Mbit/s", 5, "%.0f", "higher")
        line("UDP loss %", 6, "%.1f", "lower")
        line("ping RTT median ms", 8, "%.3f", "lower")
        line("tunnel CPU s per GB (TCP)", 12, "%.2f", "lower")
        line("busiest tunnel thread % of 1 CPU", 17, "%.0f", "-")
        printf "\nRows with other load on the machine (background >= %d %% just before or after the row): %d of %d.", noisy, nn(), rows
        printf " Quiet rows only: warren %d, ref %d, TCP ratio %s.\n", cnt("warren", 1), cnt("ref", 1), ratio(med("warren", 3, 1), med("ref", 3, 1))
        printf "\nSame-round TCP ratios (warren / ref):"
        n = 0
        for (rd = 1; rd in R; rd++) { printf " round %d: %s;", rd, ((("warren", rd) in T) && (("ref", rd) in T)) ? ratio(T["warren", rd], T["ref", rd]) : "NA"; n++ }
        print ""
        if (cnt("ref 4 MiB srv") || cnt("warren kernel bufs")) {
            printf "\nContext: both servers with the same UDP socket buffers (medians; %d + %d context rows, main rows for the other side):\n\n", cnt("ref 4 MiB srv"), cnt("warren kernel bufs")
            print "| buffers (server side) | warren TCP | ref TCP | TCP ratio | warren UDP rx | ref UDP rx | UDP rx ratio |"
            print "|---|---:|---:|---:|---:|---:|---:|"
            ctx("4 MiB", "warren", "ref 4 MiB srv")
            ctx("kernel default", "warren kernel bufs", "ref")
        }
        t = ratio(med("warren", 3), med("ref", 3))
        printf "\n**Floor (issue 2): warren TCP >= %s x reference in the same run: %s (ratio %s).**\n", floor,
            (t == "NA") ? "NOT MEASURED" : ((t + 0 >= floor + 0) ? "MET" : "MISSED"), t
    }' "$WB_RESULTS"
}

# warren's own view: its session-down lines (counters, drops) from the server logs.
warren_logs() {
    local f
    for f in "$WB_WORK"/row*-warren*-server.log; do
        [ -f "$f" ] || continue
        echo "- ${f##*/}: \`$(grep -E 'session down|ERROR|WARN|error' "$f" | grep -v 'unencrypted' | tail -3 |
            sed 's/^[^[]*\[[^]]*\] //' | tr '\n' ' ' | cut -c1-600)\`"
    done
}

report() {
    echo "## warren vs C ToyVpn reference, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "Machine: nproc=$(nproc), $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo), kernel $(uname -r)." \
        "Binary: $WARREN_VERSION (a copy of $src_bin). iperf3 $(iperf3 --version | awk 'NR==1{print $2}'): TCP 1 stream ${WB_TCP_SECS} s;" \
        "UDP -l ${WB_UDP_LEN} -b ${WB_UDP_RATE} (0 = unlimited) ${WB_UDP_SECS} s; ping -c ${WB_PINGS} -i ${WB_PING_INTERVAL}." \
        "Tunnel MTU 1400. Both tunnel ends and both iperf3 ends share the $(nproc) CPUs with each other and with other tenants."
    echo
    echo "Command: \`$CMDLINE\` (BENCH_ROUNDS=$ROUNDS BENCH_CONTEXT=$CONTEXT WB_QUIET_WAIT=$WB_QUIET_WAIT)"
    echo
    echo "### Ratios"
    echo
    ratio_summary
    echo
    echo "### All rows"
    echo
    wb_print_table
    echo
    echo "### Where the CPU goes"
    echo
    thread_table
    echo
    echo "warren server log (last session/drop/error lines per row):"
    echo
    warren_logs
}

report >"$WB_WORK/report.md"
echo
cat "$WB_WORK/report.md"
if [ -n "${BENCH_OUT:-}" ]; then
    cp "$WB_WORK/report.md" "$BENCH_OUT" && echo "written: $BENCH_OUT" >&2
fi
grep -q '^\*\*Floor.*: MET' "$WB_WORK/report.md" || exit 3
exit 0
