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
tmp=$(mktemp -d /tmp/stripwatch-config.XXXXXX) || exit 1
pids=""

cleanup() {
	local p
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

pass() { echo "PASS config-$1"; }
fail() { local t=$1; shift; echo "FAIL config-$t: $*"; failed=1; }
skip() { echo "SKIP config-$1: $2"; }

. "$top/tests/lib.sh"

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
if grep -q "max_flows changed: needs a restart; still 65536" "$tmp/r.err" &&
    grep -q "reload: 3 settings changed, 1 of them need a restart" \
    "$tmp/r.err" && ! grep -q "filter changed\|database changed" \
    "$tmp/r.err"; then pass $t2
else fail $t2 "log: $(grep changed "$tmp/r.err" | tr '\n' ' ')"; fi

exit $failed
