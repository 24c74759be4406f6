#!/usr/bin/env bash
# bench/wg-run.sh - warren's WireGuard front door vs wireguard-go as the server, both
# driven by the same wireguard-go client, in one run, in the two-namespace topology of
# ../shared/bench/netns.sh:
#
#   [wbg<pid>-cli] wireguard-go client, iperf3 -c, ping  --veth--  [wbg<pid>-srv] server under test, iperf3 -s
#
# Rows, BENCH_ROUNDS times, the order alternating per round (wireguard-go first in odd
# rounds, warren first in even ones):
#   wireguard-go: wireguard-go server (listen 51820)                       tunnel 198.19.4.1
#   warren:       warren server --wg-listen 0.0.0.0:51820 (OpenSSL AEAD)   tunnel 198.19.10.1
# Each row (netns.sh wb_measure): ping RTT (idle tunnel), iperf3 TCP 1 stream, iperf3 UDP
# unlimited rate, tunnel CPU during the TCP test. Tunnel MTU 1400 on every interface.
#
# Then BENCH_HS_ROUNDS rounds of responder handshakes/s: a fresh warren with
# BENCH_HS_PEERS configured peers, and bench/wg-handshakes.ts in the client namespace
# sending one valid initiation per peer over UDP (see that file for the method).
#
# Prints a Markdown report: machine, command, medians and ratios warren / wireguard-go,
# same-round ratios, every row, the handshake rounds, and the issue-12 targets:
# TCP >= 1.0x wireguard-go, ping RTT <= 1.0x wireguard-go, >= 4,000 handshakes/s.
#
# usage (root): bench/wg-run.sh
# env: WARREN_BIN=path  WARREN_SHARED=dir  BENCH_ROUNDS=3  BENCH_HS_ROUNDS=3
#      BENCH_HS_PEERS=12000  BENCH_HS_WINDOW=256 (initiations in flight)  BENCH_OUT=file  and netns.sh's WB_* knobs (WB_KEEP=1 keeps logs)
# exit: 0 ran; 1 setup failed; 3 a row kind never ran
set -u -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SHARED=${WARREN_SHARED:-$REPO/../shared}
ROUNDS=${BENCH_ROUNDS:-3}
HS_ROUNDS=${BENCH_HS_ROUNDS:-3}
HS_PEERS=${BENCH_HS_PEERS:-12000}
HS_WINDOW=${BENCH_HS_WINDOW:-256}
BUN=$REPO/node_modules/.bin/bun
: "${WB_QUIET_WAIT:=20}"
export WB_QUIET_WAIT
CMDLINE="$0${*:+ $*}"

die() { echo "bench/wg-run.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, TUN devices)"
[ -f "$SHARED/bench/netns.sh" ] || die "$SHARED/bench/netns.sh not found; set WARREN_SHARED"
[ -x "$BUN" ] || die "$BUN missing: npm ci first"
for n in "$ROUNDS" "$HS_ROUNDS" "$HS_PEERS" "$HS_WINDOW"; do case $n in '' | *[!0-9]*) die "BENCH_* must be whole numbers, got '$n'" ;; esac; done

need=()
for pair in iperf3:iperf3 ping:iputils-ping jq:jq ip:iproute2 ss:iproute2 ps:procps awk:gawk wireguard-go:wireguard-go wg:wireguard-tools; do
    command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; } ||
        die "apt-get install ${need[*]} failed"
fi

src_bin=${WARREN_BIN:-$REPO/dist/warren}
if [ -z "${WARREN_BIN:-}" ] && [ ! -x "$src_bin" ]; then
    (cd "$REPO" && "$BUN" build.ts) >&2 || die "build failed"
fi
[ -x "$src_bin" ] || die "$src_bin is not an executable"

# shellcheck source=/dev/null
. "$SHARED/bench/netns.sh"
NS_PREFIX=wbg
# shellcheck disable=SC2034  # read by the sourced netns.sh
WB_CLI=$NS_PREFIX$$-cli
# shellcheck disable=SC2034
WB_SRV=$NS_PREFIX$$-srv
# wireguard-go's control sockets (/var/run/wireguard/NAME.sock) are not per namespace:
# names unique to this run, removed after every row and at exit.
SIF=wbg$$s
CIF=wbg$$c
wg_socks_rm() { rm -f "/var/run/wireguard/$SIF.sock" "/var/run/wireguard/$CIF.sock"; }

for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    [[ $ns =~ ^$NS_PREFIX([0-9]+)-(cli|srv)$ ]] || continue
    [ -d "/proc/${BASH_REMATCH[1]}" ] && continue
    wb_log "removing leftover namespace $ns"
    # shellcheck disable=SC2046
    wb_stop $(ip netns pids "$ns" 2>/dev/null)
    ip netns del "$ns" 2>/dev/null
done

wb_init || exit 1
# shellcheck disable=SC2317  # called by the EXIT trap
on_exit() {
    local rc=$?
    wg_socks_rm
    (exit "$rc")
    wb_cleanup
}
trap on_exit EXIT
WARREN=$WB_WORK/warren
cp "$src_bin" "$WARREN" || die "cannot copy $src_bin"
WARREN_VERSION=$("$WARREN" --version 2>&1 | head -1)
WGGO_VERSION=$(dpkg-query -W -f '${Version}' wireguard-go 2>/dev/null || wireguard-go --version | head -1)
wb_topo_up || die "topology setup failed"

K=$WB_WORK/keys
mkdir -p "$K"
(umask 077 && wg genkey >"$K/g.key" && wg genkey >"$K/w.key" && wg genkey >"$K/c.key")
for k in g w c; do wg pubkey <"$K/$k.key" >"$K/$k.pub"; done
printf '[Peer]\n# Name = bench\nPublicKey = %s\nAllowedIPs = 198.19.10.2/32\n' "$(cat "$K/c.pub")" >"$K/peers.conf"

# wg_up IFNAME KEY LISTEN_PORT PEER_PUB ALLOWED ENDPOINT ADDR: a shell command that runs
# wireguard-go in the foreground, configures it with wg set and ip, and waits for it.
wg_up() {
    echo "export WG_PROCESS_FOREGROUND=1 LOG_LEVEL=error
wireguard-go -f $1 & p=\$!
for i in \$(seq 50); do [ -S /var/run/wireguard/$1.sock ] && break; sleep 0.1; done
wg set $1 ${3:+listen-port $3} private-key $2 peer \$(cat $4) allowed-ips $5 ${6:+endpoint $6} &&
ip addr add $7 dev $1 && ip link set dev $1 mtu 1400 up || kill \$p
wait \$p"
}

GO_LABEL="wireguard-go: wireguard-go server + wireguard-go client"
WARREN_LABEL="warren: warren --wg-listen + wireguard-go client"
row_go() { # ROUND
    WB_NOTE="round $1; wireguard-go $WGGO_VERSION both ends" bench_custom "$GO_LABEL, round $1" \
        "$(wg_up "$SIF" "$K/g.key" 51820 "$K/c.pub" 198.19.4.2/32 "" 198.19.4.1/24)" \
        "$(wg_up "$CIF" "$K/c.key" "" "$K/g.pub" 198.19.4.0/24 "$WB_SRV_IP:51820" 198.19.4.2/24)" 198.19.4.1
    wg_socks_rm
}
row_warren() { # ROUND
    WB_NOTE="round $1; $WARREN_VERSION" bench_custom "$WARREN_LABEL, round $1" \
        "exec $WARREN server --listen 0.0.0.0:8000 --secret wbsecret --tun wbgw0 --pool 198.19.10.0/24 --route 198.19.10.0/24 --wg-listen 0.0.0.0:51820 --wg-key-file $K/w.key --wg-peers $K/peers.conf --log-format text --control-socket $WB_WORK/ctl-$1.sock" \
        "$(wg_up "$CIF" "$K/c.key" "" "$K/w.pub" 198.19.10.0/24 "$WB_SRV_IP:51820" 198.19.10.2/24)" 198.19.10.1
    wg_socks_rm
}
for r in $(seq "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then row_go "$r"; row_warren "$r"; else row_warren "$r"; row_go "$r"; fi
done

# --- responder handshakes/s ---
HS=$WB_WORK/hs
mkdir -p "$HS"
HS_OUT=$WB_WORK/handshakes.jsonl
: >"$HS_OUT"
"$BUN" "$HERE/wg-handshakes.ts" gen --count "$HS_PEERS" --pool 10.64.0.0/16 --dir "$HS" || die "wg-handshakes.ts gen failed"
for r in $(seq "$HS_ROUNDS"); do
    log=$WB_WORK/hs-server-$r.log
    wb_start "$WB_SRV" "hs-server-$r" "exec $WARREN server --listen 0.0.0.0:8000 --secret wbsecret --tun wbgh0 --pool 10.64.0.0/16 --route 10.64.0.0/16 --wg-listen 0.0.0.0:51820 --wg-key-file $K/w.key --wg-peers $HS/peers.conf --log-format text --control-socket $WB_WORK/ctl-hs-$r.sock"
    spid=$WB_LAST_PID
    for _ in $(seq 300); do grep -q "server ready" "$log" 2>/dev/null && break; wb_alive "$spid" || break; sleep 0.1; done
    if ! grep -q "server ready" "$log"; then
        wb_log "handshake round $r: server did not start: $(tail -c 300 "$log")"
        wb_stop "$spid"
        continue
    fi
    bg=$(wb_wait_quiet)
    wb_log "handshake round $r ($HS_PEERS peers, background busy $bg%)"
    ip netns exec "$WB_CLI" "$BUN" "$HERE/wg-handshakes.ts" load --server "$WB_SRV_IP:51820" --server-key "$(cat "$K/w.pub")" \
        --dir "$HS" --pid "$spid" --window "$HS_WINDOW" | jq -c --arg r "$r" --arg bg "$bg" '. + {round: ($r | tonumber), background: ($bg | tonumber)}' >>"$HS_OUT"
    wb_log "handshake round $r: $(tail -1 "$HS_OUT")"
    wb_stop "$spid"
done

median() { sort -n | awk '{a[NR] = $1} END {if (!NR) print "NA"; else print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
# col: 3 = TCP Mbit/s, 8 = ping median ms, 5 = UDP rx, 12 = CPU s/GB (results.tsv of netns.sh)
# med KIND COL [quiet]: median of one column over the rows of a kind (quiet: only rows whose
# background load, just before and after, stayed below NOISY %)
NOISY=50
med() {
    awk -F'\t' -v k="$1" -v c="$2" -v q="${3:-}" -v noisy="$NOISY" 'index($1, k ":") == 1 && $2 != "FAILED" && $c != "NA" && $c != "" {
        split($18, bg, "/"); if (q != "" && (bg[1] + 0 >= noisy || bg[2] + 0 >= noisy)) next; print $c }' "$WB_RESULTS" | median
}
quiet_rows() { awk -F'\t' -v k="$1" -v noisy="$NOISY" 'index($1, k ":") == 1 && $2 != "FAILED" { split($18, bg, "/"); if (bg[1] + 0 < noisy && bg[2] + 0 < noisy) n++ } END {print n + 0}' "$WB_RESULTS"; }
# cell LABEL ROUND COL: one value of one row (NA when the row failed or is missing)
cell() { awk -F'\t' -v l="$1, round $2" -v c="$3" '$1 == l && $2 != "FAILED" {v = $c} END {print (v == "") ? "NA" : v}' "$WB_RESULTS"; }
fmt() { awk -v v="$1" -v d="$2" 'BEGIN {if (v == "NA") print v; else printf "%.*f", d, v}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "NA" || b == "NA" || b == 0) print "NA"; else printf "%.2f", a / b}'; }
verdict() { awk -v r="$1" -v t="$2" -v dir="$3" 'BEGIN {if (r == "NA") print "NOT MEASURED"; else if ((dir == "ge" && r + 0 >= t) || (dir == "le" && r + 0 <= t)) print "MET"; else print "MISSED"}'; }

report() {
    local wt gt wp gp wu gu wc gc hs tr pr
    wt=$(med warren 3); gt=$(med wireguard-go 3); wp=$(med warren 8); gp=$(med wireguard-go 8)
    wu=$(med warren 5); gu=$(med wireguard-go 5); wc=$(med warren 12); gc=$(med wireguard-go 12)
    hs=$(jq -r '.rate' "$HS_OUT" | median)
    tr=$(ratio "$wt" "$gt"); pr=$(ratio "$wp" "$gp")
    echo "## warren WireGuard door vs wireguard-go, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "Machine: nproc=$(nproc), $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo), kernel $(uname -r)." \
        "warren: $WARREN_VERSION (a copy of $src_bin). wireguard-go $WGGO_VERSION (client in every row)." \
        "iperf3 $(iperf3 --version | awk 'NR==1{print $2}'): TCP 1 stream ${WB_TCP_SECS} s; UDP -l ${WB_UDP_LEN} -b ${WB_UDP_RATE} ${WB_UDP_SECS} s;" \
        "ping -c ${WB_PINGS} -i ${WB_PING_INTERVAL}. Tunnel MTU 1400. Everything shares the $(nproc) CPUs."
    echo
    echo "Command: \`$CMDLINE\` (BENCH_ROUNDS=$ROUNDS BENCH_HS_ROUNDS=$HS_ROUNDS BENCH_HS_PEERS=$HS_PEERS BENCH_HS_WINDOW=$HS_WINDOW WB_QUIET_WAIT=$WB_QUIET_WAIT)"
    echo
    echo "| metric (median over rounds) | warren | wireguard-go | warren / wireguard-go | target |"
    echo "|---|---:|---:|---:|---|"
    echo "| TCP Mbit/s | $(fmt "$wt" 0) | $(fmt "$gt" 0) | $tr | >= 1.0: $(verdict "$tr" 1.0 ge) |"
    echo "| ping RTT median ms | $(fmt "$wp" 3) | $(fmt "$gp" 3) | $pr | <= 1.0: $(verdict "$pr" 1.0 le) |"
    echo "| UDP rx Mbit/s | $(fmt "$wu" 0) | $(fmt "$gu" 0) | $(ratio "$wu" "$gu") | - |"
    echo "| tunnel CPU s per GB (TCP) | $wc | $gc | $(ratio "$wc" "$gc") | - |"
    echo "| responder handshakes/s (warren, median of $(wc -l <"$HS_OUT") rounds) | $hs | - | - | >= 4000: $(awk -v h="$hs" 'BEGIN {print (h == "NA") ? "NOT MEASURED" : (h + 0 >= 4000 ? "MET" : "MISSED")}') |"
    echo
    echo "Rows without other load (background < $NOISY % just before and after): warren $(quiet_rows warren), wireguard-go $(quiet_rows wireguard-go)." \
        "Over those only: TCP $(fmt "$(med warren 3 q)" 0) / $(fmt "$(med wireguard-go 3 q)" 0) Mbit/s = $(ratio "$(med warren 3 q)" "$(med wireguard-go 3 q)")," \
        "ping RTT $(fmt "$(med warren 8 q)" 3) / $(fmt "$(med wireguard-go 8 q)" 3) ms = $(ratio "$(med warren 8 q)" "$(med wireguard-go 8 q)")."
    echo
    printf 'Same-round ratios (warren / wireguard-go), TCP and ping RTT:'
    for r in $(seq "$ROUNDS"); do
        printf ' round %s: %s, %s;' "$r" "$(ratio "$(cell "$WARREN_LABEL" "$r" 3)" "$(cell "$GO_LABEL" "$r" 3)")" \
            "$(ratio "$(cell "$WARREN_LABEL" "$r" 8)" "$(cell "$GO_LABEL" "$r" 8)")"
    done
    echo
    echo
    echo "### All rows"
    echo
    wb_print_table
    echo
    echo "### Handshake rounds"
    echo
    echo "| round | peers | primed (answered / cookie replies) | mac2 | measured: answered | lost | seconds | handshakes/s | warren busiest thread % of 1 CPU | background busy % |"
    echo "|---:|---:|---|---|---:|---:|---:|---:|---:|---:|"
    jq -r '"| \(.round) | \(.peers) | \(.primed) (\(.primeAnswered) / \(.cookies)) | \(.mac2) | \(.answered) | \(.lost) | \(.seconds) | \(.rate) | \(.busiestThreadCpu) | \(.background) |"' "$HS_OUT"
}

report >"$WB_WORK/report.md"
echo
cat "$WB_WORK/report.md"
[ -n "${BENCH_OUT:-}" ] && cp "$WB_WORK/report.md" "$BENCH_OUT" && echo "written: $BENCH_OUT" >&2
grep -q "^| $WARREN_LABEL" "$WB_WORK/report.md" && grep -q "^| $GO_LABEL" "$WB_WORK/report.md" || exit 3
exit 0
