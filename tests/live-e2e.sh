#!/bin/bash
# live-e2e.sh: stripwatch against a real Postfix through a STARTTLS-masking
# middlebox, in three network namespaces joined by two veth pairs:
#
#   client ns             mbox ns                           server ns
#   swaks  c0 --------- m0  tests/e2e/relay  m1 --------- s0  Postfix :25
#   10.231.1.1/30  10.231.1.2:25 -> 10.231.2.1   10.231.2.2/30
#                        ^ sensor A            ^ sensor B
#
# Sensor A captures on m0 (what the client sees: the ASA's masked
# capability), sensor B on m1 (what the server sees: the ISP's masked
# command); each has its own database. The relay runs once per mode:
#   pass -> TLS end to end: tls_established = 1, no event (A and B)
#   asa  -> capability_masked (A)
#   isp  -> command_masked (B)
# then SIGHUP (the sensor keeps running and a later session still lands),
# then SIGTERM while a client holds a session open after EHLO (that session
# must be written). Postfix runs as a private instance (own config, queue
# and data directories under the test's temp dir); if it cannot run, the
# test falls back to tests/smtpd.py and says so on every PASS line.
#
#   tests/live-e2e.sh BUILDDIR      (needs BUILDDIR/stripwatch and
#                                    BUILDDIR/tests/relay)
#
# Prints PASS/FAIL/SKIP lines for tests/run-all; exits 1 if any failed.
# STRIPWATCH_KEEP_TMP=1 keeps the temp dir (logs, databases) for a look.
# Every wait is bounded; the trap kills every process it started and
# deletes the namespaces (and with them the veths) even on failure.
set -u

B=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/lib.sh"
TESTS="live-e2e-pass live-e2e-asa live-e2e-isp live-e2e-sighup
    live-e2e-sigterm"
# Seconds to wait for: a listening port, the sensor's "capturing on"
# line, one swaks run, a process to exit after SIGTERM, the holding
# client's EHLO reply, and how long that client holds at most.
WAIT_PORT=20
WAIT_CAPTURE=15
WAIT_SWAKS=60
WAIT_EXIT=20
WAIT_HOLD=20
HOLD_MAX=90
# Seconds between the last packet and a signal: libpcap hands packets over
# in blocks retired every capture_timeout_ms (100 ms by default).
SETTLE=1
# Test addresses, private, inside the namespaces only.
NET_C=10.231.1.1
NET_M0=10.231.1.2
NET_M1=10.231.2.1
NET_S=10.231.2.2
# Client ports, one per session, so sensor A's rows can be told apart.
PORT_PASS=40001
PORT_ASA=40002
PORT_ISP=40003
PORT_HUP=40004
PORT_HOLD=40005

failed=0
note=""

pass() {
	echo "PASS $1${note}"
}

fail() {
	echo "FAIL $1: $2"
	failed=1
}

netns3_start e2e sw python3 openssl swaks sqlite3
pids=""
postfix_conf=""

cleanup() {
	[ -n "$pids" ] && kill_wait $pids
	if [ -n "$postfix_conf" ]; then
		timeout "$WAIT_EXIT" ip netns exec "$NSS" postfix \
		    -c "$postfix_conf" stop >/dev/null 2>&1
	fi
	# Postfix's master gets time to stop its children.
	netns3_delete
	drop_tmp
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

setup_net() {
	netns3_setup "$NET_C/30" "$NET_M0/30" "$NET_M1/30" "$NET_S/30"
}

# Write a private Postfix instance's configuration under $tmp/postfix:
# listens on the server namespace address only, STARTTLS with the test's
# certificate, accepts mail for b.example and discards it, logs to a file,
# looks nothing up in DNS, no chroot.
postfix_config() {
	local d=$tmp/postfix
	mkdir -p "$d/conf" "$d/queue" "$d/data" || return 1
	chown postfix "$d/data" || return 1
	cat >"$d/conf/main.cf" <<-EOF
	compatibility_level = 3.6
	queue_directory = $d/queue
	data_directory = $d/data
	maillog_file_prefixes = $d
	maillog_file = $d/maillog
	myhostname = mx.server.test
	mydomain = server.test
	myorigin = \$myhostname
	smtpd_banner = \$myhostname ESMTP
	inet_interfaces = $NET_S
	inet_protocols = ipv4
	mydestination = b.example
	local_recipient_maps =
	local_transport = discard:
	default_transport = discard:
	relay_transport = discard:
	mynetworks = 10.231.0.0/16 127.0.0.0/8
	smtpd_peername_lookup = no
	smtp_dns_support_level = disabled
	smtpd_tls_cert_file = $tmp/cert.pem
	smtpd_tls_key_file = $tmp/key.pem
	smtpd_tls_security_level = may
	smtpd_tls_loglevel = 1
	biff = no
	EOF
	cat >"$d/conf/master.cf" <<-EOF
	smtp      inet  n       -       n       -       -       smtpd
	pickup    unix  n       -       n       60      1       pickup
	cleanup   unix  n       -       n       -       0       cleanup
	qmgr      unix  n       -       n       300     1       qmgr
	tlsmgr    unix  -       -       n       1000?   1       tlsmgr
	rewrite   unix  -       -       n       -       -       trivial-rewrite
	bounce    unix  -       -       n       -       0       bounce
	defer     unix  -       -       n       -       0       bounce
	trace     unix  -       -       n       -       0       bounce
	verify    unix  -       -       n       -       1       verify
	flush     unix  n       -       n       1000?   0       flush
	proxymap  unix  -       -       n       -       -       proxymap
	showq     unix  n       -       n       -       -       showq
	error     unix  -       -       n       -       -       error
	retry     unix  -       -       n       -       -       error
	discard   unix  -       -       n       -       -       discard
	anvil     unix  -       -       n       -       1       anvil
	scache    unix  -       -       n       -       1       scache
	postlog   unix-dgram n  -       n       -       1       postlogd
	EOF
}

# Start Postfix in the server namespace; on failure leave the reason in
# $why. Postfix prints its fatal errors to a terminal only, hence script.
start_postfix() {
	why=""
	if ! command -v postfix >/dev/null 2>&1 &&
	    [ ! -x /usr/sbin/postfix ]; then
		why="postfix not installed"
		return 1
	fi
	postfix_config || { why="cannot write its configuration"; return 1; }
	postfix_conf=$tmp/postfix/conf
	if ! ip netns exec "$NSS" postfix -c "$postfix_conf" start \
	    </dev/null >"$tmp/postfix-start.log" 2>&1; then
		why=$(timeout 20 script -qec "ip netns exec $NSS postfix -c \
		    $postfix_conf check" /dev/null </dev/null 2>&1 | tr -d '\r' |
		    tail -2 | tr '\n' ' ')
		why="postfix start failed: ${why:-$(tail -2 \
		    "$tmp/postfix-start.log" | tr '\n' ' ')}"
		return 1
	fi
	if ! wait_for "$WAIT_PORT" listening "$NSS" "$NET_S:25"; then
		why="postfix does not listen on $NET_S:25: $(tail -3 \
		    "$tmp/postfix/maillog" 2>/dev/null | tr '\n' ' ')"
		return 1
	fi
}

start_smtpd() {
	ip netns exec "$NSS" python3 "$top/tests/smtpd.py" --host "$NET_S" \
	    --port 25 --cert "$tmp/cert.pem" --key "$tmp/key.pem" \
	    --lifetime 600 2>"$tmp/smtpd.err" &
	pids="$pids $!"
	wait_for "$WAIT_PORT" listening "$NSS" "$NET_S:25"
}

# start_sensor NAME IFACE: sets the global sw_NAME to its pid.
start_sensor() {
	netns3_sensor "$1" "$2" -f "tcp port 25" --no-syslog
}

# start_relay MODE LOGNAME: sets relay_pid.
start_relay() {
	ip netns exec "$NSM" "$B/tests/relay" -m "$1" -l "$NET_M0:25" \
	    -c "$NET_S:25" 2>"$tmp/relay-$2.err" &
	relay_pid=$!
	pids="$pids $relay_pid"
	wait_for "$WAIT_PORT" grep_or_dead "$tmp/relay-$2.err" \
	    "listening on" "$relay_pid" && alive "$relay_pid"
}

stop_relay() {
	kill_wait "$relay_pid"
}

# swaks_run NAME PORT TLSOPT: one mail from the client namespace through
# the relay, EHLO NAME.client.test, from client port PORT. Sets rc_NAME.
swaks_run() {
	local rc
	timeout "$WAIT_SWAKS" ip netns exec "$NSC" swaks --server "$NET_M0" \
	    --port 25 --local-port "$2" "$3" --ehlo "$1.client.test" \
	    --to a@b.example --from c@d.example >"$tmp/swaks-$1.log" 2>&1
	rc=$?
	eval "rc_$1=$rc"
}

# q NAME SQL: one query on sensor NAME's database.
q() {
	sqlite3 -batch "$tmp/db$1/stripwatch.db" "$2" 2>&1
}

# row NAME HELO COLUMNS: the columns of the one session with that EHLO.
row() {
	q "$1" "SELECT $3 FROM sessions WHERE helo = '$2'"
}

# kinds NAME HELO: the event kinds of that session, comma separated.
kinds() {
	q "$1" "SELECT ifnull(group_concat(e.kind), '') FROM events e JOIN
	    sessions s ON e.session_id = s.id WHERE s.helo = '$2'"
}

# Show the rows behind a failure (and in the log of a passing run).
dump() {
	echo "--- sensor $1 sessions" >&2
	q "$1" "SELECT id, client_port, server_port, helo, starttls_offered,
	    starttls_requested, starttls_reply, tls_established, outcome,
	    tls_version, events, close_reason FROM sessions" >&2
	echo "--- sensor $1 events" >&2
	q "$1" "SELECT session_id, kind, severity, evidence FROM events" >&2
}

# swaks_ok NAME TEST: swaks exited 0, or fail TEST and return 1.
swaks_ok() {
	local rc
	eval "rc=\$rc_$1"
	[ "$rc" -eq 0 ] && return 0
	fail "$2" "swaks exited $rc: $(grep -E '^(\*\*\*|<\*\*)' \
	    "$tmp/swaks-$1.log" | head -3 | tr '\n' ' ')"
	return 1
}

# --- setup
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=mx.server.test \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" >"$tmp/openssl.log" 2>&1 ||
    fail_tests "openssl req failed: $(tail -2 "$tmp/openssl.log")"
setup_net || fail_tests "cannot create the namespaces and veths"
if ! start_postfix; then
	echo "live-e2e: $why; falling back to tests/smtpd.py" >&2
	note=" (server: tests/smtpd.py, not Postfix: $why)"
	if [ -n "$postfix_conf" ]; then
		timeout "$WAIT_EXIT" ip netns exec "$NSS" postfix \
		    -c "$postfix_conf" stop >/dev/null 2>&1
		postfix_conf=""
	fi
	start_smtpd || fail_tests "neither Postfix ($why) nor smtpd.py runs"
fi
start_sensor A m0 || fail_tests "sensor A (m0) did not start: $(tail -3 \
    "$tmp/sensorA.err" | tr '\n' ' ')"
start_sensor B m1 || fail_tests "sensor B (m1) did not start: $(tail -3 \
    "$tmp/sensorB.err" | tr '\n' ' ')"

# --- the three middlebox modes, then SIGHUP and one more session
for mode in pass asa isp; do
	start_relay "$mode" "$mode" ||
	    fail_tests "relay -m $mode did not start: $(tail -2 \
	    "$tmp/relay-$mode.err" | tr '\n' ' ')"
	case $mode in
	pass) swaks_run pass "$PORT_PASS" --tls ;;
	asa) swaks_run asa "$PORT_ASA" --tls-optional ;;
	isp) swaks_run isp "$PORT_ISP" --tls-optional ;;
	esac
	stop_relay
done

start_relay pass hup || fail_tests "relay -m pass did not restart"
sleep "$SETTLE"
kill -HUP "$sw_A" "$sw_B"
sleep "$SETTLE"
hup_alive=1
alive "$sw_A" && alive "$sw_B" || hup_alive=0
swaks_run hup "$PORT_HUP" --tls

# --- a session held open after EHLO, then SIGTERM
ip netns exec "$NSC" python3 - "$NET_M0" "$PORT_HOLD" "$HOLD_MAX" \
    "$tmp/hold.ready" >"$tmp/hold.log" 2>&1 <<'EOF' &
import socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
hold, ready = float(sys.argv[3]), sys.argv[4]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", port))
s.settimeout(hold)
s.connect((host, 25))
f = s.makefile("rb")
greeting = f.readline(1024)
s.sendall(b"EHLO hold.client.test\r\n")
while True:
    line = f.readline(1024)
    if not line or line[3:4] != b"-":
        break
print("greeting", greeting, "last", line, flush=True)
open(ready, "w").close()
time.sleep(hold)
EOF
hold_pid=$!
pids="$pids $hold_pid"
if wait_for "$WAIT_HOLD" test -e "$tmp/hold.ready"; then
	held=1
else
	held=0
fi
sleep "$SETTLE"
term_sensors A B
hold_alive=0
alive "$hold_pid" && hold_alive=1
kill_wait "$hold_pid" "$relay_pid"

# --- checks
T=live-e2e-pass
if swaks_ok pass "$T"; then
	want="1|1|220|1|tls"
	cols="starttls_offered, starttls_requested, starttls_reply,
	    tls_established, outcome"
	a=$(row A pass.client.test "client_port, $cols")
	b=$(row B pass.client.test "$cols")
	if [ "$a" != "$PORT_PASS|$want" ]; then
		fail "$T" "sensor A (client side) reads \"$a\", want" \
		    "\"$PORT_PASS|$want\""
	elif [ "$b" != "$want" ]; then
		fail "$T" "sensor B (server side) reads \"$b\", want \"$want\""
	elif [ -n "$(kinds A pass.client.test)$(kinds B pass.client.test)" ]
	then
		fail "$T" "events raised: A \"$(kinds A pass.client.test)\"" \
		    "B \"$(kinds B pass.client.test)\""
	else
		pass "$T"
	fi
fi

T=live-e2e-asa
if swaks_ok asa "$T"; then
	grep -q '250.XXXXXXXA' "$tmp/swaks-asa.log" ||
	    echo "live-e2e: swaks did not see 250-XXXXXXXA" >&2
	a=$(row A asa.client.test "client_port, starttls_offered, outcome")
	k=$(kinds A asa.client.test)
	case ",$k," in
	*,capability_masked,*)
		if [ "$a" = "$PORT_ASA|0|stripped" ]; then
			pass "$T"
		else
			fail "$T" "sensor A session reads \"$a\", want" \
			    "\"$PORT_ASA|0|stripped\"" \
			    "(port|starttls_offered|outcome)"
		fi ;;
	*) fail "$T" "sensor A (client side): no capability_masked" \
	    "(events \"$k\", session \"$a\")" ;;
	esac
fi

T=live-e2e-isp
if swaks_ok isp "$T"; then
	b=$(row B isp.client.test "starttls_offered, outcome")
	k=$(kinds B isp.client.test)
	case ",$k," in
	*,command_masked,*)
		if [ "$b" = "1|stripped" ]; then
			pass "$T"
		else
			fail "$T" "sensor B session reads \"$b\", want" \
			    "\"1|stripped\" (starttls_offered|outcome)"
		fi ;;
	*) fail "$T" "sensor B (server side): no command_masked" \
	    "(events \"$k\", session \"$b\")" ;;
	esac
fi

T=live-e2e-sighup
if [ "$hup_alive" -ne 1 ]; then
	fail "$T" "a sensor died on SIGHUP: $(tail -2 "$tmp/sensorA.err" \
	    "$tmp/sensorB.err" | tr '\n' ' ')"
elif swaks_ok hup "$T"; then
	a=$(row A hup.client.test "client_port, tls_established, outcome")
	b=$(row B hup.client.test "tls_established, outcome")
	if [ "$a" != "$PORT_HUP|1|tls" ] || [ "$b" != "1|tls" ]; then
		fail "$T" "session after SIGHUP: A \"$a\" (want" \
		    "\"$PORT_HUP|1|tls\"), B \"$b\" (want \"1|tls\")"
	elif ! grep -q "reload" "$tmp/sensorA.err"; then
		fail "$T" "sensor A logged no reload after SIGHUP"
	else
		pass "$T"
	fi
fi

T=live-e2e-sigterm
a=$(row A hold.client.test "client_port, starttls_offered,
    starttls_requested")
b=$(row B hold.client.test "starttls_offered, starttls_requested")
if [ "$held" -ne 1 ] || [ "$hold_alive" -ne 1 ]; then
	fail "$T" "the holding client did not hold a session open" \
	    "(ready $held, alive at SIGTERM $hold_alive: $(tail -2 \
	    "$tmp/hold.log" | tr '\n' ' '))"
elif [ "$exit_A" != 0 ] || [ "$exit_B" != 0 ]; then
	fail "$T" "sensor exit after SIGTERM: A $exit_A, B $exit_B"
elif [ "$a" != "$PORT_HOLD|1|0" ] || [ "$b" != "1|0" ]; then
	fail "$T" "open session not written as expected: A \"$a\" (want" \
	    "\"$PORT_HOLD|1|0\"), B \"$b\" (want \"1|0\")"
else
	pass "$T"
fi

if [ "$failed" -ne 0 ]; then
	dump A
	dump B
	echo "--- sensor A stderr" >&2
	tail -20 "$tmp/sensorA.err" >&2
	echo "--- sensor B stderr" >&2
	tail -20 "$tmp/sensorB.err" >&2
fi
exit "$failed"
