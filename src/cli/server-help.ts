/**
 * @module cli/server-help
 * `warren server --help`.
 */

import { WG_SERVER_HELP } from "./wg.ts";

/** Help text of `warren server`. */
export const SERVER_HELP = `usage: warren server [options]

Runs a ToyVpn-compatible VPN server, and with --wg-listen a WireGuard one beside it:
one TUN device, many clients, each with its own address from the pool. Needs root or
CAP_NET_ADMIN.

options (config file keys in parentheses; flags override the file):
  -c, --config FILE        JSON config file
  -l, --listen HOST:PORT   UDP address to listen on (listen)       [::]:8000
      --secret S           shared secret; env WARREN_SECRET (secret)  generated
      --tun NAME           TUN interface name (tun)                warren0
      --pool CIDR          IPv4 client pool; the server takes the first
                           address (pool)                          10.8.0.0/24
      --pool6 CIDR         IPv6 client pool, e.g. fd00:8::/64 (pool6)   off
      --mtu N              tunnel MTU, 576-32767 (mtu)             1400
      --dns ADDR           DNS server pushed to clients, repeatable (dns)  1.1.1.1
      --route CIDR         route pushed to clients, repeatable (routes)  0.0.0.0/0
      --search DOMAIN      DNS search domain pushed, repeatable (searchDomains)
      --isolate            no traffic between clients (isolate)
      --nat                forward and masquerade the pools to the internet,
                           clamp TCP MSS; removed again on exit (nat.enabled)
      --nat-out IFACE      masquerade out of IFACE instead of the default-route
                           interface; implies --nat (nat.outInterface)
      --nat-allow CIDR     also forward the pools to CIDR (not masqueraded);
                           else they leave only through the NAT interface;
                           repeatable, implies --nat (nat.allow)
      --idle-timeout SEC   end sessions idle this long (idleTimeout)  180
      --max-clients N      refuse new sessions beyond N, 0 = pool size (maxClients)
      --max-sessions-per-identity N  sessions one user or token may hold, 0 = no
                           cap; the shared secret is not capped (maxSessionsPerIdentity)  8
      --users FILE         users file: "user:password[:deviceid]" logins (users)
      --token-key-file K   accept controller tokens signed with K (tokenKeyFile)
      --revoked FILE       revoked token ids / sha256: hashes (revoked)
      --handshake-rate N   password checks a second per source address, bursts
                           of 15x, 0 = off (handshakeRate)         2
      --handshake-budget N password checks a second in all, 0 = off (handshakeBudget)  1000
      --lockout-failures N failures in 60 s that lock a source out of password
                           checks for 5 min, 0 = off (lockoutFailures)  10
                           (the shared secret and tokens are checked always)
      --udp-buffer BYTES   UDP socket receive/send buffers, 0 = kernel
                           default (udpBuffer)                     4194304
      --data-path PATH     fast: worker threads (one per core) move ToyVpn
                           data packets; simple: the main thread moves every
                           packet; fast falls back to simple when it cannot
                           run; env WARREN_DATA_PATH (dataPath)    fast
      --log-level LEVEL    silent|error|warn|info|debug|trace (logLevel)  info
      --log-format FMT     auto|text|json (logFormat)              auto
      --log-file PATH      log to PATH instead of stderr (logFile)
      --log-max-size SIZE  rotate the log file at SIZE, e.g. 10M (logMaxSize)  10M
      --log-keep N         rotated files kept: PATH.1 .. PATH.N (logKeep)  5
      --control-socket P   control socket for warren status/clients/set/...;
                           "none" for no socket; the server refuses to start
                           when another warren answers on P; env
                           WARREN_CONTROL_SOCKET (controlSocket)  /run/warren/warren.sock
      --metrics HOST:PORT  serve /metrics (Prometheus), /healthz and a dashboard
                           at / over HTTP (metrics)                off
      --metrics-host NAME  also answer requests for Host NAME (besides the
                           listen address and localhost), repeatable (metricsHost)
      --metrics-token-file F  require the token in F for the dashboard and
                           /api/* (Bearer header, or open /?token=...) and for
                           /metrics and /healthz (metricsTokenFile)
      --metrics-public     /metrics and /healthz without the token (metricsPublic)
      --capture-dir DIR    capture every client to DIR/<id>-<time>.pcap (captureDir)
      --capture-dir-max SIZE  total size of those files; the oldest finished
                           ones are deleted (captureDirMax)        1G
      --capture-max-bytes SIZE  size limit of one capture file (captureMaxBytes)  100M
      --on-connect CMD     run "sh -c CMD" when a client connects (onConnect)
      --on-disconnect CMD  ... when a session ends (onDisconnect); the client is
                           in WARREN_CLIENT_ID, WARREN_CLIENT_ADDR, ... (docs/OPERATIONS.md)
      --pid-file PATH      keep the server's pid in PATH while it runs; refuse to
                           start when it names a running warren (pidFile)
      --state-dir DIR      leases and NAT crash state; env WARREN_STATE_DIR
                           (stateDir)                              /var/lib/warren
      --lease-max-age AGE  forget a device's address unused this long, e.g.
                           30d, 12h (leaseMaxAge)                  30d
${WG_SERVER_HELP}
      --daemon             run in the background: start, print the summary and
                           return once the server is up (pair with --log-file
                           and --pid-file; see also warren watchdog --help)
  -h, --help               this text

examples:
  warren server                                   (prints the secret it generated)
  warren server --pool 10.9.0.0/24 --pool6 fd00:9::/64 --nat --secret "$SECRET"
  warren server --config /etc/warren/warren.json --daemon --log-file /var/log/warren.log

Clients send the secret as "secret" or "secret:deviceid"; a device id keeps its
tunnel address across reconnects and restarts. With --users or --token-key-file
they may send "user:password[:deviceid]" or a token instead (docs/AUTH.md,
docs/TOKENS.md); the shared secret is then off unless --secret is given. SIGHUP
re-reads the users file, the key file and the revocation list. ToyVpn sends the
secret and all traffic unencrypted: use it only on networks you trust, or inside
another tunnel.`;
