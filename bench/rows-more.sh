# shellcheck shell=bash
# bench/rows-more.sh - the multi-client, handshake and idle-session rows of bench/run.sh
# (sourced after rows.sh). See rows.sh for the row format.

# MULTI extra client namespaces <prefix>-m<k>, each joined to the server namespace by its
# own veth: client 198.18.<10+k>.1/24 -- server 198.18.<10+k>.2/24. Created once.
multi_topo_up() {
    local k ns
    for k in $(seq "$MULTI"); do
        ns=${WB_CLI%-cli}-m$k
        ip netns add "$ns" && ip link add v0 netns "$ns" type veth peer name wbm$k netns "$WB_SRV" &&
            ip -n "$ns" link set lo up && ip -n "$ns" addr add "198.18.$((10 + k)).1/24" dev v0 && ip -n "$ns" link set v0 up &&
            ip -n "$WB_SRV" addr add "198.18.$((10 + k)).2/24" dev wbm$k && ip -n "$WB_SRV" link set wbm$k up || return 1
        MULTI_NS+=("$ns")
    done
}

# Stops every process in each namespace given and deletes the namespace.
netns_down() {
    local ns
    for ns in "$@"; do
        # shellcheck disable=SC2046
        wb_stop $(ip netns pids "$ns" 2>/dev/null)
        ip netns del "$ns" 2>/dev/null
    done
}

multi_topo_down() {
    netns_down "${MULTI_NS[@]}"
    MULTI_NS=()
}

# Parallel iperf3 TCP from every multi namespace; prints the aggregate Mbit/s.
multi_iperf() { # ADDR DIR(up|dn) TAG
    local addr=$1 k ns pids=() cpids=() extra=() sum
    [ "$2" = dn ] && extra=(-R)
    for k in $(seq "$MULTI"); do
        wb_start "$WB_SRV" iperf3-server "exec iperf3 -s -1 -B $addr -p $((5300 + k))"
        pids+=("$WB_LAST_PID")
    done
    for k in $(seq "$MULTI"); do
        for _ in $(seq 50); do [ -n "$(ip netns exec "$WB_SRV" ss -Hltn "sport = :$((5300 + k))")" ] && break; sleep 0.1; done
    done
    for k in $(seq "$MULTI"); do
        ns=${MULTI_NS[$((k - 1))]}
        ip netns exec "$ns" timeout 60 iperf3 -c "$addr" -p $((5300 + k)) --connect-timeout 3000 -J -t "$WB_TCP_SECS" "${extra[@]}" \
            >"$WB_WORK/$3.$2.$k.json" 2>>"$WB_WORK/iperf3-client.log" &
        cpids+=($!)
    done
    for p in "${cpids[@]}"; do wait "$p"; done
    wb_stop "${pids[@]}"
    sum=0
    for k in $(seq "$MULTI"); do
        sum=$(jq -r --arg s "$sum" '($s|tonumber) + ((.end.sum_received.bits_per_second // 0)/1e6)' "$WB_WORK/$3.$2.$k.json" 2>/dev/null || echo "$sum")
    done
    printf '%.0f\n' "$sum"
}

row_multi() { # KIND ROUND "SERVER CMD" ADDR
    local kind=$1 round=$2 addr=$4 tag k ns cpids=() ok=1 dir out
    tag=multi-$kind-r$round
    wb_log "== $MULTI clients $kind round $round"
    server_up "$tag" "$3" || { rec "$kind x$MULTI, round $round" "$kind-multi" "$round" status=FAILED; return 1; }
    for k in $(seq "$MULTI"); do
        ns=${MULTI_NS[$((k - 1))]}
        wb_start "$ns" "$tag-client$k" "exec $WB_REFCLIENT -s 198.18.$((10 + k)).2 -p 8000 -k wbsecret -t wbrc0 -R"
        cpids+=("$WB_LAST_PID")
    done
    for k in $(seq "$MULTI"); do
        ns=${MULTI_NS[$((k - 1))]}
        for _ in $(seq 30); do ip netns exec "$ns" ping -n -c1 -W1 "$addr" >/dev/null 2>&1 && break; sleep 0.5; done
        ip netns exec "$ns" ping -n -c1 -W1 "$addr" >/dev/null 2>&1 || ok=0
    done
    if [ $ok = 0 ]; then
        wb_log "$tag: tunnel not reachable from every client"; wb_stop "${cpids[@]}" "$SPID"
        rec "$kind x$MULTI, round $round" "$kind-multi" "$round" status=FAILED; return 1
    fi
    local bg fields=()
    bg=$(wb_wait_quiet)
    for dir in up dn; do
        thread_names "$SPID" >"$WB_WORK/cur.comm"
        local s0 s1 t0 t1 mbps split secs
        s0=$(wb_cpu_ticks "$SPID"); wb_thread_ticks "$SPID" >"$WB_WORK/cur.t0"; t0=$(date +%s.%N)
        mbps=$(multi_iperf "$addr" "$dir" "$tag")
        s1=$(wb_cpu_ticks "$SPID"); wb_thread_ticks "$SPID" >"$WB_WORK/cur.t1"; t1=$(date +%s.%N)
        secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
        mapfile -t split < <(thread_split "$WB_WORK/cur.t0" "$WB_WORK/cur.t1" "$secs" "$WB_WORK/cur.comm")
        out=$(awk -v c=$((s1 - s0)) -v hz="$HZ" -v s="$secs" 'BEGIN {printf "%.0f", 100 * c / hz / s}')
        fields+=("tcp_$dir=$mbps" "srvpct_$dir=$out" "top_$dir=${split[1]}" "thr_$dir=${split[0]}")
        sleep 1
    done
    bg="$bg/$(wb_busy 1)"
    rec "$kind x$MULTI, round $round" "$kind-multi" "$round" status=ok "${fields[@]}" bg="$bg"
    wb_log "done: $kind x$MULTI r$round: ${fields[*]}"
    wb_stop "${cpids[@]}" "$SPID"
}

# Routes for hsflood: the client namespace owns 10.200.0.0/16 (AnyIP), the server routes it back.
hs_topo_up() {
    ip -n "$WB_CLI" route add local 10.200.0.0/16 dev lo && ip -n "$WB_SRV" route add 10.200.0.0/16 via "$WB_CLI_IP"
}

row_handshakes() { # KIND ROUND "SERVER CMD"
    local kind=$1 round=$2 tag json c0 c1
    tag=hs-$kind-r$round
    wb_log "== handshakes $kind round $round"
    server_up "$tag" "$3" || { rec "$kind handshakes, round $round" "$kind-hs" "$round" status=FAILED; return 1; }
    wb_wait_quiet >/dev/null
    c0=$(wb_cpu_ticks "$SPID")
    json=$(ip netns exec "$WB_CLI" timeout 60 "$WB_HSFLOOD" -s "$WB_SRV_IP" -p 8000 -k wbsecret -b 10.200.0.0 -n "$HS_COUNT" -r "$HS_RATE" -w 3)
    c1=$(wb_cpu_ticks "$SPID")
    local ans rate offered
    read -r ans rate offered < <(echo "$json" | jq -r '[.answered, .answered_per_s, .offered_per_s] | map(tostring) | join(" ")')
    rec "$kind handshakes, round $round" "$kind-hs" "$round" status=ok hs_sent="$HS_COUNT" hs_offered="$offered" hs_answered="$ans" \
        hs_rate="$rate" hs_cpu_us=$(awk -v c=$((c1 - c0)) -v hz="$HZ" -v n="$ans" 'BEGIN {printf "%.1f", n ? 1e6 * c / hz / n : 0}')
    wb_log "done: $kind handshakes r$round: $json"
    wb_stop "$SPID"
}

row_idle() { # KIND ROUND "SERVER CMD"
    local kind=$1 round=$2 tag json c0 c1 rss threads
    tag=idle-$kind-r$round
    wb_log "== $IDLE_SESSIONS idle sessions $kind round $round"
    server_up "$tag" "$3" || { rec "$kind idle, round $round" "$kind-idle" "$round" status=FAILED; return 1; }
    json=$(ip netns exec "$WB_CLI" timeout 120 "$WB_HSFLOOD" -s "$WB_SRV_IP" -p 8000 -k wbsecret -b 10.200.0.0 -n "$IDLE_SESSIONS" -r "${IDLE_RATE:-900}" -w 3)
    sleep 2
    wb_wait_quiet >/dev/null
    c0=$(wb_cpu_ticks "$SPID")
    sleep "$IDLE_SECS"
    c1=$(wb_cpu_ticks "$SPID")
    rss=$(awk '/^VmRSS/ {print int($2 / 1024)}' "/proc/$SPID/status")
    threads=$(ls "/proc/$SPID/task" | wc -l)
    rec "$kind idle, round $round" "$kind-idle" "$round" status=ok idle_sessions=$(echo "$json" | jq -r .answered) \
        idle_cpu=$(awk -v c=$((c1 - c0)) -v hz="$HZ" -v s="$IDLE_SECS" 'BEGIN {printf "%.2f", 100 * c / hz / s}') idle_rss="$rss" threads="$threads"
    wb_log "done: $kind idle r$round: $(tail -1 "$ROWS" | cut -f4-)"
    wb_stop "$SPID"
}

# RTT with every variant up at once, each in its own namespace pair (<prefix>-p<i>-c/-s),
# ping batches alternating between them: slow drift and other tenants' load then hit all
# variants alike, which one ping series per row cannot promise. Idle tunnels cost nothing,
# so the pairs do not disturb each other. One row per variant and batch: key rtti.
RTT_NS=()
rtt_part() { # "VARIANT CMD ADDR" lines on stdin
    local i=0 v cmd addr cli srv names=() addrs=() r k med
    local save_cli=$WB_CLI save_srv=$WB_SRV
    while read -r v addr cmd; do
        i=$((i + 1)); cli=${NS_PREFIX}$$-p$i-c; srv=${NS_PREFIX}$$-p$i-s
        WB_CLI=$cli; WB_SRV=$srv
        RTT_NS+=("$cli" "$srv")
        wb_topo_up || { WB_CLI=$save_cli; WB_SRV=$save_srv; return 1; }
        wb_start "$srv" "rtt-$v-server" "$cmd"
        wb_wait_udp_listener 10
        wb_start "$cli" "rtt-$v-client" "exec $WB_REFCLIENT -s $WB_SRV_IP -p 8000 -k wbsecret -t wbrc0 -R"
        if wb_wait_reachable "$addr" 15; then names+=("$v:$cli"); addrs+=("$addr"); else wb_log "rtt: $v not reachable"; fi
    done
    WB_CLI=$save_cli; WB_SRV=$save_srv
    wb_wait_quiet >/dev/null
    for r in $(seq "${RTT_ROUNDS:-10}"); do
        for k in $(seq 0 $((${#names[@]} - 1))); do
            i=$(((k + r) % ${#names[@]}))
            v=${names[$i]%%:*}; cli=${names[$i]#*:}
            med=$(ip netns exec "$cli" ping -n -c "${RTT_PINGS:-100}" -i 0.01 -W 1 "${addrs[$i]}" 2>/dev/null |
                sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | sort -n |
                awk '{a[NR]=$1} END {if (!NR) {print "NA"; exit}; printf "%.3f\n", (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')
            rec "$v rtt, batch $r" "$v" "$r" status=ok rtti="$med"
        done
    done
    wb_log "done: interleaved RTT, ${RTT_ROUNDS:-10} batches of ${RTT_PINGS:-100} pings per variant"
    rtt_topo_down
}

rtt_topo_down() {
    netns_down "${RTT_NS[@]}"
    RTT_NS=()
}
