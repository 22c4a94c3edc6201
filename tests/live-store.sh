#!/bin/bash
# live-store.sh: nothing reaches the database's side of stripwatch without
# reaching the database, or being counted. Offline: a full queue waits out
# another process's write lock however long it is held, logging what it
# waits for, and exits 0 with every row; on a full disk the run exits 1
# and its last line says how many rows were lost, and why. Live (root, a
# private network namespace, generated mail replayed onto its lo): a
# SIGHUP while the write lock is held loses nothing and resets no
# counter; the database file deleted under the sensor is opened anew with
# a log line; a logrotate-style rename + SIGHUP leaves every session in
# exactly one of the two files; a reader that keeps a transaction open
# gets a warning once the write-ahead log passes db_wal_warn, and the WAL
# is truncated once the reader is gone.
#
#   tests/live-store.sh BUILDDIR
#
# Prints PASS/FAIL/SKIP lines for tests/run-all. The traces come from
# bench/gen.c (built here). Every wait is bounded; the trap kills what it
# started and removes the namespace.
set -u

B=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
SW=$B/stripwatch
P=$top/pcaps
N=1000			# sessions per generated trace
failed=0
tmp=$(mktemp -d /tmp/stripwatch-store.XXXXXX) || exit 1
pids=""
mnt=""
ns=""

cleanup() {
	local p
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	[ -n "$mnt" ] && umount "$mnt" 2>/dev/null
	[ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

pass() { echo "PASS store-$1"; }
fail() { local t=$1; shift; echo "FAIL store-$t: $*"; failed=1; }
skip() { echo "SKIP store-$1: $2"; }

. "$top/tests/lib.sh"

q() { sqlite3 -batch "$1" "$2" 2>&1; }

[ -x "$SW" ] || { echo "FAIL store: $SW not built"; exit 1; }
for tool in python3 sqlite3 cc; do
	command -v "$tool" >/dev/null 2>&1 ||
	    { echo "SKIP store: $tool not installed"; exit 0; }
done
cc -O2 -o "$tmp/gen" "$top/bench/gen.c" -lm ||
    { echo "FAIL store: cannot build bench/gen.c"; exit 1; }
"$tmp/gen" -s 1 -n $N -b 0.05 mail "$tmp/a.pcap" >/dev/null &&
    "$tmp/gen" -s 2 -n $N -b 0.05 mail "$tmp/b.pcap" >/dev/null ||
    { echo "FAIL store: cannot generate the traces"; exit 1; }
# The events of trace a, as a run with nothing in its way writes them.
"$SW" -r "$tmp/a.pcap" -d "$tmp/ref.db" >/dev/null 2>&1
ea=$(q "$tmp/ref.db" "SELECT count(*) FROM events")
[ "$(q "$tmp/ref.db" "SELECT count(*) FROM sessions")" = $N ] ||
    { echo "FAIL store: trace a does not give $N sessions"; exit 1; }

# --- offline: a lock held 12 s while the queue is full -------------------
# Runs in the background while the rest goes on; checked at the end. The
# queue holds 100 rows, the trace makes over 1000, db_final_timeout is 1 s:
# the run must wait the lock out, not give up after 1 s.
offline_locked() {
	"$SW" -r "$P/clean-no-starttls.pcap" -d "$tmp/ol.db" >/dev/null 2>&1
	hold_write_lock "$tmp/ol.db" 12
	printf 'db_queue_max = 100\ndb_final_timeout = 1\n' >"$tmp/ol.conf"
	"$SW" -c "$tmp/ol.conf" -r "$tmp/a.pcap" -d "$tmp/ol.db" \
	    >/dev/null 2>"$tmp/ol.err"
	echo $? >"$tmp/ol.rc"
	wait $locker
}
offline_locked &
offline=$!
pids="$pids $offline"

check_offline_locked() {
	local t=offline-lock-12s rc s e fails waits resumed lost
	wait $offline
	rc=$(cat "$tmp/ol.rc" 2>/dev/null)
	s=$(q "$tmp/ol.db" "SELECT count(*) FROM sessions")
	e=$(q "$tmp/ol.db" "SELECT count(*) FROM events")
	fails=$(grep -c "database is locked" "$tmp/ol.err")
	waits=$(grep -c "reading waits for the database: database is locked" \
	    "$tmp/ol.err")
	resumed=$(grep -c "writes resumed after" "$tmp/ol.err")
	lost=$(grep -c "not written" "$tmp/ol.err")
	# One line when it starts failing, one every 5 s of waiting (two or
	# three in 12 s), one when it is over: not one per attempt.
	if [ "$rc" = 0 ] && [ "$s" = $((N + 1)) ] && [ "$e" = "$ea" ] &&
	    [ "$waits" -ge 2 ] && [ "$fails" -le $((waits + 1)) ] &&
	    [ "$resumed" = 1 ] && [ "$lost" = 0 ]; then pass $t
	else fail $t "exit $rc, sessions $s (want $((N + 1))), events $e"\
	    "(want $ea), $fails lock lines, $waits wait lines, $resumed"\
	    "resumed, stderr: $(head -c 600 "$tmp/ol.err")"; fi
}

if [ "$(id -u)" -ne 0 ]; then
	for t in disk-full-queue live-reload-locked live-db-deleted \
	    live-db-rotated live-wal-reader; do
		skip $t "not root"
	done
	check_offline_locked
	exit $failed
fi

# --- offline: the queue full on a full disk -------------------------------
# Nothing can be written: after db_final_timeout the oldest rows make room
# (counted), the run goes on, exits 1, and its last line says how many rows
# were not written and why, as many as the counters say were dropped.
t=disk-full-queue
mnt=$tmp/mnt
if full_disk "$mnt"; then
	printf 'db_queue_max = 200\ndb_final_timeout = 1\n' >"$tmp/df.conf"
	"$SW" -v -c "$tmp/df.conf" -r "$tmp/a.pcap" -d "$mnt/f.db" \
	    >/dev/null 2>"$tmp/df.err"
	rc=$?
	last=$(tail -1 "$tmp/df.err")
	n=$(echo "$last" | sed -n 's/.*: \([0-9]*\) rows not written: \([0-9]*\) dropped with the queue full.*, \([0-9]*\) given up at exit.*/\1 \2 \3/p')
	dropped=$(sed -n 's/.* db_dropped=\([0-9]*\).*/\1/p' "$tmp/df.err")
	set -- $n
	if [ $rc -eq 1 ] && [ $# = 3 ] && [ "$1" = "$dropped" ] &&
	    [ "$2" -gt 0 ] && [ $(($2 + $3)) = "$1" ] &&
	    [ "$1" -ge $((N + ea)) ]; then pass $t
	else fail $t "exit $rc, last line \"$last\", db_dropped=$dropped"; fi
	umount "$mnt"
	mnt=""
else
	skip $t "cannot mount a tmpfs here"
fi

# --- live, in a network namespace of our own ------------------------------
if ! command -v tcpreplay >/dev/null 2>&1; then
	for t in live-reload-locked live-db-deleted live-db-rotated \
	    live-wal-reader; do
		skip $t "tcpreplay not installed"
	done
	check_offline_locked
	exit $failed
fi
ns=swstore$$
ip netns add "$ns" && ip netns exec "$ns" ip link set lo up ||
    { echo "FAIL store: cannot make a network namespace"; exit 1; }
chmod 755 "$tmp"

# start NAME [CONF LINES]: a sensor on the namespace's lo, database
# $tmp/NAME/s.db, log $tmp/NAME.err, pid in $sw.
start() {
	local name=$1
	shift
	mkdir "$tmp/$name"
	chown nobody "$tmp/$name"
	printf '%s\n' "stats_interval = 60" "$@" >"$tmp/$name.conf"
	ip netns exec "$ns" "$SW" -c "$tmp/$name.conf" -i lo \
	    -d "$tmp/$name/s.db" --no-syslog -u nobody \
	    2>"$tmp/$name.err" &
	sw=$!
	pids="$pids $sw"
	wait_for 15 grep -qs "capturing on" "$tmp/$name.err"
}

replay() {
	ip netns exec "$ns" tcpreplay -q -i lo --mbps "${2:-200}" "$1" \
	    >/dev/null 2>&1
}

sessions() { q "$1" "SELECT count(*) FROM sessions"; }

# stop: SIGTERM, wait, the exit status in $rc.
stop() {
	kill -TERM "$sw"
	wait_for 30 eval '! kill -0 $sw 2>/dev/null'
	wait "$sw"
	rc=$?
}

# SIGHUP while another process holds the write lock, the rows of the
# second trace waiting in the queue: nothing lost, counters go on.
t=live-reload-locked
if start rl; then
	db=$tmp/rl/s.db
	replay "$tmp/a.pcap"
	wait_for 20 eval '[ "$(sessions $db)" = $N ]'
	hold_write_lock "$db" 5
	replay "$tmp/b.pcap"
	sleep 1.5
	kill -HUP "$sw"
	wait_for 10 grep -qs "configuration reloaded" "$tmp/rl.err"
	wait $locker
	# Counted once the capture loop has taken the writer's news.
	wait_for 20 grep -qs "writes resumed after" "$tmp/rl.err"
	kill -USR1 "$sw"
	wait_for 10 grep -qs "stats: " "$tmp/rl.err"
	line=$(grep "stats: " "$tmp/rl.err" | tail -1)
	stop
	s=$(sessions "$db")
	e=$(q "$db" "SELECT count(*) FROM events")
	counters=bad
	echo "$line" | grep -q " sessions_db=$((2 * N)) " &&
	    echo "$line" | grep -q " events_db=$e " &&
	    echo "$line" | grep -q " db_dropped=0 " && counters=ok
	if [ $rc -eq 0 ] && [ "$s" = $((2 * N)) ] && [ $counters = ok ]
	then pass $t
	else fail $t "exit $rc, sessions $s (want $((2 * N))), events $e,"\
	    "$line"; fi
else
	fail $t "did not start: $(tail -3 "$tmp/rl.err")"
fi

# The database file deleted while the sensor runs: the next flush opens
# the path anew, and the rows after it are there.
t=live-db-deleted
if start dd; then
	db=$tmp/dd/s.db
	replay "$tmp/a.pcap"
	wait_for 20 eval '[ "$(sessions $db)" = $N ]'
	rm "$db"
	wait_for 10 test -e "$db"
	replay "$tmp/b.pcap"
	wait_for 20 eval '[ "$(sessions $db)" = $N ]'
	stop
	s=$(sessions "$db")
	if [ $rc -eq 0 ] && [ "$s" = $N ] &&
	    grep -q "the file was moved or deleted; opened the path anew" \
	    "$tmp/dd.err"; then pass $t
	else fail $t "exit $rc, sessions in the new file $s (want $N), log:"\
	    "$(tail -3 "$tmp/dd.err")"; fi
else
	fail $t "did not start: $(tail -3 "$tmp/dd.err")"
fi

# logrotate: rename while sessions are being written, then SIGHUP. The
# old file and the new one together hold every session once.
t=live-db-rotated
if start ro; then
	db=$tmp/ro/s.db
	replay "$tmp/a.pcap" 20 &
	player=$!
	pids="$pids $player"
	sleep 2
	mv "$db" "$db.1"
	kill -HUP "$sw"
	wait $player
	replay "$tmp/b.pcap"
	sleep 2
	stop
	n1=$(sessions "$db.1")
	n2=$(sessions "$db")
	ids=$(q "$db" "ATTACH '$db.1' AS old; SELECT count(DISTINCT id) FROM
	    (SELECT id FROM sessions UNION ALL SELECT id FROM old.sessions)")
	if [ $rc -eq 0 ] && [ "$n1" -gt 0 ] && [ "$n2" -gt 0 ] &&
	    [ $((n1 + n2)) = $((2 * N)) ] && [ "$ids" = $((2 * N)) ]; then
		pass $t
	else fail $t "exit $rc, old file $n1 + new file $n2 sessions (want"\
	    "$((2 * N)) in all), $ids distinct ids"; fi
else
	fail $t "did not start: $(tail -3 "$tmp/ro.err")"
fi

# A reader keeps a read transaction open while sessions are written:
# checkpoints cannot reset the WAL, which passes db_wal_warn: a warning
# names the cause. Once the reader is gone the WAL is truncated.
t=live-wal-reader
if start wr "stats_interval = 1" "db_wal_warn = 256K"; then
	db=$tmp/wr/s.db
	replay "$tmp/a.pcap"
	wait_for 20 eval '[ "$(sessions $db)" = $N ]'
	hold_db "$db" 6 read
	reader=$holder
	replay "$tmp/b.pcap"
	wait_for 10 grep -qs "a reader that does not finish" "$tmp/wr.err"
	warned=$?
	big=$(stat -c %s "$db-wal")
	wait $reader
	wait_for 10 grep -qs "write-ahead log back to 0 KiB" "$tmp/wr.err"
	back=$?
	size=$(stat -c %s "$db-wal")
	stop
	if [ $rc -eq 0 ] && [ $warned -eq 0 ] && [ "$big" -gt 262144 ] &&
	    [ $back -eq 0 ] && [ "$size" = 0 ]; then pass $t
	else fail $t "exit $rc, warned $warned, WAL $big bytes with the"\
	    "reader, $size after (want 0), log: $(tail -3 "$tmp/wr.err")"; fi
else
	fail $t "did not start: $(tail -3 "$tmp/wr.err")"
fi

check_offline_locked
exit $failed
