#!/bin/sh
# warren installer.
#
#   curl -fsSL <base>/install.sh | sh                  install, supervised by systemd or cron
#   curl -fsSL <base>/install.sh | sh -s -- --cron     options after "sh -s --"
#   curl -fsSL <base>/install.sh | sh -s -- --client   a client: binary + warren-client@.service
#   sh install.sh --help
#
# Downloads warren-linux-<arch> and SHA256SUMS from WARREN_BASE_URL, refuses a binary
# whose sha256 does not match, installs $PREFIX/bin/warren, creates $CONFDIR/warren.json
# with a random secret when it does not exist (never overwrites it), and sets up
# supervision: a systemd unit, or a cron line running `warren watchdog` every minute.
# Running it again changes nothing unless something changed upstream. POSIX sh.
#
# Environment (defaults in brackets):
#   WARREN_BASE_URL  where the release files are [DEFAULT_BASE_URL below]; http(s)://,
#                    file:///dir or a local /dir
#   PREFIX [/usr/local]  CONFDIR [/etc/warren]  SYSTEMD_DIR [/etc/systemd/system]
#   CRON_DIR [/etc/cron.d]  RUN_DIR [/run/warren]  LOG_DIR [/var/log/warren]
#   WARREN_ARCH      x64 or arm64 instead of `uname -m`
#   WARREN_NO_START  1 = never call systemctl, never start or stop a server
# Services are started (and stopped on --uninstall) only when the unit or cron file goes
# to its default directory, so an install into other directories (tests) starts nothing.

# Placeholder until the project publishes releases: set WARREN_BASE_URL meanwhile.
DEFAULT_BASE_URL="https://warren.example/releases/latest"

set -eu

PROG="install.sh"
BASE_URL="${WARREN_BASE_URL:-$DEFAULT_BASE_URL}"
PREFIX="${PREFIX:-/usr/local}"
CONFDIR="${CONFDIR:-/etc/warren}"
SYSTEMD_DIR="${SYSTEMD_DIR:-/etc/systemd/system}"
CRON_DIR="${CRON_DIR:-/etc/cron.d}"
RUN_DIR="${RUN_DIR:-/run/warren}"
LOG_DIR="${LOG_DIR:-/var/log/warren}"
NO_START="${WARREN_NO_START:-0}"

BIN="$PREFIX/bin/warren"
CONF="$CONFDIR/warren.json"
UNIT="$SYSTEMD_DIR/warren.service"
CLIENT_UNIT="$SYSTEMD_DIR/warren-client@.service"
CRONFILE="$CRON_DIR/warren"
PIDFILE="$RUN_DIR/warren.pid"
LOGFILE="$LOG_DIR/warren.log"
MARKER="# Installed by warren install.sh"

ACTION=install
SERVICE=auto
DRY_RUN=0
PURGE=0
TMP=""
CHANGED=0
SECRET_NEW=""

usage() {
  cat <<EOF
usage: install.sh [--systemd | --cron | --no-service] [--dry-run]
       install.sh --client [--dry-run]
       install.sh --uninstall [--purge] [--dry-run]
       install.sh --print-unit | --print-client-unit

  --systemd     supervise with a systemd unit ($SYSTEMD_DIR/warren.service)
  --cron        supervise with a cron watchdog ($CRON_DIR/warren, every minute)
  --no-service  no supervision (removes a unit or cron file installed earlier)
                default: --systemd when systemd is running, else --cron
  --uninstall   stop and remove warren; keeps $CONF unless --purge
  --purge       with --uninstall: also remove the config and $LOG_DIR
  --dry-run     print what would be done, change nothing
  --print-unit  print the systemd unit and exit
  --client      a client host: the binary and the systemd template
                $CLIENT_UNIT (no server config, no server);
                then write $CONFDIR/client-NAME.json and run
                systemctl enable --now warren-client@NAME
  --print-client-unit  print the client's systemd template and exit
EOF
}

say() { printf '%s\n' "$*"; }
die() {
  printf '%s: error: %s\n' "$PROG" "$*" >&2
  exit 1
}
usage_error() {
  printf '%s: error: %s (see --help)\n' "$PROG" "$*" >&2
  exit 2
}
cleanup() { if [ -n "$TMP" ]; then rm -rf "$TMP"; fi; }

# Whether this run manages services for files in directory $1: only when it is the
# default $2 (systemd and cron read no other) and WARREN_NO_START is not 1.
may_start() {
  [ "$NO_START" != 1 ] && [ "$1" = "$2" ]
}
systemd_running() { [ -d /run/systemd/system ]; }
# Whether $1 is a file this script installed (its second line is the marker).
ours() { [ -f "$1" ] && sed -n 2p "$1" 2>/dev/null | grep -qxF "$MARKER"; }

parse_args() {
  for arg in "$@"; do
    case "$arg" in
      --systemd) SERVICE=systemd ;;
      --cron) SERVICE=cron ;;
      --no-service) SERVICE=none ;;
      --uninstall) ACTION=uninstall ;;
      --purge) PURGE=1 ;;
      --dry-run) DRY_RUN=1 ;;
      --print-unit) ACTION=print-unit ;;
      --client) ACTION=install-client ;;
      --print-client-unit) ACTION=print-client-unit ;;
      -h | --help) ACTION=help ;;
      *) usage_error "unknown option $arg" ;;
    esac
  done
  if [ "$PURGE" = 1 ] && [ "$ACTION" != uninstall ]; then usage_error "--purge only goes with --uninstall"; fi
  if [ "$ACTION" = install-client ] && [ "$SERVICE" != auto ]; then usage_error "--client installs a systemd template; --systemd, --cron and --no-service are for the server"; fi
}

detect_arch() {
  if [ -n "${WARREN_ARCH:-}" ]; then
    case "$WARREN_ARCH" in x64 | arm64) ARCH="$WARREN_ARCH" ;; *) die "WARREN_ARCH must be x64 or arm64, not $WARREN_ARCH" ;; esac
    return
  fi
  [ "$(uname -s)" = Linux ] || die "warren runs on Linux only, this is $(uname -s)"
  m=$(uname -m)
  case "$m" in
    x86_64 | amd64) ARCH=x64 ;;
    aarch64 | arm64) ARCH=arm64 ;;
    *) die "no warren build for this CPU ($m); builds exist for x86_64 and aarch64" ;;
  esac
}

# fetch NAME DEST: $BASE_URL/NAME -> DEST, by curl, wget, or a copy for file:// and /dirs.
fetch() {
  case "$BASE_URL" in
    file://*) src="${BASE_URL#file://}/$1" ;;
    /*) src="$BASE_URL/$1" ;;
    *) src="" ;;
  esac
  if [ -n "$src" ]; then
    cp "$src" "$2" 2>/dev/null || die "cannot read $src"
  elif command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 2 -o "$2" "$BASE_URL/$1" </dev/null 2>/dev/null || die "cannot download $BASE_URL/$1 (curl failed)"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$BASE_URL/$1" </dev/null 2>/dev/null || die "cannot download $BASE_URL/$1 (wget failed)"
  else
    die "neither curl nor wget is installed"
  fi
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d' ' -f1
  elif command -v openssl >/dev/null 2>&1; then
    openssl dgst -sha256 -r "$1" | cut -d' ' -f1
  else
    die "no sha256sum, shasum or openssl to verify the download"
  fi
}

# mkdir_p DIR: creates DIR (and parents) unless it exists.
mkdir_p() {
  [ -d "$1" ] && return 0
  if [ "$DRY_RUN" = 1 ]; then say "would create directory $1"; return 0; fi
  mkdir -p "$1" 2>/dev/null || die "cannot create $1 (run as root, or set PREFIX/CONFDIR/... to a writable place)"
}

# put_file PATH MODE SRC: installs SRC as PATH with MODE unless PATH already has that
# content and mode. Atomic (temp file + rename). The temp file is made by mktemp: a new
# name, created exclusively (O_EXCL, so a planted link is never followed) with mode 0600
# from its first byte (the config holds the secret); then filled, set to MODE and
# renamed. Sets CHANGED=1 when it wrote.
put_file() {
  if [ -f "$1" ] && cmp -s "$3" "$1" && [ "$(stat -c %a "$1")" = "$2" ]; then
    say "unchanged $1"
    return 0
  fi
  CHANGED=1
  if [ "$DRY_RUN" = 1 ]; then say "would write $1 (mode $2)"; return 0; fi
  mkdir_p "$(dirname "$1")"
  tmpf=$( (umask 077 && mktemp "$(dirname "$1")/.$(basename "$1").XXXXXX") 2>/dev/null) ||
    die "cannot write $1 (run as root, or set PREFIX/CONFDIR/... to a writable place)"
  { cat "$3" >"$tmpf" && chmod "$2" "$tmpf" && mv -f "$tmpf" "$1"; } 2>/dev/null || {
    rm -f "$tmpf"
    die "cannot write $1 (run as root, or set PREFIX/CONFDIR/... to a writable place)"
  }
  say "wrote $1"
}

# remove PATH: deletes a file if present.
remove() {
  [ -e "$1" ] || return 0
  if [ "$DRY_RUN" = 1 ]; then say "would remove $1"; return 0; fi
  rm -f "$1" 2>/dev/null || die "cannot remove $1"
  say "removed $1"
}

# run CMD...: runs a command (stdin closed), or prints it on --dry-run.
run() {
  if [ "$DRY_RUN" = 1 ]; then say "would run: $*"; return 0; fi
  "$@" </dev/null >/dev/null 2>&1 || die "failed: $*"
}

# The sandbox both units share: no home, private /tmp, only the TUN device, the address
# families a VPN needs, nothing of the kernel's to change.
sandbox_text() {
  cat <<EOF
ProtectHome=yes
PrivateTmp=yes
DevicePolicy=closed
DeviceAllow=/dev/net/tun rw
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
EOF
}

unit_text() {
  cat <<EOF
[Unit]
$MARKER
Description=warren VPN server (ToyVpn and WireGuard)
After=network-online.target
Wants=network-online.target

[Service]
# notify: warren tells systemd when it serves (READY=1), reloads (RELOADING=1) and
# stops (STOPPING=1), and logs to the journal with priorities (journalctl -p warning).
# With systemd >= 253 you may use Type=notify-reload and drop ExecReload.
Type=notify
NotifyAccess=main
ExecStart=$BIN server --config $CONF --pid-file /run/warren/warren.pid
ExecReload=/bin/kill -HUP \$MAINPID
Restart=on-failure
RestartSec=2s
RuntimeDirectory=warren
RuntimeDirectoryPreserve=yes
# /var/lib/warren: leases, NAT crash state, and packet captures (warren capture start,
# into captures/; not /tmp: PrivateTmp gives the service its own, invisible to the operator).
StateDirectory=warren
StateDirectoryMode=0700
LogsDirectory=warren
UMask=0077
# The TUN device and its addresses and routes need CAP_NET_ADMIN; a port below 1024
# needs CAP_NET_BIND_SERVICE. Nothing else: the bounding set drops every other
# capability, also for root. (Ambient capabilities matter when you add User=.)
AmbientCapabilities=CAP_NET_ADMIN CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_BIND_SERVICE
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=-/run/warren -/var/log/warren
$(sandbox_text)
# Not set on purpose: PrivateDevices (hides /dev/net/tun), PrivateNetwork (the VPN
# needs the host's network), ProtectKernelTunables (read-only /proc/sys would block
# net.ipv4.ip_forward), MemoryDenyWriteExecute (breaks the JavaScript JIT).
# --nat prefers nft (netlink). With iptables-legacy instead, add CAP_NET_RAW to both
# capability lines and ReadWritePaths=/run/xtables.lock.

[Install]
WantedBy=multi-user.target
EOF
}

# The client's systemd template: warren-client@NAME runs $CONFDIR/client-NAME.json.
client_unit_text() {
  cat <<EOF
[Unit]
$MARKER
Description=warren VPN client %i ($CONFDIR/client-%i.json)
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
# The instance name picks the config file: warren-client@office runs client-office.json.
# --retry forever: the client keeps trying until the server answers, also at boot.
ExecStart=$BIN client --config $CONFDIR/client-%i.json --retry forever
Restart=always
RestartSec=5s
# Exit status 2 is a usage or config error: restarting would not fix it.
RestartPreventExitStatus=2
# State files and the status socket (warren client status) live in /run/warren, which
# other warren units share: never removed when this one stops.
RuntimeDirectory=warren
RuntimeDirectoryPreserve=yes
UMask=0077
# The TUN device, its addresses and routes need CAP_NET_ADMIN; nothing else: the
# bounding set drops every other capability, also for root.
AmbientCapabilities=CAP_NET_ADMIN
CapabilityBoundingSet=CAP_NET_ADMIN
NoNewPrivileges=yes
ProtectSystem=strict
# "dns": "apply" rewrites resolv.conf in place (a symlink is followed to its target).
ReadWritePaths=-/etc/resolv.conf
$(sandbox_text)
# Not set on purpose: PrivateDevices (hides /dev/net/tun), PrivateNetwork (the tunnel
# goes into the host's network), ProtectKernelTunables (read-only /proc/sys would keep
# the client from turning IPv6 off on a TUN that got no IPv6 address),
# MemoryDenyWriteExecute (breaks the JavaScript JIT).

[Install]
WantedBy=multi-user.target
EOF
}

cron_text() {
  extra=""
  [ "$RUN_DIR" = /run/warren ] || extra="$extra --pid-file $PIDFILE"
  [ "$LOG_DIR" = /var/log/warren ] || extra="$extra --log-file $LOGFILE"
  cat <<EOF
# warren watchdog: starts the server when it is not running (see: warren watchdog --help)
$MARKER
SHELL=/bin/sh
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
* * * * * root $BIN watchdog --config $CONF$extra
EOF
}

# stop_server: SIGTERM to the server named by the pid file, if it is a warren.
stop_server() {
  [ -f "$PIDFILE" ] || return 0
  pid=$(head -n 1 "$PIDFILE" 2>/dev/null | tr -cd 0-9)
  if [ -z "$pid" ] || [ ! -r "/proc/$pid/cmdline" ]; then return 0; fi
  tr '\000' ' ' <"/proc/$pid/cmdline" | grep -q warren || return 0
  if [ "$DRY_RUN" = 1 ]; then say "would stop the server (pid $pid)"; return 0; fi
  kill "$pid" 2>/dev/null || return 0
  i=0
  while [ -d "/proc/$pid" ] && [ $i -lt 10 ]; do sleep 1; i=$((i + 1)); done
  say "stopped the server (pid $pid)"
}

remove_unit() {
  ours "$UNIT" || return 0
  if may_start "$SYSTEMD_DIR" /etc/systemd/system && systemd_running; then
    if [ "$DRY_RUN" = 1 ]; then
      say "would run: systemctl disable --now warren.service"
    else
      systemctl disable --now warren.service </dev/null >/dev/null 2>&1 || true
    fi
    remove "$UNIT"
    run systemctl daemon-reload
  else
    remove "$UNIT"
  fi
}

remove_cron() {
  ours "$CRONFILE" || return 0
  remove "$CRONFILE"
  if may_start "$CRON_DIR" /etc/cron.d; then stop_server; fi
}

setup_systemd() {
  remove_cron
  unit_text >"$TMP/unit"
  CHANGED=0
  put_file "$UNIT" 644 "$TMP/unit"
  if ! may_start "$SYSTEMD_DIR" /etc/systemd/system; then
    say "not starting the service (unit outside /etc/systemd/system, or WARREN_NO_START=1)"
  elif ! systemd_running; then
    say "systemd is not running: start the server later with: systemctl enable --now warren"
  else
    if [ "$CHANGED" = 1 ]; then run systemctl daemon-reload; fi
    run systemctl enable warren.service
    if [ "$CHANGED" = 1 ] || [ "$BIN_CHANGED" = 1 ]; then run systemctl restart warren.service; else run systemctl start warren.service; fi
  fi
  SERVICE_TEXT="systemd unit $UNIT (journalctl -u warren)"
}

# systemctl ARGS... for the client template, only where this run manages services.
client_systemctl() {
  if may_start "$SYSTEMD_DIR" /etc/systemd/system && systemd_running; then
    if [ "$DRY_RUN" = 1 ]; then say "would run: systemctl $*"; else systemctl "$@" </dev/null >/dev/null 2>&1 || true; fi
  fi
}

# Stops and disables every warren-client@ instance, then removes the template.
remove_client_unit() {
  ours "$CLIENT_UNIT" || return 0
  for link in "$SYSTEMD_DIR"/*.wants/warren-client@*.service; do
    [ -L "$link" ] || continue
    client_systemctl disable --now "$(basename "$link")"
    remove "$link"
  done
  client_systemctl stop 'warren-client@*.service'
  remove "$CLIENT_UNIT"
  client_systemctl daemon-reload
}

setup_cron() {
  remove_unit
  cron_text >"$TMP/cron"
  put_file "$CRONFILE" 644 "$TMP/cron"
  if ! may_start "$CRON_DIR" /etc/cron.d; then
    say "not starting the server now (cron file outside /etc/cron.d, or WARREN_NO_START=1)"
  elif [ "$DRY_RUN" = 1 ]; then
    say "would run: $BIN watchdog --config $CONF"
  else
    if [ "$BIN_CHANGED" = 1 ]; then stop_server; fi
    out=$("$BIN" watchdog --config "$CONF" </dev/null 2>&1) || die "the server did not start: $(printf '%s' "$out" | tail -n 1)"
    say "server running (started or checked by: $BIN watchdog --config $CONF)"
  fi
  SERVICE_TEXT="cron watchdog $CRONFILE (log: $LOGFILE)"
}

write_config() {
  if [ -e "$CONF" ]; then
    say "kept existing $CONF"
    return 0
  fi
  SECRET_NEW=$(LC_ALL=C tr -dc 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789' </dev/urandom 2>/dev/null | head -c 22) || true
  [ "${#SECRET_NEW}" -eq 22 ] || die "cannot read /dev/urandom to make a secret"
  printf '{\n  "listen": "[::]:8000",\n  "secret": "%s"\n}\n' "$SECRET_NEW" >"$TMP/conf"
  mkdir_p "$CONFDIR"
  put_file "$CONF" 600 "$TMP/conf"
}

connect_text() {
  port=$(sed -n 's/.*"listen"[[:space:]]*:[[:space:]]*"[^"]*:\([0-9][0-9]*\)".*/\1/p' "$CONF" 2>/dev/null | head -n 1)
  host=$(hostname -I 2>/dev/null | cut -d' ' -f1)
  secret="the \"secret\" in $CONF"
  [ -z "$SECRET_NEW" ] || secret="$SECRET_NEW"
  say ""
  say "warren is installed: $BIN ($VERSION_LINE)"
  say "  config    $CONF"
  say "  service   $SERVICE_TEXT"
  say "  connect   ToyVpn app: Server Address ${host:-<server address>}, Server Port ${port:-8000}, Shared Secret $secret"
  say "  firewall  allow UDP port ${port:-8000} in"
}

# Downloads, checks and installs $BIN; sets BIN_CHANGED and VERSION_LINE.
install_binary() {
  detect_arch
  asset="warren-linux-$ARCH"
  if [ "$DRY_RUN" = 1 ]; then
    say "would download $BASE_URL/$asset and $BASE_URL/SHA256SUMS and check the sha256"
    say "would install $BIN"
  else
    fetch SHA256SUMS "$TMP/SHA256SUMS"
    fetch "$asset" "$TMP/warren"
    want=$(awk -v n="$asset" '$2 == n || $2 == "*" n { print $1; exit }' "$TMP/SHA256SUMS")
    [ -n "$want" ] || die "SHA256SUMS from $BASE_URL lists no $asset"
    got=$(sha256_of "$TMP/warren")
    [ "$got" = "$want" ] || die "checksum mismatch for $asset (expected $want, got $got): refusing to install"
    chmod 755 "$TMP/warren"
    VERSION_LINE=$("$TMP/warren" --version </dev/null 2>/dev/null) || die "the downloaded $asset does not run on this host"
  fi
  CHANGED=0
  mkdir_p "$PREFIX/bin"
  if [ "$DRY_RUN" = 0 ]; then put_file "$BIN" 755 "$TMP/warren"; fi
  BIN_CHANGED=$CHANGED
}

install() {
  if [ "$SERVICE" = auto ]; then
    if systemd_running; then SERVICE=systemd; else SERVICE=cron; fi
  fi
  install_binary
  write_config
  case "$SERVICE" in
    systemd) setup_systemd ;;
    cron) setup_cron ;;
    none)
      remove_unit
      remove_cron
      SERVICE_TEXT="none: run '$BIN server --config $CONF' yourself, or '$BIN server --config $CONF --daemon --pid-file $PIDFILE --log-file $LOGFILE'"
      ;;
  esac
  if [ "$DRY_RUN" = 1 ]; then say "dry run: nothing was changed"; else connect_text; fi
}

# --client: the binary and the client template; running instances restart on a new binary.
install_client() {
  install_binary
  client_unit_text >"$TMP/client-unit"
  CHANGED=0
  put_file "$CLIENT_UNIT" 644 "$TMP/client-unit"
  if [ "$CHANGED" = 1 ]; then client_systemctl daemon-reload; fi
  if [ "$BIN_CHANGED" = 1 ] || [ "$CHANGED" = 1 ]; then client_systemctl try-restart 'warren-client@*.service'; fi
  if [ "$DRY_RUN" = 1 ]; then say "dry run: nothing was changed"; return 0; fi
  say ""
  say "warren is installed: $BIN ($VERSION_LINE)"
  say "  service    systemd template $CLIENT_UNIT"
  say "  configure  write $CONFDIR/client-NAME.json (mode 600; a \"tun\" of its own per client), e.g."
  say "             {\"server\": \"vpn.example.org:8000\", \"secret\": \"...\", \"id\": \"NAME\", \"tun\": \"warren1\"}"
  say "  start      systemctl enable --now warren-client@NAME   (journalctl -u warren-client@NAME)"
  say "  status     $BIN client status"
}

uninstall() {
  remove_client_unit
  remove_unit
  remove_cron
  if may_start "$CRON_DIR" /etc/cron.d || may_start "$SYSTEMD_DIR" /etc/systemd/system; then stop_server; fi
  remove "$BIN"
  if [ "$PURGE" = 1 ]; then
    remove "$CONF"
    if [ -d "$CONFDIR" ] && [ "$DRY_RUN" = 0 ]; then rmdir "$CONFDIR" 2>/dev/null || true; fi
    for f in "$LOG_DIR"/warren.log*; do remove "$f"; done
    if [ -d "$LOG_DIR" ] && [ "$DRY_RUN" = 0 ]; then rmdir "$LOG_DIR" 2>/dev/null || true; fi
  elif [ -e "$CONF" ]; then
    say "kept $CONF (--uninstall --purge removes it)"
  fi
  if [ "$DRY_RUN" = 1 ]; then say "dry run: nothing was changed"; else say "warren is uninstalled"; fi
}

main() {
  parse_args "$@"
  case "$ACTION" in
    help) usage; exit 0 ;;
    print-unit) unit_text; exit 0 ;;
    print-client-unit) client_unit_text; exit 0 ;;
  esac
  TMP=$(mktemp -d 2>/dev/null) || die "cannot create a temporary directory"
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  case "$ACTION" in
    uninstall) uninstall ;;
    install-client) install_client ;;
    *) install ;;
  esac
}

# Last line, so a download cut short runs nothing.
main "$@"
