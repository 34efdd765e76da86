#!/bin/sh
# Test hooks (TOLLGATE_TEST_*) stay out of release builds.
#
#   check-test-hooks.sh SRC_DIR "HOOK_SRCS" "HOOKS_OFF_OBJECTS" on|off BINARY
#
# HOOK_SRCS: the sources (relative to SRC_DIR, ';'-separated, as CMake
# passes a list) that read a hook; HOOKS_OFF_OBJECTS: the same compiled
# without TG_TEST_HOOKS. Fails when
#   - a library source names a TOLLGATE_TEST_ hook outside a comment and is
#     not in HOOK_SRCS (so it would not be checked below);
#   - a hooks-off object holds the string TOLLGATE_TEST_;
#   - BINARY, built with hooks `off`, holds it; or, built with hooks `on`,
#     does not (the check has to be able to see a hook to mean anything).
set -u
src=$1
hook_srcs=$2
objs=$3
expect=$4
bin=$5
fail=0

listed() {
    case ";$hook_srcs;" in *";$1;"*) return 0 ;; esac
    return 1
}

cd "$src" || exit 2
for f in $(grep -rl --include='*.c' --include='*.h' 'TOLLGATE_TEST_' \
    common rules store wire query exporters collector central cmd 2>/dev/null); do
    # comments may name a hook; code may not, unless the file is listed
    if grep -n 'TOLLGATE_TEST_' "$f" | grep -Evq '^[0-9]+:[[:space:]]*(/?\*|//)'; then
        if ! listed "$f"; then
            echo "check-test-hooks: $f reads a TOLLGATE_TEST_ hook but is not in TG_HOOK_SRCS (CMakeLists.txt)"
            fail=1
        fi
    fi
done

n=0
old_ifs=$IFS
IFS=';'
for o in $objs; do
    IFS=$old_ifs
    n=$((n + 1))
    if [ ! -s "$o" ]; then
        echo "check-test-hooks: missing object $o"
        fail=1
    elif grep -aq 'TOLLGATE_TEST_' "$o"; then
        echo "check-test-hooks: $o, built without TG_TEST_HOOKS, holds a TOLLGATE_TEST_ hook"
        fail=1
    fi
done
IFS=$old_ifs
if [ "$n" -eq 0 ]; then
    echo "check-test-hooks: no hooks-off objects to check"
    fail=1
fi

if [ ! -s "$bin" ]; then
    echo "check-test-hooks: missing binary $bin"
    fail=1
elif [ "$expect" = off ] && grep -aq 'TOLLGATE_TEST_' "$bin"; then
    echo "check-test-hooks: $bin, built with TG_TEST_HOOKS=OFF, holds a TOLLGATE_TEST_ hook"
    fail=1
elif [ "$expect" = on ] && ! grep -aq 'TOLLGATE_TEST_' "$bin"; then
    echo "check-test-hooks: $bin, built with TG_TEST_HOOKS=ON, holds no hook: the check cannot see them"
    fail=1
fi

[ "$fail" -eq 0 ] && echo "check-test-hooks: $n hooks-off object(s) and $bin ($expect) as expected"
exit "$fail"
