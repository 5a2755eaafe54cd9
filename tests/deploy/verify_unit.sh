#!/bin/sh
# Verifies the systemd unit with systemd-analyze (skipped, exit 77, where it is not installed),
# pointing ExecStart at the built binary (the installed path does not exist here).
set -eu
unit=$1 bin=$2
command -v systemd-analyze >/dev/null 2>&1 || { echo "systemd-analyze not available: skipped"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s|/usr/local/bin/gridwatch|$bin|" "$unit" > "$dir/gridwatch.service"
out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "$dir/gridwatch.service" 2>&1) || { echo "$out"; exit 1; }
# Warnings about the unit itself fail the test; unrelated host units do not.
if echo "$out" | grep -q "gridwatch.service"; then echo "$out"; exit 1; fi
echo "gridwatch.service verified"
