#!/bin/sh
# Install what studiod needs to build and test, from Debian's packages.
# As root it runs apt-get; otherwise it prints the exact command and stops.
set -eu

packages="build-essential pkg-config libevent-dev libsqlite3-dev libjansson-dev \
libsodium-dev libsystemd-dev check python3 systemd"
[ "${1:-}" = "--bench" ] && packages="$packages wrk"
[ "${1:-}" = "--fuzz" ] && packages="$packages clang libclang-rt-14-dev"
[ "${1:-}" = "--valgrind" ] && packages="$packages valgrind"

missing=""
command -v cc >/dev/null 2>&1 || missing=yes
command -v pkg-config >/dev/null 2>&1 || missing=yes
command -v python3 >/dev/null 2>&1 || missing=yes
if [ -z "$missing" ]; then
	for m in libevent jansson sqlite3 libsodium libsystemd check; do
		pkg-config --exists "$m" || { missing=yes; break; }
	done
fi
# systemd-socket-activate, for the socket activation test.
command -v systemd-socket-activate >/dev/null 2>&1 || missing=yes
if [ "${1:-}" = "--bench" ] && ! command -v wrk >/dev/null 2>&1; then
	missing=yes
fi
if [ "${1:-}" = "--fuzz" ] && ! command -v clang >/dev/null 2>&1; then
	missing=yes
fi
if [ "${1:-}" = "--valgrind" ] && ! command -v valgrind >/dev/null 2>&1; then
	missing=yes
fi
[ -z "$missing" ] && exit 0

cmd="apt-get install -y --no-install-recommends $packages"
if [ "$(id -u)" -ne 0 ]; then
	echo "studiod: missing build dependencies. As root, run:" >&2
	echo "  apt-get update && $cmd" >&2
	exit 1
fi
echo "studiod: installing build dependencies: $packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $packages
