/**
 * @module cli/admin-help
 * The help texts of the commands that talk to a running server over its control
 * socket (`warren status --help`, `warren help set`, ...), and the overview
 * `warren help admin`. Each text: usage, what it does, options, examples.
 */

import { DEFAULT_CONTROL_SOCKET } from "../config/ops-schema.ts";

/** Commands that talk to a running server. */
export const ADMIN_COMMANDS = ["status", "clients", "kick", "set", "get", "reload", "capture"] as const;
/** One of ADMIN_COMMANDS. */
export type AdminCommand = (typeof ADMIN_COMMANDS)[number];

const SOCKET = `      --control-socket PATH  the server's control socket; env WARREN_CONTROL_SOCKET,
                             default ${DEFAULT_CONTROL_SOCKET}`;
const HELP = "  -h, --help                 this text";
const CLIENT_NAME = `A <client> is named explicitly by  id:NAME  (device id or label),  #N  (serial),
addr:ADDRESS  (tunnel address) or  endpoint:HOST[:PORT]  (UDP endpoint); a bare
phone1, 10.8.0.2 or 198.51.100.7:40001 is accepted when it names one client by
one meaning only (else: ERR_AMBIGUOUS, listing the matches).`;

const KEYS = `  log-level     silent|error|warn|info|debug|trace
  idle-timeout  seconds without traffic before a session ends, 10-86400
  isolate       true: no traffic between clients; false: clients reach each other
  max-clients   most sessions at once (new ones are refused), 0 = the pool size`;

/** Help text of each admin command. */
export const ADMIN_COMMAND_HELP: Record<AdminCommand, string> = {
  status: `usage: warren status [--json] [--control-socket PATH]

Shows the running server: version, uptime, listen address, pools, counters, and one
block per connected client (address, endpoint, traffic, last seen), like wg show.

options:
      --json                 the whole snapshot as JSON
${SOCKET}
${HELP}

examples:
  warren status
  warren status --json | jq .status
  warren status --control-socket /run/warren/lab.sock`,

  clients: `usage: warren clients [--json] [--control-socket PATH]

Lists the connected clients, one line each: id (and user), endpoint, tunnel
addresses, when it connected, when last heard from, packets and bytes both ways, drops.

options:
      --json                 the clients as a JSON array
${SOCKET}
${HELP}

examples:
  warren clients
  warren clients --json | jq -r '.[].id'`,

  kick: `usage: warren kick <client> [--ban DURATION] [--all] [--control-socket PATH]

Ends a client's session now; its address returns to the pool (a device id keeps it
for the device's next connection). Alone, kick is a reset: the app connects again at
once. With --ban the device (or, for a client without a device id, its address) is
refused for that long (reason=banned).
${CLIENT_NAME}

options:
      --ban DURATION         keep it out for 90s, 10m, 2h, 1d ...
      --all                  end every session the selector names (one rule only)
${SOCKET}
${HELP}

examples:
  warren kick id:phone1
  warren kick addr:10.8.0.7 --ban 1h
  warren kick --all endpoint:198.51.100.23`,

  get: `usage: warren get <key> [--control-socket PATH]

Shows one setting of the running server.

keys:
${KEYS}
  (secret is write-only: warren set secret changes it, nothing shows it)

options:
${SOCKET}
${HELP}

examples:
  warren get idle-timeout
  warren get log-level`,

  set: `usage: warren set <key> <value> [--control-socket PATH]

Changes one setting of the running server now, checked like the same setting in the
config file. It lasts until the server stops, or until a reload sets that key from the
file; says the old and the new value.

keys:
${KEYS}
  secret        the shared secret for new handshakes (sessions stay up);
                "-" reads it from stdin, so it stays out of the shell history

options:
${SOCKET}
${HELP}

examples:
  warren set log-level debug
  warren set idle-timeout 600
  warren set secret - < /etc/warren/new-secret`,

  reload: `usage: warren reload [--control-socket PATH]

Re-reads the server's --config file (with the environment and flags it started with)
and applies what can change live: log level, idle timeout, isolation, max clients,
secret, hooks, capture size; also the users file, token keys and revocation list.
Same as SIGHUP. Says what changed and what needs a restart.

options:
${SOCKET}
${HELP}

examples:
  warren reload
  warren reload --control-socket /run/warren/lab.sock
  kill -HUP "$(cat /run/warren/warren.pid)"   # the same, by signal`,

  capture: `usage: warren capture start <client> [--file PATH] [--max-bytes SIZE]
       warren capture stop <client>

Writes one client's tunnel packets to a pcap file (Wireshark, tcpdump -r) until
stopped, until the file reaches its size limit, or until the session ends.
${CLIENT_NAME}

options:
      --file PATH            where to write (start); default: a file named after
                             the client and the time, in the server's --capture-dir
                             or the temp folder
      --max-bytes SIZE       size limit of the file (start), e.g. 10M; default: the
                             server's --capture-max-bytes
${SOCKET}
${HELP}

examples:
  warren capture start phone1 --file /tmp/phone1.pcap --max-bytes 50M
  warren capture stop phone1
  tcpdump -nr /tmp/phone1.pcap`,
};

/** `warren help admin`: the admin commands at a glance. */
export const ADMIN_HELP = `usage: warren <command> [--control-socket PATH] ...

commands that talk to a running server (as root, over its control socket):
  status [--json]               server summary and one block per client (like wg show)
  clients [--json]              table of connected clients with counters
  kick <client> [--ban 10m]     end a client's session now (its address returns to the pool);
                                --ban keeps it out for a while
  get <key>                     show a setting
  set <key> <value>             change a setting now; keys: log-level, idle-timeout,
                                isolate, max-clients, secret ("-" reads it from stdin)
  reload                        re-read the --config file and apply what can change
                                live (same as SIGHUP); says what needs a restart
  capture start <client> [--file PATH] [--max-bytes SIZE]
                                write the client's packets to a pcap file
  capture stop <client>         stop that capture

options:
${SOCKET}

examples:
  warren status
  warren set log-level debug
  warren help set               (each command has its own help)
${CLIENT_NAME}`;
