# bench/probe.sh - sourced by the one-tunnel probes (syscalls.sh, ab.sh) after they set
# SHARED and die(). One topology of ../shared/bench/netns.sh in namespaces
# PREFIX<pid>-{cli,srv} (removed on exit), the C reference pair built, and the command
# lines of the servers they compare, the same as bench/run.sh's rows:
#   probe_up PREFIX                 topology up (dies on failure)
#   probe_server ref|BINARY         sets PROBE_CMD (the server's shell command, run in the
#                                   server namespace) and PROBE_ADDR (its tunnel address)
#   probe_tunnel                    starts PROBE_CMD and a refclient, waits for the tunnel;
#                                   sets PROBE_SERVER, PROBE_CLIENT (PIDs). Each runs behind
#                                   the command in the array PROBE_SERVER_PIN /
#                                   PROBE_CLIENT_PIN if the caller set one (taskset -c N)
# shellcheck shell=bash

[ -v PROBE_SERVER_PIN ] || PROBE_SERVER_PIN=()
[ -v PROBE_CLIENT_PIN ] || PROBE_CLIENT_PIN=()

probe_up() {
    [ -f "$SHARED/bench/netns.sh" ] || die "$SHARED/bench/netns.sh not found; set WARREN_SHARED"
    # shellcheck source=/dev/null
    . "$SHARED/bench/netns.sh"
    # shellcheck disable=SC2034  # read by netns.sh
    WB_CLI=$1$$-cli
    # shellcheck disable=SC2034
    WB_SRV=$1$$-srv
    wb_init || exit 1
    wb_build_ref >/dev/null || die "building the C reference pair failed"
    wb_topo_up || die "topology setup failed"
}

probe_server() {
    if [ "$1" = ref ]; then
        PROBE_CMD="exec $WB_REFSERVER -p 8000 -k wbsecret -t wbrs1 -A 198.19.1.1/24 -m 1400 -b 4194304 -o 'm,1400 a,198.19.1.2,32 r,198.19.1.0,24'"
        PROBE_ADDR=198.19.1.1
    else
        [ -x "$1" ] || die "$1 is not an executable (npm run build, or name another binary)"
        PROBE_CMD="exec $1 server --listen 0.0.0.0:8000 --secret wbsecret --tun wbw4 --pool 198.19.4.0/24 --route 198.19.4.0/24 --log-format text --control-socket $WB_WORK/ctl.sock --state-dir $WB_WORK/state --data-path fast ${WARREN_EXTRA:-}"
        PROBE_ADDR=198.19.4.1
    fi
}

probe_tunnel() {
    ip netns exec "$WB_SRV" "${PROBE_SERVER_PIN[@]}" bash -c "$PROBE_CMD" >"$WB_WORK/server.log" 2>&1 &
    PROBE_SERVER=$!
    WB_PIDS+=("$PROBE_SERVER")
    wb_wait_udp_listener 10 || die "the server did not bind (log: $(tail -3 "$WB_WORK/server.log"))"
    ip netns exec "$WB_CLI" "${PROBE_CLIENT_PIN[@]}" "$WB_REFCLIENT" -s "$WB_SRV_IP" -p 8000 -k wbsecret -t wbrc0 -R >"$WB_WORK/client.log" 2>&1 &
    PROBE_CLIENT=$!
    WB_PIDS+=("$PROBE_CLIENT")
    wb_wait_reachable "$PROBE_ADDR" 10 "$PROBE_CLIENT" || die "the tunnel did not come up (log: $(tail -3 "$WB_WORK/server.log"))"
}
