#!/bin/bash
# live-sensor.sh: the program as operators run it: configuration checks
# with file:line errors, privilege drop, stats and signals on a live
# capture, a database locked by another writer, a full disk, and the
# syslog rate limit. Each check prints PASS/FAIL/SKIP for tests/run-all.
#
#   tests/live-sensor.sh BUILDDIR
#
# The offline checks run anywhere; the live ones, the full-disk one (a
# small tmpfs) and the privilege drop need root and report SKIP without it.
set -u

B=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
SW=$B/stripwatch
P=$top/pcaps
failed=0
tmp=$(mktemp -d /tmp/stripwatch-sensor.XXXXXX) || exit 1
pids=""
mnt=""
devlog=""

cleanup() {
	local p
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	[ -n "$mnt" ] && umount "$mnt" 2>/dev/null
	[ -n "$devlog" ] && rm -f "$devlog"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

pass() { echo "PASS sensor-$1"; }
fail() { local t=$1; shift; echo "FAIL sensor-$t: $*"; failed=1; }
skip() { echo "SKIP sensor-$1: $2"; }

. "$top/tests/lib.sh"

q() { sqlite3 -batch "$1" "$2" 2>&1; }

[ -x "$SW" ] || { echo "FAIL sensor: $SW not built"; exit 1; }
is_root=0
[ "$(id -u)" -eq 0 ] && is_root=1

# --- configuration ---------------------------------------------------------

t=config-check
out=$("$SW" -n -c "$top/conf/stripwatch.conf" -r "$P/clean-no-starttls.pcap" \
    -d "$tmp/n.db" 2>&1)
rc=$?
if [ $rc -eq 0 ] && [ "$out" = "configuration OK" ]; then pass $t
else fail $t "exit $rc, \"$out\""; fi

t=config-error-file-line
printf '# a comment\nmax_flows = 1000\nreasm_memcap = lots\n' >"$tmp/bad.conf"
out=$("$SW" -n -c "$tmp/bad.conf" 2>&1)
rc=$?
case "$out" in
*"$tmp/bad.conf:3: reasm_memcap: expected a number"*)
	[ $rc -eq 1 ] && pass $t || fail $t "exit $rc" ;;
*) fail $t "exit $rc, \"$out\"" ;;
esac

t=config-bad-filter
printf 'filter = "tcp port"\n' >"$tmp/bf.conf"
out=$("$SW" -n -c "$tmp/bf.conf" 2>&1)
rc=$?
case "$out" in
*"$tmp/bf.conf: filter \"tcp port\""*) [ $rc -eq 1 ] && pass $t ||
    fail $t "exit $rc" ;;
*) fail $t "exit $rc, \"$out\"" ;;
esac

t=config-missing-file
out=$("$SW" -n -c "$tmp/none.conf" 2>&1)
rc=$?
case "$out" in
*"$tmp/none.conf: No such file"*) [ $rc -eq 1 ] && pass $t ||
    fail $t "exit $rc" ;;
*) fail $t "exit $rc, \"$out\"" ;;
esac

t=usage-error
"$SW" --no-such-option >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] && pass $t || fail $t "exit $rc, want 2"

# --- offline: unreadable input, a locked database, the rate limit ------

t=unreadable-file
out=$("$SW" -r "$P/pos-asa-masked.pcap" -r "$tmp/missing.pcap" \
    -d "$tmp/u.db" 2>"$tmp/u.err")
rc=$?
n=$(q "$tmp/u.db" "SELECT count(*) FROM events")
if [ $rc -eq 1 ] && grep -q "$tmp/missing.pcap" "$tmp/u.err" &&
    [ "$n" = 1 ]; then pass $t
else fail $t "exit $rc, events $n, stderr: $(head -c 200 "$tmp/u.err")"; fi

# "-r -" reads the capture from standard input (a pipe from tcpdump or zcat)
# and finds what reading the file finds.
t=read-stdin
"$SW" -r - -d "$tmp/in.db" <"$P/clean-interleaved.pcap" >/dev/null \
    2>"$tmp/in.err"
rc=$?
"$SW" -r "$P/clean-interleaved.pcap" -d "$tmp/inf.db" >/dev/null 2>&1
sel="SELECT outcome FROM sessions ORDER BY server_port, client_port"
a=$(q "$tmp/in.db" "$sel" | tr '\n' ' ')
b=$(q "$tmp/inf.db" "$sel" | tr '\n' ' ')
n=$(q "$tmp/in.db" "SELECT count(*) FROM events")
if [ $rc -eq 0 ] && [ "$a" = "$b" ] && [ "$n" = 2 ] &&
    [ "$(echo $a | wc -w)" = 4 ]; then pass $t
else fail $t "exit $rc, stdin \"$a\" file \"$b\", events $n,"\
    "stderr: $(head -c 200 "$tmp/in.err")"; fi

# Another process holds the write lock for 2 s while stripwatch ends: the
# rows wait and are written once it lets go; nothing is lost.
t=db-locked-by-writer
"$SW" -r "$P/clean-no-starttls.pcap" -d "$tmp/l.db" >/dev/null 2>&1
hold_write_lock "$tmp/l.db" 2
"$SW" -r "$P/pos-asa-masked.pcap" -r "$P/pos-cmd-masked.pcap" \
    -d "$tmp/l.db" >/dev/null 2>"$tmp/l.err"
rc=$?
wait $locker
n=$(q "$tmp/l.db" "SELECT count(*) FROM events")
s=$(q "$tmp/l.db" "SELECT count(*) FROM sessions")
if [ $rc -eq 0 ] && [ "$n" = 2 ] && [ "$s" = 3 ] &&
    grep -q "retrying" "$tmp/l.err"; then pass $t
else fail $t "exit $rc, events $n (want 2), sessions $s (want 3),"\
    "stderr: $(head -c 300 "$tmp/l.err")"; fi

# Seven events at the same packet time, three lines allowed per minute:
# three alert lines, one suppressed line, seven rows in the database.
t=alert-rate-limit
printf 'alert_rate_limit = 3\nalert_rate_interval = 60\n' >"$tmp/rl.conf"
args=""
for f in "$P"/pos-*.pcap; do args="$args -r $f"; done
# shellcheck disable=SC2086
"$SW" -c "$tmp/rl.conf" $args -d "$tmp/rl.db" >"$tmp/rl.out" 2>/dev/null
rc=$?
lines=$(grep -c '^event=' "$tmp/rl.out")
rows=$(q "$tmp/rl.db" "SELECT count(*) FROM events")
if [ $rc -eq 0 ] && [ "$lines" = 3 ] && [ "$rows" -gt 3 ] &&
    grep -q "^alerts_suppressed=$((rows - 3)) " "$tmp/rl.out"; then pass $t
else fail $t "exit $rc, $lines lines, $rows rows: $(tail -2 "$tmp/rl.out")"
fi

# Server history across restarts: each capture read by a new process on
# the same database. The server offered STARTTLS with one certificate;
# then it shows another certificate; then its offer is masked (one alert,
# capability_masked, quoting the history; no starttls_vanished).
t=history-across-restarts
h=$tmp/h.db
"$SW" -r "$P/clean-starttls-tls12.pcap" -d "$h" >"$tmp/h1.out" 2>&1
"$SW" -r "$P/hist-new-certificate.pcap" -d "$h" >"$tmp/h2.out" 2>&1
"$SW" -r "$P/pos-asa-masked.pcap" -d "$h" >"$tmp/h3.out" 2>&1
rc=$?
srv=$(q "$h" "SELECT sessions, starttls_offered, starttls_accepted,
    cert_sha256 FROM servers WHERE server_ip = '198.51.100.25'
    AND server_port = 25")
if [ $rc -eq 0 ] && ! grep -q "^event=" "$tmp/h1.out" &&
    grep -q "^event=certificate_changed .*was 2c4407c7.* now 63ace1d4" \
    "$tmp/h2.out" &&
    grep -q "^event=capability_masked .*offered in 2 of 2 earlier" \
    "$tmp/h3.out" && ! grep -q "starttls_vanished" "$tmp/h3.out" &&
    [ "$srv" = "3|2|2|63ace1d407749823d73776cd97ddc2b0664792d09ca478515d8344c2fa27c86a" ]
then pass $t
else fail $t "exit $rc, servers row \"$srv\", runs: $(cat "$tmp/h1.out" \
    "$tmp/h2.out" "$tmp/h3.out" | cut -c1-80)"; fi

# The same server seen fresh (a new database): no history, no
# starttls_vanished, only the masked capability.
t=history-fresh-database
"$SW" -r "$P/pos-asa-masked.pcap" -d "$tmp/h0.db" >"$tmp/h0.out" 2>&1
if grep -q "^event=capability_masked" "$tmp/h0.out" &&
    ! grep -q "starttls_vanished" "$tmp/h0.out"; then pass $t
else fail $t "$(cat "$tmp/h0.out")"; fi

# A database file the sensor cannot write (owned by root, run as nobody):
# a clear error and exit 1, alerts never lost silently.
if [ $is_root -eq 1 ] && command -v setpriv >/dev/null 2>&1; then
	t=db-read-only
	chmod 755 "$tmp"
	"$SW" -r "$P/clean-no-starttls.pcap" -d "$tmp/ro.db" >/dev/null 2>&1
	chmod 644 "$tmp/ro.db"
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    "$SW" -r "$P/pos-asa-masked.pcap" -d "$tmp/ro.db" \
	    >"$tmp/ro.out" 2>"$tmp/ro.err"
	rc=$?
	if [ $rc -eq 1 ] && grep -q "ro.db: .*read-only" "$tmp/ro.err"; then
		pass $t
	else fail $t "exit $rc: $(head -c 300 "$tmp/ro.err")"; fi
fi

# The systemd unit: systemd-analyze accepts it (pointed at this build),
# and it keeps the hardening operators rely on.
t=systemd-unit
if command -v systemd-analyze >/dev/null 2>&1; then
	sed "s|/usr/sbin/stripwatch|$SW|; s|/etc/stripwatch/stripwatch.conf|$top/conf/stripwatch.conf|g" \
	    "$top/systemd/stripwatch.service" >"$tmp/stripwatch.service"
	# Its Documentation= names the man page: show verify the one here.
	mkdir -p "$tmp/man/man8"
	cp "$top/sensor/stripwatch.8" "$tmp/man/man8/"
	out=$(MANPATH=$tmp/man systemd-analyze verify \
	    "$tmp/stripwatch.service" 2>&1)
	rc=$?
	missing=
	for want in Type=notify StateDirectory=stripwatch \
	    "CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN" \
	    NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes \
	    PrivateTmp=yes RestrictAddressFamilies= \
	    SystemCallFilter=@system-service Restart=on-failure WatchdogSec=; do
		grep -q "^$want" "$top/systemd/stripwatch.service" ||
		    missing="$missing $want"
	done
	if [ $rc -eq 0 ] && [ -z "$out" ] && [ -z "$missing" ]; then pass $t
	else fail $t "verify exit $rc: $out; missing:$missing"; fi
else
	skip $t "systemd-analyze not installed"
fi

# --- root only: full disk, privileges, live capture ---------------------

if [ $is_root -ne 1 ]; then
	for t in db-disk-full syslog-alerts privilege-drop \
	    privilege-drop-threads refuse-root live-stats-signals \
	    live-retention live-db-locked foreground-alerts; do
		skip $t "not root"
	done
	exit $failed
fi

# The database on a full filesystem: a clear error, every alert still
# printed, exit status 1, and the rows given up counted in db_dropped.
t=db-disk-full
mnt=$tmp/mnt
if full_disk "$mnt"; then
	printf 'db_final_timeout = 1\n' >"$tmp/df.conf"
	"$SW" -v -c "$tmp/df.conf" -r "$P/pos-asa-masked.pcap" \
	    -r "$P/pos-cmd-masked.pcap" -r "$P/clean-interleaved.pcap" \
	    -d "$mnt/f.db" >"$tmp/df.out" 2>"$tmp/df.err"
	rc=$?
	lines=$(grep -c '^event=' "$tmp/df.out")
	lost=$(sed -n 's/.*; \([0-9]*\) rows not written.*/\1/p' "$tmp/df.err")
	dropped=$(sed -n 's/.* db_dropped=\([0-9]*\).*/\1/p' "$tmp/df.err")
	if [ $rc -eq 1 ] && [ "$lines" -ge 2 ] &&
	    grep -q "database or disk is full; retrying" "$tmp/df.err" &&
	    [ -n "$lost" ] && [ "$lost" -gt 0 ] &&
	    [ "$dropped" = "$lost" ]; then pass $t
	else fail $t "exit $rc, $lines alert lines, stderr:"\
	    "$(head -c 300 "$tmp/df.err")"; fi
	umount "$mnt"
	mnt=""
else
	skip $t "cannot mount a tmpfs here"
fi

# Alerts as syslog receives them. No syslog daemon runs here, so a test
# socket takes /dev/log's place: created there when there is none (and
# removed after), else bound over it in a private mount namespace. With
# facility local3, a high-severity alert is priority 19 * 8 + 4 = 156.
t=syslog-alerts
sock=$tmp/log.sock
if [ ! -e /dev/log ] && [ ! -L /dev/log ]; then
	sock=/dev/log
	devlog=/dev/log
fi
python3 - "$sock" "$tmp/syslog.txt" "$tmp/syslog.stop" <<'PY' &
import os, socket, sys, time
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
sock.settimeout(0.2)
end = time.time() + 60
with open(sys.argv[2], "wb") as out:
    while time.time() < end and not os.path.exists(sys.argv[3]):
        try:
            out.write(sock.recv(65536) + b"\n")
            out.flush()
        except socket.timeout:
            pass
PY
listener=$!
pids="$pids $listener"
wait_for 10 test -S "$sock"
printf 'syslog_facility = "local3"\n' >"$tmp/sl.conf"
slargs="-c $tmp/sl.conf --syslog -r $P/pos-asa-masked.pcap -d $tmp/sl.db"
if [ -z "$devlog" ]; then
	# shellcheck disable=SC2086
	unshare -m sh -c "mount --bind '$sock' /dev/log &&
	    exec '$SW' $slargs" >"$tmp/sl.out" 2>"$tmp/sl.err"
else
	# shellcheck disable=SC2086
	"$SW" $slargs >"$tmp/sl.out" 2>"$tmp/sl.err"
fi
rc=$?
sleep 0.5
touch "$tmp/syslog.stop"
wait $listener
got=$(grep -a -c '^<156>.*stripwatch\[[0-9]*\]: event=capability_masked severity=high .*evidence="250-XXXXXXXA"' "$tmp/syslog.txt")
ctl=$(LC_ALL=C grep -a -c '[[:cntrl:]]' "$tmp/syslog.txt")
if [ $rc -eq 0 ] && [ "$got" = 1 ] && [ "$ctl" = 0 ]; then pass $t
else fail $t "exit $rc, $got matching lines, $ctl with control bytes;"\
    "got: $(head -c 300 "$tmp/syslog.txt")"; fi
[ -n "$devlog" ] && rm -f "$devlog"
devlog=""

# Live on a terminal with nothing listening on /dev/log (a plain file takes
# its place in a private mount namespace; a private network namespace has
# its own lo, onto which a capture with a masked EHLO reply is replayed):
# the alert shows on stderr, and the warning saying why shows once.
t=foreground-alerts
mkdir -p "$tmp/fg"
chown nobody "$tmp/fg"
chmod 755 "$tmp"
: >"$tmp/fg/not-a-socket"
unshare -m -n sh -c "mount --bind '$tmp/fg/not-a-socket' /dev/log 2>/dev/null ||
    [ ! -e /dev/log ] || exit 9
    ip link set lo up && exec python3 - '$SW' '$tmp/fg' '$top'" \
    >"$tmp/fg/out" 2>"$tmp/fg/harness.err" <<'PY'
import os, pty, signal, subprocess, sys, time
sw, d, top = sys.argv[1:4]
master, slave = pty.openpty()
p = subprocess.Popen([sw, "-i", "lo", "-u", "nobody", "-d", d + "/fg.db"],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=slave)
os.close(slave)
os.set_blocking(master, False)
got = b""
def read_for(seconds, until=None):
    global got
    end = time.time() + seconds
    while time.time() < end and (until is None or until not in got):
        try:
            got += os.read(master, 65536)
        except (BlockingIOError, OSError):
            time.sleep(0.05)
read_for(15, b"capturing on")
subprocess.run([sys.executable, top + "/tests/replay.py", "lo",
                top + "/pcaps/pos-asa-masked.pcap"],
               stdout=subprocess.DEVNULL, check=False)
read_for(10, b"event=capability_masked")
p.send_signal(signal.SIGTERM)
try:
    p.wait(20)
except subprocess.TimeoutExpired:
    p.kill()
read_for(1)
sys.stdout.buffer.write(got)
PY
rc=$?
warned=$(grep -a -c 'alerts are shown here on stderr: nothing listens on /dev/log' \
    "$tmp/fg/out")
shown=$(grep -a -c '^event=capability_masked severity=high .*evidence="250-XXXXXXXA"' \
    "$tmp/fg/out")
if [ $rc -eq 0 ] && [ "$warned" = 1 ] && [ "$shown" = 1 ]; then pass $t
else fail $t "exit $rc, warning $warned times, alert $shown times:"\
    "$(head -c 400 "$tmp/fg/out" "$tmp/fg/harness.err" | tr '\r\n' '  ')"; fi

t=refuse-root
"$SW" -i lo -u root -d "$tmp/r.db" --no-syslog >/dev/null 2>"$tmp/r.err"
rc=$?
if [ $rc -eq 1 ] && grep -q "refusing to run as root" "$tmp/r.err"; then
	pass $t
else fail $t "exit $rc: $(head -c 200 "$tmp/r.err")"; fi

# Live on lo as nobody, stats every second: the process and each of its
# threads have nobody's uid and no capability, the stats table fills,
# retention (run by the database writer after each stats row) deletes an
# old session and keeps a recent one, SIGUSR1 logs counters, SIGHUP keeps
# it running, SIGTERM ends it with status 0.
t=privilege-drop
t2=live-stats-signals
t3=live-retention
# After the drop, SIGHUP re-reads the file as nobody: it must be readable.
chmod 755 "$tmp"
mkdir "$tmp/db"
"$SW" -r "$P/clean-no-starttls.pcap" -d "$tmp/db/s.db" >/dev/null 2>&1
q "$tmp/db/s.db" "DELETE FROM sessions; INSERT INTO sessions (id,
    start_ts, outcome) VALUES (1001, '2001-01-01T00:00:00.000000Z', 'old'),
    (1002, '2999-01-01T00:00:00.000000Z', 'recent')" >/dev/null
chown -R nobody "$tmp/db"
printf 'stats_interval = 1\nretention_days = 1\n' >"$tmp/live.conf"
"$SW" -c "$tmp/live.conf" -i lo -f "tcp port 9" -d "$tmp/db/s.db" \
    --no-syslog -u nobody >/dev/null 2>"$tmp/live.err" &
sw=$!
pids="$pids $sw"
if ! wait_for 15 grep -qs "capturing on" "$tmp/live.err"; then
	fail $t "did not start: $(tail -3 "$tmp/live.err")"
	fail $t2 "did not start"
	exit 1
fi
uid=$(awk '/^Uid:/ {print $2 $3 $4 $5}' "/proc/$sw/status")
cap=$(awk '/^CapEff:/ {print $2}' "/proc/$sw/status")
want=$(id -u nobody)
if [ "$uid" = "$want$want$want$want" ] && [ "$cap" = 0000000000000000 ]; then
	pass $t
else fail $t "uids $uid (want $want x4), CapEff $cap"; fi
sleep 2.5
# The database writer thread exists by now (stats rows were written).
threads=0
badthreads=
for st in /proc/"$sw"/task/*/status; do
	threads=$((threads + 1))
	tu=$(awk '/^Uid:/ {print $2 $3 $4 $5}' "$st")
	tc=$(awk '/^CapEff:/ {print $2}' "$st")
	[ "$tu" = "$want$want$want$want" ] && [ "$tc" = 0000000000000000 ] ||
	    badthreads="$badthreads $st: $tu $tc;"
done
if [ $threads -ge 2 ] && [ -z "$badthreads" ]; then pass "$t-threads"
else fail "$t-threads" "$threads threads;$badthreads"; fi
kill -USR1 "$sw"
kill -HUP "$sw"
sleep 0.5
alive=0
kill -0 "$sw" 2>/dev/null && alive=1
kill -TERM "$sw"
wait_for 20 eval '! kill -0 $sw 2>/dev/null'
wait "$sw"
rc=$?
n=$(q "$tmp/db/s.db" "SELECT count(*) FROM stats WHERE name =
    'kernel_drops'")
if [ $alive -eq 1 ] && [ $rc -eq 0 ] && [ "$n" -ge 2 ] &&
    grep -q "stats: frames=" "$tmp/live.err" &&
    grep -q "configuration reloaded" "$tmp/live.err"; then pass $t2
else fail $t2 "alive after HUP $alive, exit $rc, $n kernel_drops rows,"\
    "log: $(tail -4 "$tmp/live.err" | tr '\n' ' ')"; fi
left=$(q "$tmp/db/s.db" "SELECT group_concat(outcome) FROM sessions")
if [ "$left" = recent ]; then pass $t3
else fail $t3 "sessions left: \"$left\" (want \"recent\")"; fi

# Another process holds the database's write lock for 6 s while the sensor
# captures, its writes waiting up to 10 s for it: the capture loop must not
# wait with them. It answers SIGUSR1 at once (the database writer thread
# waits, not the loop), and every stats row queued meanwhile is written
# once the lock is gone.
t=live-db-locked
mkdir "$tmp/lk"
chown nobody "$tmp/lk"
printf 'stats_interval = 1\ndb_busy_timeout_ms = 10000\n' >"$tmp/lk.conf"
"$SW" -c "$tmp/lk.conf" -i lo -f "tcp port 9" -d "$tmp/lk/s.db" \
    --no-syslog -u nobody >/dev/null 2>"$tmp/lk.err" &
sw=$!
pids="$pids $sw"
if wait_for 15 grep -qs "capturing on" "$tmp/lk.err" &&
    wait_for 10 test -s "$tmp/lk/s.db"; then
	hold_write_lock "$tmp/lk/s.db" 6
	sleep 2.5		# a flush or two is now waiting for the lock
	n0=$(grep -c "stats: frames=" "$tmp/lk.err")
	kill -USR1 "$sw"
	# The lock has 3.5 s to go: a loop stuck in SQLite would answer after.
	if wait_for 2 eval '[ "$(grep -c "stats: frames=" "$tmp/lk.err")" \
	    -gt "$n0" ]'; then answered=1; else answered=0; fi
	wait $locker
	sleep 1.5
	kill -TERM "$sw"
	wait_for 20 eval '! kill -0 $sw 2>/dev/null'
	wait "$sw"
	rc=$?
	# One kernel_drops row per second of the run, the locked ones too.
	n=$(q "$tmp/lk/s.db" "SELECT count(*) FROM stats WHERE name =
	    'kernel_drops'")
	if [ $answered -eq 1 ] && [ $rc -eq 0 ] && [ "$n" -ge 8 ]; then
		pass $t
	else fail $t "answered SIGUSR1 during the lock: $answered, exit $rc,"\
	    "$n kernel_drops rows (want >= 8), log: $(tail -4 "$tmp/lk.err" |
	    tr '\n' ' ')"; fi
else
	fail $t "did not start: $(tail -3 "$tmp/lk.err")"
fi

exit $failed
