#!/usr/bin/env bash
# Test prerequisites, run by `npm test` before the suite: installs the Debian
# packages the namespace tests use when they are missing and we are root (the
# tests that need root skip loudly otherwise). Idempotent and quick when all is there.
set -u
PKGS="iproute2 iputils-ping iperf3 procps gcc libc6-dev linux-libc-dev nftables iptables tcpdump tshark jq file shellcheck chromium curl fail2ban prometheus wireguard-go wireguard-tools"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "test/setup.sh: missing Debian packages:$missing (not root or no apt-get: the tests that need them will skip or fail)" >&2
    exit 0
fi
echo "test/setup.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $missing >/dev/null || {
    echo "test/setup.sh: apt-get install failed" >&2
    exit 1
}
