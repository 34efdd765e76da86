#!/bin/sh
# Fails naming every end-to-end test that tests/e2e/README.md does not list
# (its table is how a reader finds what each test proves).
# Usage: scripts/check-e2e-readme.sh [SOURCE_DIR]
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
status=0
for f in "$root"/tests/e2e/*.test.mjs; do
    name=$(basename "$f")
    if ! grep -q "\`$name\`" "$root/tests/e2e/README.md"; then
        echo "check-e2e-readme: tests/e2e/README.md does not list $name" >&2
        status=1
    fi
done
[ "$status" -eq 0 ] && echo "check-e2e-readme: every e2e test is listed"
exit "$status"
