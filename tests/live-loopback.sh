#!/bin/bash
# live-loopback.sh: stripwatch capturing live on lo while swaks talks to
# tests/smtpd.py, once with STARTTLS (expect outcome tls, no event) and once
# against a server that does not offer it (expect outcome plaintext).
#
#   tests/live-loopback.sh BUILDDIR
#
# Prints PASS/FAIL/SKIP lines for tests/run-all; exits 1 if any failed.
# Needs root (live capture, privilege drop to nobody), python3, openssl,
# swaks and sqlite3. Every wait is bounded; the trap kills what it started.
# STRIPWATCH_KEEP_TMP=1 keeps the temp dir (logs, database) for a look.
set -u

B=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
T_TLS=live-loopback-tls
T_PLAIN=live-loopback-plain
# Seconds to wait for a server's port, for the sensor to say it captures,
# for one swaks run, and for the sensor to exit after SIGTERM.
WAIT_PORT=10
WAIT_CAPTURE=15
WAIT_SWAKS=60
WAIT_EXIT=20
# Seconds between the last packet and SIGTERM: none. The kernel still
# holds the last packets in a capture block that is not handed over yet;
# SIGTERM must drain it, so a session that just ended is still written.
SETTLE=0
failed=0

skip_all() {
	echo "SKIP $T_TLS: $1"
	echo "SKIP $T_PLAIN: $1"
	exit 0
}

fail_all() {
	echo "FAIL $T_TLS: $1"
	echo "FAIL $T_PLAIN: $1"
	exit 1
}

[ "$(id -u)" -eq 0 ] || skip_all "not root (live capture needs it)"
for tool in python3 openssl swaks sqlite3; do
	command -v "$tool" >/dev/null 2>&1 ||
	    skip_all "$tool not installed"
done
id nobody >/dev/null 2>&1 || skip_all "no user nobody"
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
[ -x "$B/stripwatch" ] || fail_all "$B/stripwatch not built"

tmp=$(mktemp -d /tmp/stripwatch-live-lo.XXXXXX) || fail_all "mktemp"
pids=""

cleanup() {
	local p
	for p in $pids; do
		kill "$p" 2>/dev/null
	done
	for p in $pids; do
		wait "$p" 2>/dev/null
	done
	if [ -n "${STRIPWATCH_KEEP_TMP:-}" ]; then
		echo "${0##*/}: kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

. "$top/tests/lib.sh"

# sw_alive: whether the sensor has not exited.
sw_alive() {
	kill -0 "$swpid" 2>/dev/null
}

sw_ready() {
	grep -qs "capturing on" "$tmp/stripwatch.err" || ! sw_alive
}

# q SQL: one query on the sensor's database, '|' between columns.
q() {
	sqlite3 -batch "$tmp/db/stripwatch.db" "$1" 2>&1
}

# start_smtpd NAME [ARGS...]: start tests/smtpd.py, set $port.
start_smtpd() {
	local name=$1
	shift
	python3 "$top/tests/smtpd.py" --host 127.0.0.1 --port 0 \
	    --port-file "$tmp/$name.port" --lifetime 300 "$@" \
	    2>"$tmp/$name.err" &
	pids="$pids $!"
	wait_for "$WAIT_PORT" test -s "$tmp/$name.port" ||
	    fail_all "smtpd.py $name did not start: $(tail -3 "$tmp/$name.err")"
	port=$(cat "$tmp/$name.port")
}

chmod 755 "$tmp"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=mx.test.example \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" >"$tmp/openssl.log" 2>&1 ||
    fail_all "openssl req failed: $(tail -3 "$tmp/openssl.log")"

start_smtpd tls --cert "$tmp/cert.pem" --key "$tmp/key.pem"
port_tls=$port
start_smtpd plain --no-starttls
port_plain=$port

mkdir "$tmp/db"
chown nobody "$tmp/db"
"$B/stripwatch" -i lo -f "tcp port $port_tls or tcp port $port_plain" \
    -d "$tmp/db/stripwatch.db" --no-syslog -u nobody \
    >"$tmp/stripwatch.out" 2>"$tmp/stripwatch.err" &
swpid=$!
pids="$pids $swpid"
wait_for "$WAIT_CAPTURE" sw_ready
sw_alive ||
    fail_all "stripwatch exited at start: $(tail -5 "$tmp/stripwatch.err")"
grep -q "capturing on" "$tmp/stripwatch.err" ||
    echo "live-loopback: no \"capturing on\" line after ${WAIT_CAPTURE}s;" \
    "going on" >&2

timeout "$WAIT_SWAKS" swaks --server 127.0.0.1 --port "$port_tls" --tls \
    --ehlo client.test.example --to a@b.example --from c@d.example \
    >"$tmp/swaks-tls.log" 2>&1
rc_tls=$?
timeout "$WAIT_SWAKS" swaks --server 127.0.0.1 --port "$port_plain" \
    --ehlo client.test.example --to a@b.example --from c@d.example \
    >"$tmp/swaks-plain.log" 2>&1
rc_plain=$?

sleep "$SETTLE"
kill -TERM "$swpid"
if wait_for "$WAIT_EXIT" eval '! sw_alive'; then
	wait "$swpid"
	sw_rc=$?
else
	kill -KILL "$swpid" 2>/dev/null
	sw_rc="none (killed after ${WAIT_EXIT}s)"
fi

# check NAME RC PORT EXPECTED: the session of swaks (exit code RC) to the
# server on PORT must read EXPECTED, and have no event row.
check() {
	local name=$1 rc=$2 p=$3 want=$4 got ev n
	if [ "$rc" -ne 0 ]; then
		echo "FAIL $name: swaks exited $rc: $(grep -E '^\*\*\*' \
		    "$tmp/swaks-${name#live-loopback-}.log" | head -3)"
		failed=1
		return
	fi
	n=$(q "SELECT count(*) FROM sessions WHERE server_port = $p")
	if [ "$n" != 1 ]; then
		echo "FAIL $name: $n session rows for port $p, want 1" \
		    "(sensor exit $sw_rc; $(tail -2 "$tmp/stripwatch.err" |
		    tr '\n' ' '))"
		failed=1
		return
	fi
	got=$(q "SELECT client_ip, server_ip, helo, starttls_offered,
	    starttls_requested, ifnull(starttls_reply, 'NULL'),
	    tls_established, outcome, tls_version IS NOT NULL AND
	    tls_version != '', banner LIKE '%mx.test.example%', source
	    FROM sessions WHERE server_port = $p")
	ev=$(q "SELECT count(*) || ':' || ifnull(group_concat(kind), '')
	    FROM events WHERE server_port = $p")
	if [ "$got" != "$want" ]; then
		echo "FAIL $name: session reads \"$got\", want \"$want\""
		failed=1
	elif [ "$ev" != "0:" ]; then
		echo "FAIL $name: events raised: $ev"
		failed=1
	elif [ "$sw_rc" != 0 ]; then
		echo "FAIL $name: stripwatch exit status $sw_rc after SIGTERM"
		failed=1
	else
		echo "PASS $name"
	fi
}

# client|server|helo|offered|requested|reply|tls|outcome|version|banner|
# source (the interface captured)
check "$T_TLS" "$rc_tls" "$port_tls" \
    "127.0.0.1|127.0.0.1|client.test.example|1|1|220|1|tls|1|1|lo"
check "$T_PLAIN" "$rc_plain" "$port_plain" \
    "127.0.0.1|127.0.0.1|client.test.example|0|0|NULL|0|plaintext|0|1|lo"
if [ "$failed" -ne 0 ]; then
	echo "--- stripwatch stderr" >&2
	tail -20 "$tmp/stripwatch.err" >&2
fi
exit "$failed"
