#!/bin/sh
# Installs the Debian packages ssehub needs to build and test, when they are missing.
# Idempotent and silent when nothing is missing; uses sudo only when not root.
# Usage: scripts/deps.sh
set -eu

# Build: compilers, CMake, pkg-config. Tests: cmocka, clang's runtimes (libFuzzer and
# sanitizers), clang-format (the lint test), python3 (test scripts), Chromium (the
# browser interop test; driven by the npm package playwright-core, which tests/interop
# installs with npm). The server: libuv, llhttp's C sources (node-llhttp ships them under
# /usr/share/llhttp; CMake compiles them into a static library), jansson (JSON publish
# bodies), libjwt (Mercure authorization: JWT verification, HS256/RS256/ES256).
# Integration tests: curl; openssl (RS256 key pairs for the JWT tests, certificates for the
# client's https tests). The client library (src/client): OpenSSL for https (libssl-dev);
# its tests run nginx with the Nchan module (nginx, libnginx-mod-nchan). Benchmarks
# (bench/run.sh): the same Nchan for the comparison, gnuplot-nox (the chart).
# The durable store: LMDB (liblmdb-dev); its tests read the files back with lmdb-utils
# (mdb_stat, mdb_load), which also back a store up (mdb_copy). The install test
# (tests/integration/test_install.py): systemd (systemd-analyze verify of the unit) and
# man-db (renders the man pages, with groff-base). The Redis store: hiredis
# (libhiredis-dev, 0.14 on Debian 12: no TLS, so Redis TLS goes through a local tunnel);
# its tests start their own redis-server and redis-sentinel (redis-tools: redis-cli).
# Mercure 1.0 URL Pattern components: the regular expressions the standard generates run
# on PCRE2 (libpcre2-dev), with its match and depth limits as the cost limit hostile
# patterns need.
PACKAGES="
build-essential
cmake
pkg-config
clang
libclang-rt-14-dev
clang-format
libcmocka-dev
python3
chromium
libuv1-dev
node-llhttp
libjansson-dev
libjwt-dev
libpcre2-dev
curl
openssl
libssl-dev
libnginx-mod-nchan
nginx
gnuplot-nox
liblmdb-dev
lmdb-utils
systemd
man-db
libhiredis-dev
redis-server
redis-sentinel
redis-tools
"

missing=""
for pkg in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    case "$status" in
    "install ok installed") ;;
    *) missing="$missing $pkg" ;;
    esac
done
# Node.js and npm run the test clients; any installed Node >= 18 will do.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing="$missing nodejs npm"
fi

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "deps.sh: missing packages:$missing; run as root or install sudo" >&2
    exit 1
fi

echo "deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >/dev/null
