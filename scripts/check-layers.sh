#!/bin/sh
# Dependencies point one way. Each folder may include headers only from the
# folders listed for it here (docs/architecture.md, "Layers", is the same
# table). Prints FILE:LINE: the include that breaks it, and exits 1.
# Usage: scripts/check-layers.sh [SOURCE_DIR]
set -eu
cd "${1:-$(dirname "$0")/..}"

# folder: the folders it may include (its own is always allowed; proto/ is
# the generated schema code every layer may use).
allowed() {
    case "$1" in
    common)    echo "" ;;
    rules)     echo "common" ;;
    store)     echo "common" ;;
    wire)      echo "common" ;;
    audit)     echo "common" ;;
    cost)      echo "common wire" ;;
    report)    echo "common wire audit" ;;
    query)     echo "common store rules wire" ;;
    exporters) echo "common rules store wire audit cost" ;;
    collector) echo "common rules store wire query exporters audit" ;;
    central)   echo "common wire query audit cost report" ;;
    cmd)       echo "common rules store wire audit cost report query exporters collector central" ;;
    esac
}

LAYERS="common rules store wire audit cost report query exporters collector central cmd"

# Where a header named NAME, included from folder DIR, lives: DIR itself
# first, then the first layer folder that has it.
home_of() {
    for d in "$2" $LAYERS; do
        if [ -f "$d/$1" ]; then
            echo "$d"
            return
        fi
    done
    echo ""
}

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for dir in $LAYERS; do
    ok="$dir $(allowed "$dir")"
    for f in "$dir"/*.c "$dir"/*.h; do
        [ -f "$f" ] || continue
        grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | while IFS= read -r line; do
            n=${line%%:*}
            inc=$(printf '%s' "$line" | sed 's/.*include[[:space:]]*"\([^"]*\)".*/\1/')
            case "$inc" in
            opentelemetry/* | google/* | tollgate/*) continue ;; # generated proto code
            ../*)
                target=${inc#../}
                home=${target%%/*}
                ;;
            */*)
                home=${inc%%/*}
                ;;
            *)
                home=$(home_of "$inc" "$dir")
                if [ -z "$home" ]; then
                    echo "$f:$n: #include \"$inc\": no layer folder holds this header"
                    echo x >>"$tmp"
                    continue
                fi
                ;;
            esac
            case " $ok " in
            *" $home "*) ;;
            *)
                echo "$f:$n: #include \"$inc\" reaches $home/, which $dir/ may not include (may: $ok)"
                echo x >>"$tmp"
                ;;
            esac
        done
    done
done

if [ -s "$tmp" ]; then
    echo "check-layers: $(wc -l <"$tmp") include(s) break the layer table (docs/architecture.md)"
    exit 1
fi
echo "check-layers: every include points down"
