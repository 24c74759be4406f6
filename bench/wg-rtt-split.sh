#!/usr/bin/env bash
# bench/wg-rtt-split.sh - where a ping's round trip goes inside the server, for
# wireguard-go, warren's WireGuard door and warren's ToyVpn door (refclient), in the
# two-namespace topology of ../shared/bench/netns.sh (namespaces wbs<pid>-cli/-srv).
#
# tcpdump (nanosecond kernel timestamps) in the server namespace watches the veth and
# the server's TUN while the client pings the server's tunnel address (SPLIT_PINGS x 10 ms):
#   in   = encrypted request on the veth  -> plaintext request on the TUN (written by the server)
#   stack = request on the TUN -> echo reply on the TUN (the kernel's own ICMP)
#   out  = reply on the TUN (queued for the server to read) -> encrypted reply on the veth
# Events are paired in time order (an idle tunnel: nothing else of that size crosses it).
# Medians in microseconds, one line per server, SPLIT_ROUNDS rounds.
#
# usage (root): bench/wg-rtt-split.sh   env: WARREN_BIN, WARREN_SHARED, SPLIT_PINGS=300,
#               SPLIT_ROUNDS=2, WB_KEEP=1 (keep the pcaps)
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SHARED=${WARREN_SHARED:-$REPO/../shared}
PINGS=${SPLIT_PINGS:-300}
ROUNDS=${SPLIT_ROUNDS:-2}
die() { echo "bench/wg-rtt-split.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root"
for t in wireguard-go wg tcpdump tshark gcc; do command -v "$t" >/dev/null || die "$t missing"; done
src_bin=${WARREN_BIN:-$REPO/dist/warren}
[ -x "$src_bin" ] || die "$src_bin missing (node_modules/.bin/bun build.ts)"

# shellcheck source=/dev/null
. "$SHARED/bench/netns.sh"
# shellcheck disable=SC2034  # read by netns.sh
WB_CLI=wbs$$-cli
# shellcheck disable=SC2034
WB_SRV=wbs$$-srv
SIF=wbs$$s
CIF=wbs$$c
socks_rm() { rm -f "/var/run/wireguard/$SIF.sock" "/var/run/wireguard/$CIF.sock"; }
wb_init || exit 1
# shellcheck disable=SC2317  # called by the EXIT trap
on_exit() {
    local rc=$?
    socks_rm
    (exit "$rc")
    wb_cleanup
}
trap on_exit EXIT
W=$WB_WORK/warren
cp "$src_bin" "$W" || die "cannot copy $src_bin"
wb_build_ref || die "building the C reference pair failed"
wb_topo_up || die "topology setup failed"
K=$WB_WORK
(umask 077 && wg genkey >"$K/g.key" && wg genkey >"$K/w.key" && wg genkey >"$K/c.key")
for k in g w c; do wg pubkey <"$K/$k.key" >"$K/$k.pub"; done
printf '[Peer]\nPublicKey = %s\nAllowedIPs = 198.19.10.2/32\n' "$(cat "$K/c.pub")" >"$K/peers.conf"

wg_up() { # IFNAME KEY LISTEN_PORT PEER_PUB ALLOWED ENDPOINT ADDR (as in wg-run.sh)
    echo "export WG_PROCESS_FOREGROUND=1 LOG_LEVEL=error
wireguard-go -f $1 & p=\$!
for i in \$(seq 50); do [ -S /var/run/wireguard/$1.sock ] && break; sleep 0.1; done
wg set $1 ${3:+listen-port $3} private-key $2 peer \$(cat $4) allowed-ips $5 ${6:+endpoint $6} &&
ip addr add $7 dev $1 && ip link set dev $1 mtu 1400 up || kill \$p
wait \$p"
}

# rtt_median PING_OUTPUT: the median of its time= values (ms)
rtt_median() { sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' "$1" | sort -n | awk '{a[NR] = $1} END {if (NR) printf "%.3f", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# split LABEL TUN ADDR PORT UDPLEN: capture, ping, print the medians
split() {
    local d=$WB_WORK/$1 t1 t2
    mkdir -p "$d"
    ip netns exec "$WB_SRV" tcpdump -i wb-s0 -nn -U --time-stamp-precision=nano -w "$d/veth.pcap" udp port "$4" 2>/dev/null &
    t1=$!
    ip netns exec "$WB_SRV" tcpdump -i "$2" -nn -U --time-stamp-precision=nano -w "$d/tun.pcap" icmp 2>/dev/null &
    t2=$!
    sleep 1.5
    wb_wait_quiet >/dev/null
    ip netns exec "$WB_CLI" ping -n -c "$PINGS" -i 0.01 "$3" >"$d/ping.txt" 2>&1
    sleep 0.5
    kill -INT "$t1" "$t2"
    wait "$t1" "$t2" 2>/dev/null
    tshark -r "$d/veth.pcap" -T fields -e frame.time_epoch -e ip.src -e udp.length 2>/dev/null |
        awk -v s="$WB_SRV_IP" -v l="$5" '$3 == l {print $1, ($2 == s ? "out" : "in")}' >"$d/veth.txt"
    tshark -r "$d/tun.pcap" -T fields -e frame.time_epoch -e icmp.type 2>/dev/null |
        awk '{print $1, ($2 == 8 ? "req" : "rep")}' >"$d/tun.txt"
    # Walk the four event kinds in time order: a TUN request pairs with the veth packet just
    # before it, a veth reply with the TUN reply just before it (robust to a lost capture).
    sort -n "$d/veth.txt" "$d/tun.txt" | awk -v label="$1" -v rtt="$(rtt_median "$d/ping.txt")" '
        function med(arr, m,   i, j, v) { for (i = 2; i <= m; i++) { v = arr[i]; for (j = i - 1; j >= 1 && arr[j] > v; j--) arr[j + 1] = arr[j]; arr[j + 1] = v }
            return m ? ((m % 2) ? arr[(m + 1) / 2] : (arr[m / 2] + arr[m / 2 + 1]) / 2) : 0 }
        $2 == "in" { tin = $1 }
        $2 == "req" && tin { treq = $1; a[++na] = treq - tin; cin = tin; tin = 0 }
        $2 == "rep" && treq { trep = $1; b[++nb] = trep - treq; treq = 0 }
        $2 == "out" && trep { c[++nc] = $1 - trep; s[++ns] = $1 - cin; trep = 0 }
        END { printf "| %s | %d | %.1f | %.1f | %.1f | %.1f | %s |\n", label, ns, 1e6 * med(a, na), 1e6 * med(b, nb), 1e6 * med(c, nc), 1e6 * med(s, ns), rtt }'
}

echo "| server (round) | pings matched | in: veth -> TUN µs | kernel ICMP µs | out: TUN -> veth µs | server total µs | client ping RTT median ms |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for r in $(seq "$ROUNDS"); do
    wb_start "$WB_SRV" "toy-srv-$r" "exec $W server --listen 0.0.0.0:8000 --secret wbsecret --tun wbst0 --pool 198.19.5.0/24 --route 198.19.5.0/24 --control-socket $WB_WORK/ctl-t$r.sock"
    s=$WB_LAST_PID
    wb_wait_udp_listener 10
    wb_start "$WB_CLI" "toy-cli-$r" "exec $WB_REFCLIENT -s $WB_SRV_IP -p 8000 -k wbsecret -t wbrc0 -R"
    c=$WB_LAST_PID
    wb_wait_reachable 198.19.5.1 15 "$c" && split "warren ToyVpn + refclient ($r)" wbst0 198.19.5.1 8000 92
    wb_stop "$c" "$s"

    wb_start "$WB_SRV" "go-srv-$r" "$(wg_up "$SIF" "$K/g.key" 51820 "$K/c.pub" 198.19.4.2/32 "" 198.19.4.1/24)"
    s=$WB_LAST_PID
    wb_wait_udp_listener 10
    wb_start "$WB_CLI" "go-cli-$r" "$(wg_up "$CIF" "$K/c.key" "" "$K/g.pub" 198.19.4.0/24 "$WB_SRV_IP:51820" 198.19.4.2/24)"
    c=$WB_LAST_PID
    wb_wait_reachable 198.19.4.1 15 "$c" && split "wireguard-go + wireguard-go ($r)" "$SIF" 198.19.4.1 51820 136
    wb_stop "$c" "$s"
    socks_rm

    wb_start "$WB_SRV" "wg-srv-$r" "exec $W server --listen 0.0.0.0:8000 --secret wbsecret --tun wbsw0 --pool 198.19.10.0/24 --route 198.19.10.0/24 --wg-listen 0.0.0.0:51820 --wg-key-file $K/w.key --wg-peers $K/peers.conf --control-socket $WB_WORK/ctl-w$r.sock"
    s=$WB_LAST_PID
    wb_wait_udp_listener 10
    wb_start "$WB_CLI" "wg-cli-$r" "$(wg_up "$CIF" "$K/c.key" "" "$K/w.pub" 198.19.10.0/24 "$WB_SRV_IP:51820" 198.19.10.2/24)"
    c=$WB_LAST_PID
    wb_wait_reachable 198.19.10.1 15 "$c" && split "warren WireGuard + wireguard-go ($r)" wbsw0 198.19.10.1 51820 136
    wb_stop "$c" "$s"
    socks_rm
done
