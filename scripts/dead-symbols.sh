#!/bin/sh
# Lists external symbols that nothing outside the tests uses, from the
# objects of a build tree (run after `make build`):
#
#   scripts/dead-symbols.sh [BUILD_DIR]        (default: build)
#
# Definitions: every global symbol (nm: T, D, R, B) of the libraries
# BUILD_DIR/libtg_*.a, except the generated protobuf code (libtg_proto.a).
# Uses: the relocations (readelf -r, debug and unwind sections left out)
# of every library object, of the binary's objects (cmd/) and of the
# benchmark programs (bench/); a relocation is how an object refers to a
# symbol, whether another object defines it or the object itself. Uses in
# tests/unit and tests/fuzz objects are reported but do not count.
#
# Prints, one "symbol  library(object)  [tests]" line each:
#   dead:  no use outside the tests: delete it (and its tests) or give it
#          a caller;
#   local: used only inside the object that defines it: make it static
#          (when tests call it, it may stay, as their way in).
#   kept:  only tests use it, and scripts/dead-symbols.keep says why.
# Exits 1 when there is a dead symbol, 0 otherwise, 2 on a usage error.
set -u
build=${1:-build}
[ -d "$build" ] || { echo "dead-symbols: no build directory $build" >&2; exit 2; }
libs=$(ls "$build"/libtg_*.a 2>/dev/null | grep -v '/libtg_proto\.a$')
[ -n "$libs" ] || { echo "dead-symbols: no libtg_*.a in $build (build first)" >&2; exit 2; }
progs=$(find "$build/CMakeFiles" \( -path '*/tollgate.dir/*.o' -o -path '*/bench_*.dir/*.o' \
             -o -path '*/loadgen.dir/*.o' \) -print 2>/dev/null)
tests=$(find "$build/CMakeFiles" \( -path '*/test_*.dir/*.o' -o -path '*/fuzz_*.dir/*.o' \) \
             -print 2>/dev/null)

tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM

# "object symbol" per relocation; `tag` marks test objects
uses() {
    tag=$1
    shift
    readelf -rW "$@" 2>/dev/null | awk -v tag="$tag" -v one="$#:$1" '
        /^File: / { obj = $2; sub(/^.*\//, "", obj); next }
        /^Relocation section / { sec = $3; skip = sec ~ /debug|eh_frame/; next }
        !skip && NF >= 5 && $1 ~ /^[0-9a-f]+$/ {
            sym = $5
            if (sym ~ /^\./ || sym == "") next
            o = obj != "" ? obj : one
            print tag o, sym
        }'
}
for l in $libs; do
    uses "" "$l"
done >"$tmp/refs"
for o in $progs; do uses "" "$o"; done >>"$tmp/refs"
for o in $tests; do uses "test:" "$o"; done >>"$tmp/refs"

# "library(object) symbol file:line" (the definition, from debug info)
for l in $libs; do
    nm -A -l --defined-only -g "$l" 2>/dev/null |
        awk -v lib="$(basename "$l")" '{
            split($0, t, "\t"); split(t[1], f, " ")
            if (f[2] !~ /^[TDRB]$/) next
            n = split(f[1], a, ":"); print lib "(" a[n-1] ")", f[3], t[2] }'
done >"$tmp/defs"

awk '
    NR == FNR { users[$2] = users[$2] " " $1; next }
    {
        obj = $1; sym = $2; other = own = test = 0
        n = split(users[sym], u, " ")
        for (i = 1; i <= n; i++) {
            if (u[i] ~ /^test:/) test = 1
            else if (u[i] == obj) own = 1
            else other = 1
        }
        if (other) next
        print (own ? "local" : "dead?") "\t" sym "\t" obj (test ? "\ttests" : "") "\t" $3
    }' "$tmp/refs" "$tmp/defs" | sort -u >"$tmp/cand"

# An optimised build inlines a call within one object and leaves no
# relocation: a symbol named again in its own source file, beyond its
# definition, is used there (local), not dead.
while IFS='	' read -r kind sym obj rest; do
    loc=${rest##*	}
    tests=
    case $rest in tests*) tests='	tests' ;; esac
    if [ "$kind" = "dead?" ]; then
        kind=dead
        file=${loc%:*}
        line=${loc##*:}
        if [ -f "$file" ] && grep -nw -- "$sym" "$file" | grep -vq "^$line:"; then
            kind=local
        fi
    fi
    printf '%s\t%s\t%s%s\n' "$kind" "$sym" "$obj" "$tests"
done <"$tmp/cand" | sort -t '	' -k1,1 -k2,2 >"$tmp/out"

# Symbols only tests use that stay on purpose (scripts/dead-symbols.keep).
keep=$(dirname "$0")/dead-symbols.keep
: >"$tmp/keep"
[ -f "$keep" ] && grep -v '^#' "$keep" | awk 'NF { print $1 }' >"$tmp/keep"
awk -F '\t' 'NR == FNR { k[$1] = 1; next }
    $1 == "dead" && ($2 in k) { $1 = "kept" } { print }' OFS='\t' "$tmp/keep" "$tmp/out" \
    >"$tmp/out2"
mv "$tmp/out2" "$tmp/out"

status=0
if grep -q '^dead	' "$tmp/out"; then
    status=1
    echo "dead: no use outside the tests"
    grep '^dead	' "$tmp/out" | cut -f2- | sed 's/^/  /'
fi
if grep -q '^kept	' "$tmp/out"; then
    echo "kept: only tests use it, kept as their way in (scripts/dead-symbols.keep)"
    grep '^kept	' "$tmp/out" | cut -f2- | sed 's/^/  /'
fi
if grep -q '^local	' "$tmp/out"; then
    echo "local: used only by the object that defines it (static, unless tests need it)"
    grep '^local	' "$tmp/out" | cut -f2- | sed 's/^/  /'
fi
[ "$status" -eq 0 ] && echo "dead-symbols: no dead external symbol"
exit "$status"
