#!/bin/sh
# Source rules that CI enforces (STYLE.md §3):
#  - layering: the core (src/base, src/proto, src/hub) includes no libuv, socket or clock
#    headers and calls no clock; the client (src/client) includes nothing from hub or server;
#    the stores (src/store) include nothing from the server;
#  - banned libc functions (curl's list) appear nowhere in our C;
#  - every C file is clang-formatted with the committed .clang-format.
# Usage: tests/lint.sh SOURCE_DIR
set -u
top=${1:-.}
cd "$top" || exit 2
fail=0

core_dirs=""
for d in src/base src/proto src/hub; do
    [ -d "$d" ] && core_dirs="$core_dirs $d"
done

# shellcheck disable=SC2086
hits=$(grep -rnE '#include[[:space:]]*<(uv\.h|uv/|sys/socket\.h|netinet/|arpa/inet\.h|time\.h|sys/time\.h)' $core_dirs)
if [ -n "$hits" ]; then
    echo "lint: the core must not do I/O or read a clock (include found):"
    echo "$hits"
    fail=1
fi
# shellcheck disable=SC2086
hits=$(grep -rnwE '(clock_gettime|gettimeofday|time|uv_now|uv_hrtime)[[:space:]]*\(' $core_dirs)
if [ -n "$hits" ]; then
    echo "lint: the core must not read a clock:"
    echo "$hits"
    fail=1
fi

# The client (src/client) is a transports-level module: proto and base, never hub or server.
if [ -d src/client ]; then
    hits=$(grep -rnE '#include[[:space:]]*"(hub|server)/' src/client)
    if [ -n "$hits" ]; then
        echo "lint: src/client may call proto and base only (include found):"
        echo "$hits"
        fail=1
    fi
fi

# The stores (src/store) sit below the server: they know the hub core and base, and log
# through the callback they are opened with, never through the server's headers.
if [ -d src/store ]; then
    hits=$(grep -rnE '#include[[:space:]]*"server/' src/store)
    if [ -n "$hits" ]; then
        echo "lint: src/store may not include src/server (include found):"
        echo "$hits"
        fail=1
    fi
fi

c_files=$(find src include tools tests fuzz bench examples -name '*.[ch]' -not -path '*/node_modules/*' 2>/dev/null)
banned='sprintf|vsprintf|strcpy|strcat|strncpy|strtok|gets|atoi|atol|localtime|gmtime'
# shellcheck disable=SC2086
hits=$(grep -nwE "($banned)[[:space:]]*\(" $c_files)
if [ -n "$hits" ]; then
    echo "lint: banned functions (use snprintf, sh_buf_*, sh_parse_u64, *_r):"
    echo "$hits"
    fail=1
fi

if command -v clang-format >/dev/null 2>&1; then
    for f in $c_files; do
        if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
            echo "lint: not clang-formatted: $f (run clang-format -i $f)"
            fail=1
        fi
    done
else
    echo "lint: clang-format not installed (scripts/deps.sh installs it)"
    fail=1
fi

[ $fail -eq 0 ] && echo "lint: ok ($(echo $c_files | wc -w) C files)"
exit $fail
