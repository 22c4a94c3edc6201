#!/bin/sh
# Run every libFuzzer harness: first over its regression inputs
# (tests/regress/HARNESS-*), then for SECONDS of fuzzing from BDIR/corpus,
# two harnesses at a time (one process each). Crashes land in
# BDIR/crash/HARNESS/; the exit status is non-zero if there is any.
#
#   fuzz/run.sh BDIR SECONDS
set -u
B=${1:?usage: fuzz/run.sh BDIR SECONDS}
T=${2:?usage: fuzz/run.sh BDIR SECONDS}
top=$(cd "$(dirname "$0")/.." && pwd)
rc=0

# Longest input per harness: a frame, a segment script, a capture.
maxlen() {
	case $1 in
	decode) echo 4096 ;;
	pcap) echo 131072 ;;
	*) echo 16384 ;;
	esac
}

for h in decode stream smtp pcap; do
	set -- "$top"/tests/regress/"$h"-*
	[ -e "$1" ] || continue
	if ! "$B/fuzz_$h" "$@" >"$B/regress-$h.log" 2>&1; then
		echo "FAIL regress $h: see $B/regress-$h.log"
		rc=1
	else
		echo "PASS regress $h ($# inputs)"
	fi
done

fuzz_one() {
	h=$1
	mkdir -p "$B/crash/$h" "$B/live/$h" "$B/corpus/$h"
	"$B/fuzz_$h" -max_len="$(maxlen "$h")" -max_total_time="$T" \
	    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$B/crash/$h/" "$B/live/$h" "$B/corpus/$h" \
	    >"$B/fuzz-$h.log" 2>&1
	echo "$h: $(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' \
	    "$B/fuzz-$h.log" | tail -n 1)"
}

fuzz_one decode & fuzz_one stream & wait
fuzz_one smtp & fuzz_one pcap & wait
for h in decode stream smtp pcap; do
	for f in "$B/crash/$h"/*; do
		[ -e "$f" ] || continue
		echo "CRASH $h: $f"
		rc=1
	done
done
exit $rc
