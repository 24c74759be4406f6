# shellcheck shell=bash
# bench/rows.sh - row measurements for bench/run.sh (sourced after ../shared/bench/netns.sh).
#
# Every row appends one line to $ROWS: LABEL<TAB>KIND<TAB>ROUND<TAB>key=value<TAB>...
#   row_single KIND ROUND "SERVER CMD" TUNNEL_ADDR   one refclient: ping RTT, TCP both ways
#                                                     (CPU of both tunnel trees, per thread), UDP rx
#   row_multi  KIND ROUND "SERVER CMD" TUNNEL_ADDR   MULTI refclients in MULTI namespaces at once:
#                                                     aggregate TCP both ways, server CPU and threads
#   row_handshakes KIND ROUND "SERVER CMD"           hsflood: handshakes/s from distinct sources
#   row_idle   KIND ROUND "SERVER CMD"               IDLE_SESSIONS idle sessions: server CPU %, RSS
# Nothing here touches the root namespace; every wait is bounded.

: "${MULTI:=4}" "${IDLE_SESSIONS:=10000}" "${IDLE_SECS:=20}" "${HS_COUNT:=40000}" "${HS_RATE:=25000}"
HZ=$(getconf CLK_TCK)
MULTI_NS=()

rec() { # LABEL KIND ROUND key=value...
    local IFS=$'\t'
    echo "$*" >>"$ROWS"
}

# Busiest threads of the PID trees between two thread-tick snapshots: "name(role):pct ..." (top 6)
# and, on stdout line 2, the busiest one's %, line 3 the sum over all threads (% of one CPU).
thread_split() { # BEFORE AFTER SECONDS COMMFILE
    join "$1" "$2" | join -a 1 - "$4" | awk -v s="$3" -v hz="$HZ" '{
        split($1, id, "/"); role = (id[1] == id[2]) ? "main" : "thr"
        pct = 100 * ($3 - $2) / hz / s; sum += pct
        printf "%.0f %s(%s)\n", pct, ($4 == "" ? "?" : $4), role } END { printf "%.0f SUM\n", sum }' |
        sort -rn | awk '$2 == "SUM" {sum = $1; next} {if (n < 6 && $1 > 0) {list = list (n ? "," : "") $2 ":" $1; n++}; if ($1 > top) top = $1}
            END {print (list == "" ? "-" : list); print top + 0; print sum + 0}'
}

thread_names() { # PIDS... -> "pid/tid name" lines
    local p t
    for p in $(wb_tree "$@"); do
        for t in /proc/"$p"/task/*; do echo "$p/${t##*/} $(tr ' ' _ <"$t/comm" 2>/dev/null)"; done
    done | sort
}

# One iperf3 TCP test with CPU accounting. Prints: mbps bytes retr cpu_s top% threads srv_cpu_s
tcp_measure() { # DIR(up|dn) ADDR SRVPID CLIPID
    local d=$WB_WORK/cur dir=$1 addr=$2 spid=$3 cpid=$4 c0 c1 s0 s1 t0 t1 mbps=NA bytes=0 retr=NA extra=()
    [ "$dir" = dn ] && extra=(-R)
    thread_names "$spid" "$cpid" >"$d.comm"
    c0=$(wb_cpu_ticks "$spid" "$cpid"); s0=$(wb_cpu_ticks "$spid"); wb_thread_ticks "$spid" "$cpid" >"$d.t0"; t0=$(date +%s.%N)
    wb_iperf "$addr" "$d.$dir.json" -t "$WB_TCP_SECS" "${extra[@]}"
    c1=$(wb_cpu_ticks "$spid" "$cpid"); s1=$(wb_cpu_ticks "$spid"); wb_thread_ticks "$spid" "$cpid" >"$d.t1"; t1=$(date +%s.%N)
    if jq -e '.end.sum_received.bytes' "$d.$dir.json" >/dev/null 2>&1; then
        read -r mbps bytes retr < <(jq -r '[(.end.sum_received.bits_per_second/1e6), .end.sum_received.bytes,
            (.end.sum_sent.retransmits // 0)] | map(tostring) | join(" ")' "$d.$dir.json")
    fi
    local secs split
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
    mapfile -t split < <(thread_split "$d.t0" "$d.t1" "$secs" "$d.comm")
    awk -v m="$mbps" -v b="$bytes" -v r="$retr" -v c=$((c1 - c0)) -v sc=$((s1 - s0)) -v hz="$HZ" -v top="${split[1]}" -v th="${split[0]}" 'BEGIN {
        gb = b / 1e9; printf "%s %s %s %.2f %s %s %.2f %.2f\n", m, b, r, c / hz, top, th, (gb > 0 ? c / hz / gb : 0), (gb > 0 ? sc / hz / gb : 0) }'
}

# bench_start KIND "SERVER CMD" -> starts the server in $WB_SRV, sets SPID (empty on failure)
server_up() { # TAG "SERVER CMD"
    SPID=
    wb_start "$WB_SRV" "$1-server" "$2"
    local pid=$WB_LAST_PID
    wb_wait_udp_listener 10 || { wb_log "$1: server opened no UDP socket: $(tail -c 300 "$WB_WORK/$1-server.log")"; wb_stop "$pid"; return 1; }
    SPID=$pid
}

row_single() { # KIND ROUND "SERVER CMD" ADDR
    local kind=$1 round=$2 addr=$4 tag cpid bg ping up dn udp
    tag=single-$kind-r$round
    wb_log "== single $kind round $round"
    server_up "$tag" "$3" || { rec "$kind, round $round" "$kind" "$round" status=FAILED; return 1; }
    wb_start "$WB_CLI" "$tag-client" "exec $WB_REFCLIENT -s $WB_SRV_IP -p 8000 -k wbsecret -t wbrc0 -R"
    cpid=$WB_LAST_PID
    if ! wb_wait_reachable "$addr" 15 "$cpid"; then
        wb_log "$tag: tunnel not reachable"; wb_stop "$cpid" "$SPID"
        rec "$kind, round $round" "$kind" "$round" status=FAILED; return 1
    fi
    bg=$(wb_wait_quiet)
    ip netns exec "$WB_CLI" ping -n -c "$WB_PINGS" -i "$WB_PING_INTERVAL" -W 1 "$addr" >"$WB_WORK/$tag.ping" 2>&1
    ping=$(sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' "$WB_WORK/$tag.ping" | sort -n |
        awk '{a[NR]=$1} END {if (!NR) {print "NA"; exit}; printf "%.3f\n", (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')
    read -r up_m up_b up_r up_c up_top up_th up_gb up_sgb < <(tcp_measure up "$addr" "$SPID" "$cpid")
    sleep 1
    read -r dn_m dn_b dn_r dn_c dn_top dn_th dn_gb dn_sgb < <(tcp_measure dn "$addr" "$SPID" "$cpid")
    sleep 1
    udp=NA; loss=NA
    if wb_iperf "$addr" "$WB_WORK/$tag.udp.json" -u -l "$WB_UDP_LEN" -b "$WB_UDP_RATE" -t "$WB_UDP_SECS"; then
        read -r udp loss < <(jq -r '[(.end.sum_received.bits_per_second/1e6), .end.sum_received.lost_percent] | map(tostring) | join(" ")' "$WB_WORK/$tag.udp.json")
    fi
    bg="$bg/$(wb_busy 1)"
    rec "$kind, round $round" "$kind" "$round" status=ok rtt="$ping" tcp_up="$up_m" retr_up="$up_r" cpu_up="$up_c" cpugb_up="$up_gb" \
        srvgb_up="$up_sgb" top_up="$up_top" thr_up="$up_th" tcp_dn="$dn_m" retr_dn="$dn_r" cpu_dn="$dn_c" cpugb_dn="$dn_gb" \
        srvgb_dn="$dn_sgb" top_dn="$dn_top" thr_dn="$dn_th" udp_rx="$udp" udp_loss="$loss" bg="$bg"
    wb_log "done: $kind r$round: rtt $ping ms, TCP up $up_m dn $dn_m Mbit/s, UDP rx $udp ($loss%), CPU/GB up $up_gb dn $dn_gb"
    wb_stop "$cpid" "$SPID"
}
