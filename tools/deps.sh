#!/bin/sh
# Install the Debian 12 packages sluice needs to build, test and demo.
# Idempotent: when everything is present it only asks dpkg and exits.
set -e
PKGS="clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libcmocka-dev
libjansson-dev libyaml-dev iproute2 ethtool pkg-config make gcc jq
util-linux libmicrohttpd-dev prometheus curl libncurses-dev tmux"
PKGS="$PKGS libclang-rt-14-dev valgrind"
# tests/report_test.sh renders the rollout report in a headless browser
# (its text needs a font) and checks the screenshot with python3's stdlib.
PKGS="$PKGS chromium fonts-dejavu-core python3"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing (run as root to install)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
