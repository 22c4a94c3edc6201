#!/bin/bash
# live-workers.sh: two capture workers joined by PACKET_FANOUT on lo while
# swaks sends several sessions. Each session must be seen whole by exactly
# one worker (a flow split between workers would give broken halves), ids
# must not collide in the shared database, and SIGTERM to the supervisor
# must stop both workers with every session written.
#
#   tests/live-workers.sh BUILDDIR
#
# Prints PASS/FAIL/SKIP for tests/run-all. Needs root, python3, swaks,
# sqlite3. Every wait is bounded; the trap kills what it started.
set -u

B=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
T=live-workers
SESSIONS=8

[ "$(id -u)" -eq 0 ] || { echo "SKIP $T: not root"; exit 0; }
for tool in python3 swaks sqlite3; do
	command -v "$tool" >/dev/null 2>&1 ||
	    { echo "SKIP $T: $tool not installed"; exit 0; }
done
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
[ -x "$B/stripwatch" ] || { echo "FAIL $T: $B/stripwatch not built"; exit 1; }

tmp=$(mktemp -d /tmp/stripwatch-workers.XXXXXX) || exit 1
pids=""
cleanup() {
	local p
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail() {
	echo "FAIL $T: $1"
	exit 1
}

. "$top/tests/lib.sh"

chmod 755 "$tmp"
python3 "$top/tests/smtpd.py" --host 127.0.0.1 --port 0 \
    --port-file "$tmp/port" --lifetime 120 --no-starttls 2>"$tmp/smtpd.err" &
pids="$pids $!"
wait_for 10 test -s "$tmp/port" || fail "smtpd.py did not start"
port=$(cat "$tmp/port")

mkdir "$tmp/db"
chown nobody "$tmp/db"
printf 'workers = 2\n' >"$tmp/w.conf"
"$B/stripwatch" -c "$tmp/w.conf" -i lo -f "tcp port $port" \
    -d "$tmp/db/stripwatch.db" --no-syslog -u nobody \
    2>"$tmp/stripwatch.err" &
sw=$!
pids="$pids $sw"
wait_for 20 grep -qs "capture workers on lo" "$tmp/stripwatch.err" ||
    fail "workers did not start: $(tail -3 "$tmp/stripwatch.err")"
n=$(pgrep -c -P "$sw" stripwatch)
[ "$n" = 2 ] || fail "$n worker processes, want 2"

i=0
while [ $i -lt $SESSIONS ]; do
	timeout 30 swaks --server 127.0.0.1 --port "$port" \
	    --to a@b.example --from c@d.example >/dev/null 2>&1 ||
	    fail "swaks run $i failed"
	i=$((i + 1))
done
kill -TERM "$sw"
wait_for 20 eval '! kill -0 $sw 2>/dev/null' || fail "no exit after SIGTERM"
wait "$sw"
rc=$?
[ "$rc" = 0 ] || fail "supervisor exited $rc: $(tail -3 "$tmp/stripwatch.err")"

q() { sqlite3 -batch "$tmp/db/stripwatch.db" "$1"; }
got=$(q "SELECT count(*), count(DISTINCT id), sum(outcome = 'plaintext'),
    sum(close_reason = 'fin') FROM sessions")
[ "$got" = "$SESSIONS|$SESSIONS|$SESSIONS|$SESSIONS" ] ||
    fail "sessions (rows|ids|plaintext|fin) = $got, want all $SESSIONS"
# Each worker wrote its own counters at the end.
got=$(q "SELECT group_concat(DISTINCT worker) FROM (SELECT worker FROM stats
    ORDER BY worker)")
[ "$got" = "0,1" ] || fail "stats rows of workers \"$got\", want 0,1"
# Both workers wrote: ids of both residues mod 2.
got=$(q "SELECT count(DISTINCT id % 2) FROM sessions")
[ "$got" = 2 ] || echo "$T: all sessions went to one worker (hash luck)" >&2
echo "PASS $T"
