#!/bin/sh
# Build the fuzz seed corpora from the bundled and the public captures.
#
#   fuzz/seeds.sh [OUTDIR]        (default fuzz/corpus, not committed)
#
# Seeds come from pcaps/ and /work/shared/pcaps-public (or $PUBLIC_PCAPS),
# plus the regression inputs under tests/regress/ (named by harness).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/fuzz/corpus}
pub=${PUBLIC_PCAPS:-/work/shared/pcaps-public}
caps=$(find "$top/pcaps" "$pub" -type f \
    \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) 2>/dev/null |
    sort)
# shellcheck disable=SC2086
python3 "$top/fuzz/seeds.py" "$out" $caps
for h in decode stream smtp pcap; do
	for f in "$top"/tests/regress/"$h"-*; do
		[ -f "$f" ] && cp "$f" "$out/$h/"
	done
done
for h in decode stream smtp pcap; do
	echo "$h: $(ls "$out/$h" | wc -l) seeds"
done
