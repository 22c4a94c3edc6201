#!/bin/bash
# live-config.sh: the program's configuration and options as operators
# meet them: files that are not text, ranges, options given twice, what a
# reload (SIGHUP) applies and what it says needs a restart, and the signals
# of an offline run. Each check prints PASS/FAIL/SKIP for tests/run-all.
#
#   tests/live-config.sh BUILDDIR
#
# The offline checks run anywhere; the reload checks capture on lo and
# need root (SKIP without it).
set -u

B=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
SW=$B/stripwatch
P=$top/pcaps
failed=0

. "$top/tests/lib.sh"
make_tmp config

pass() { echo "PASS config-$1"; }
fail() { local t=$1; shift; echo "FAIL config-$t: $*"; failed=1; }
skip() { echo "SKIP config-$1: $2"; }

q() { sqlite3 -batch "$1" "$2" 2>&1; }

# expect_config_error NAME WANT-STATUS WANT-TEXT ARGS...: stripwatch ARGS
# ends within 10 s with WANT-STATUS and WANT-TEXT on stderr.
expect_config_error() {
	local t=$1 want_rc=$2 want=$3 rc
	shift 3
	timeout 10 "$SW" "$@" >/dev/null 2>"$tmp/$t.err"
	rc=$?
	if [ $rc -eq "$want_rc" ] && grep -qF -- "$want" "$tmp/$t.err"; then
		pass "$t"
	else fail "$t" "exit $rc (want $want_rc), stderr:"\
	    "$(head -c 300 "$tmp/$t.err")"; fi
}

[ -x "$SW" ] || { echo "FAIL config: $SW not built"; exit 1; }
is_root=0
[ "$(id -u)" -eq 0 ] && is_root=1

# --- configuration files that are not text ---------------------------------

# /dev/zero once spun forever: a line of NULs counted as an empty line.
expect_config_error dev-zero 1 "/dev/zero: not a regular file" \
    -n -c /dev/zero
expect_config_error directory 1 "$tmp: not a regular file" -n -c "$tmp"
mkfifo "$tmp/fifo"
expect_config_error fifo 1 "$tmp/fifo: not a regular file" \
    -n -c "$tmp/fifo"
# A NUL cut the line silently: "max_flows = 16" was read, " 0000" lost.
printf 'promisc = no\nmax_flows = 16\0000000\n' >"$tmp/nul.conf"
expect_config_error nul-in-line 1 \
    "$tmp/nul.conf:2: NUL byte 0x00 at column 15" -n -c "$tmp/nul.conf"
head -c 4096 /dev/urandom >"$tmp/random.conf"
printf '\n\001\n' >>"$tmp/random.conf"
expect_config_error binary 1 "$tmp/random.conf:" -n -c "$tmp/random.conf"
{ printf 'filter = "tcp port 25 or '; head -c 1500 /dev/zero | tr '\0' x
  printf '"\n'; } >"$tmp/long.conf"
expect_config_error long-line 1 "$tmp/long.conf:1: line too long" \
    -n -c "$tmp/long.conf"
head -c 2000000 /dev/zero | tr '\0' '\n' >"$tmp/huge.conf"
expect_config_error huge-file 1 "larger than 1048576 bytes" \
    -n -c "$tmp/huge.conf"

# --- ranges that fit the calls they reach ---------------------------------

# buffer_size goes to pcap_set_buffer_size() as an int: 2g wrapped to a
# negative number that libpcap ignored (a 2 MiB ring). -n refuses it now.
printf 'buffer_size = 2g\n' >"$tmp/buf.conf"
expect_config_error buffer-size-int 1 \
    "$tmp/buf.conf:1: buffer_size: 2147483648 out of range" \
    -n -c "$tmp/buf.conf"

# --- options given twice -------------------------------------------------

# The last one silently won; which one the operator meant is a guess.
for opt in -i -d -c -f -u; do
	case $opt in -c) val=$top/conf/stripwatch.conf ;; -f) val="tcp" ;;
	*) val=x ;; esac
	expect_config_error "twice$opt" 2 "$opt given twice" \
	    -n "$opt" "$val" "$opt" "$val"
done
expect_config_error twice--db 2 "-d given twice" -n -d x --db y
expect_config_error syslog-both 2 "--syslog and --no-syslog are exclusive" \
    -n --syslog --no-syslog

# --- offline signals ---------------------------------------------------------

# split_pcap FILE PART1 PART2: PART1 a capture of FILE's first half of
# packets, PART2 the rest of its records (no file header), to follow PART1
# on a pipe. Prints how many packets PART1 holds.
split_pcap() {
	python3 - "$@" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
end = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
recs, off = [], 24
while off + 16 <= len(data):
    recs.append(off)
    off += 16 + struct.unpack(end + "I", data[off + 8:off + 12])[0]
k = len(recs) // 2
open(sys.argv[2], "wb").write(data[:recs[k]])
open(sys.argv[3], "wb").write(data[recs[k]:])
print(k)
PY
}

# What a run wrote: sessions and events, without the ids.
rows() {
	q "$1" "SELECT start_ts, end_ts, client_port, server_port, outcome,
	    close_reason, events FROM sessions ORDER BY start_ts, client_port;
	    SELECT ts, kind, client_port, evidence FROM events
	    ORDER BY ts, kind, client_port"
}

# consumed PID: PID waits on an empty pipe (fd 3 here is its write end):
# every complete packet it was given has gone through the pipeline.
consumed() {
	python3 -c 'import array, fcntl, termios
a = array.array("i", [0])
fcntl.ioctl(3, termios.FIONREAD, a)
raise SystemExit(a[0] != 0)' &&
	    grep -qs pipe_read "/proc/$1/task/$1/wchan"
}

# feed NAME: stripwatch reading "-r -" from a FIFO whose write end is fd 3
# here, given the first half of a capture; its pid in $sw.
feed() {
	mkfifo "$tmp/$1.fifo"
	"$SW" -r - -d "$tmp/$1.db" <"$tmp/$1.fifo" >/dev/null \
	    2>"$tmp/$1.err" &
	sw=$!
	pids="$pids $sw"
	exec 3>"$tmp/$1.fifo"
	cat "$tmp/part1.pcap" >&3
	# Without wchan (an old kernel), 10 s are more than enough.
	wait_for 10 consumed $sw || true
}

src=$P/clean-interleaved.pcap
half=$(split_pcap "$src" "$tmp/part1.pcap" "$tmp/part2")
"$SW" -r "$tmp/part1.pcap" -d "$tmp/ref1.db" >/dev/null 2>&1
"$SW" -r "$src" -d "$tmp/refall.db" >/dev/null 2>&1
ref1=$(rows "$tmp/ref1.db")
refall=$(rows "$tmp/refall.db")

# A stopping signal while the input still flows (a pipe kept open): the
# read stops at once, every session seen so far is finished and written
# (the same rows as a run over just those packets), exit 128 + n.
for sig in INT:130 TERM:143 HUP:129; do
	name=${sig%:*}
	t=offline-sig$(echo "$name" | tr A-Z a-z)
	feed "$t"
	kill -"$name" "$sw"
	wait_for 10 eval '! kill -0 $sw 2>/dev/null'
	exec 3>&-
	wait "$sw"
	rc=$?
	got=$(rows "$tmp/$t.db")
	if [ $rc -eq "${sig#*:}" ] && [ -n "$ref1" ] && [ "$got" = "$ref1" ] &&
	    grep -q "stopped reading after $half frames; finishing open" \
	    "$tmp/$t.err"; then pass $t
	else fail $t "exit $rc (want ${sig#*:}), rows \"$got\" (want"\
	    "\"$ref1\"), stderr: $(head -c 300 "$tmp/$t.err")"; fi
done

# SIGUSR1 logs the counters (at the next packet: the read it interrupts
# goes on) and the run goes on to the end of its input.
t=offline-sigusr1
feed "$t"
kill -USR1 "$sw"
cat "$tmp/part2" >&3
exec 3>&-
wait "$sw"
rc=$?
got=$(rows "$tmp/$t.db")
if [ $rc -eq 0 ] && [ -n "$refall" ] && [ "$got" = "$refall" ] &&
    [ "$(grep -c "stats: frames=" "$tmp/$t.err")" = 1 ] &&
    grep -q "stats: frames=$half " "$tmp/$t.err"; then pass $t
else fail $t "exit $rc, rows \"$got\" (want \"$refall\"), stderr:"\
    "$(head -c 300 "$tmp/$t.err")"; fi

# --- reload (SIGHUP): applied, or logged as needing a restart ---------------

if [ $is_root -ne 1 ]; then
	skip reload-applies "not root"
	skip reload-restart-logged "not root"
	exit $failed
fi

# conversation PORT SECONDS: an SMTP exchange on 127.0.0.1:PORT, then the
# connection stays open and silent SECONDS (until killed).
conversation() {
	python3 - "$1" "$2" <<'PY' &
import socket, sys, time
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(1)
cli = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
con, _ = srv.accept()
con.sendall(b"220 mx.example ESMTP\r\n")
cli.recv(100)
cli.sendall(b"EHLO client.example\r\n")
con.recv(100)
con.sendall(b"250-mx.example\r\n250 STARTTLS\r\n")
cli.recv(100)
time.sleep(float(sys.argv[2]))
PY
	talker=$!
	pids="$pids $talker"
}

# Started with a 600 s idle timeout and stats every 60 s; the reload sets
# 2 s and 1 s, and max_flows, which needs a restart. The idle session is
# then written as "idle" and stats rows follow every second; max_flows is
# logged as kept; -f and -d, which override the file, are not changes.
t=reload-applies
t2=reload-restart-logged
chmod 755 "$tmp"
mkdir "$tmp/db"
chown nobody "$tmp/db"
printf 'flow_idle_timeout = 600\nstats_interval = 60\n' >"$tmp/r.conf"
chmod 644 "$tmp/r.conf"
"$SW" -c "$tmp/r.conf" -i lo -f "tcp port 10025" -d "$tmp/db/r.db" \
    --no-syslog -u nobody >/dev/null 2>"$tmp/r.err" &
sw=$!
pids="$pids $sw"
if ! wait_for 15 grep -qs "capturing on" "$tmp/r.err"; then
	fail $t "did not start: $(tail -3 "$tmp/r.err")"
	fail $t2 "did not start"
	exit 1
fi
conversation 10025 30
sleep 1.5
printf 'flow_idle_timeout = 2\nstats_interval = 1\nmax_flows = 1024\n' \
    >"$tmp/r.conf"
printf 'filter = "tcp port 25"\ndatabase = "/nonexistent/x.db"\n' \
    >>"$tmp/r.conf"
kill -HUP "$sw"
idle=0
wait_for 10 eval '[ "$(q "$tmp/db/r.db" "SELECT count(*) FROM sessions
    WHERE close_reason = '"'idle'"' AND server_port = 10025")" = 1 ]' &&
    idle=1
stats=0
wait_for 5 eval '[ "$(q "$tmp/db/r.db" "SELECT count(*) FROM stats
    WHERE name = '"'kernel_drops'"'")" -ge 2 ]' && stats=1
kill -TERM "$sw"
wait "$sw"
rc=$?
kill "$talker" 2>/dev/null
if [ $idle -eq 1 ] && [ $stats -eq 1 ] && [ $rc -eq 0 ] &&
    grep -q "flow_idle_timeout changed: now 2, was 600" "$tmp/r.err" &&
    grep -q "stats_interval changed: now 1, was 60" "$tmp/r.err"; then
	pass $t
else fail $t "idle session written $idle, stats rows $stats, exit $rc,"\
    "log: $(grep -v '^stripwatch: stats:' "$tmp/r.err" | tail -6 |
    tr '\n' ' ')"; fi
if grep -q "max_flows changed: needs a restart; still 131072" "$tmp/r.err" &&
    grep -q "reload: 3 settings changed, 1 of them need a restart" \
    "$tmp/r.err" && ! grep -q "filter changed\|database changed" \
    "$tmp/r.err"; then pass $t2
else fail $t2 "log: $(grep changed "$tmp/r.err" | tr '\n' ' ')"; fi

exit $failed
