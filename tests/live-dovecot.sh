#!/bin/bash
# live-dovecot.sh: stripwatch against a real Dovecot, IMAP and POP3,
# through a middlebox that strips, refuses or preempts STARTTLS, in three
# network namespaces joined by two veth pairs:
#
#   client ns              mbox ns                         server ns
#   mailclient.py c0 ---- m0  tests/relay  m1 ---- s0  Dovecot :143 :110
#   10.232.1.1/30   10.232.1.2:143,:110 -> 10.232.2.2  (strict: LOGINDISABLED)
#                                       or 10.232.2.3  (plaintext login
#                         ^ sensor A        ^ sensor B   allowed)
#
# Dovecot runs as a private instance (its own configuration, base and
# state directories, log and mail under the test's temp dir) with STARTTLS
# on a test certificate, disable_plaintext_auth = yes on 10.232.2.2 and no
# on 10.232.2.3, one user and one message that quotes protocol lines. The
# clients are python3's imaplib and poplib (tests/e2e/mailclient.py), each
# session from its own client port. Sensor A captures on m0 (what the
# client sees), sensor B on m1 (what the server sees), each with its own
# database, json_log and syslog_target (a TCP receiver in the middlebox
# namespace). The relay runs once per mode, for both protocols:
#   pass     both log in over STARTTLS/STLS: tls, no event; then an IMAP
#            client that sends LOGIN in the clear despite LOGINDISABLED:
#            Dovecot refuses it, cleartext_credentials high
#   strip    STARTTLS/STLS deleted from the capabilities, to the lenient
#            address: the clients fall back and log in in the clear:
#            cleartext_credentials high and starttls_vanished (sensor A;
#            sensor B saw the offer: cleartext_credentials only)
#   refuse   the relay answers STARTTLS NO / STLS -ERR: starttls_refused
#            high (the server's history says it accepts)
#   preauth  the IMAP greeting made PREAUTH: preauth_greeting high (the
#            server offered STARTTLS before)
# then SIGTERM, and the checks: sessions and events in both databases,
# json_log against the database (tests/jsoncheck.py), the alert lines, and
# the password (and the SASL PLAIN blob that carried it) in none of them.
#
#   tests/live-dovecot.sh BUILDDIR   (needs BUILDDIR/stripwatch and
#                                     BUILDDIR/tests/relay)
#
# Prints PASS/FAIL/SKIP lines for tests/run-all; exits 1 if any failed.
# STRIPWATCH_KEEP_TMP=1 keeps the temp dir (logs, databases) for a look.
# Every wait is bounded; the trap kills every process it started and
# deletes the namespaces (and with them the veths) even on failure.
set -u

B=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/lib.sh"
TESTS="live-dovecot-imap-pass live-dovecot-pop3-pass
    live-dovecot-imap-logindisabled live-dovecot-imap-strip
    live-dovecot-pop3-strip live-dovecot-imap-refuse live-dovecot-pop3-refuse
    live-dovecot-imap-preauth live-dovecot-server-side
    live-dovecot-alerts live-dovecot-no-password"
# Seconds to wait for: a listening port, the sensor's "capturing on"
# line, one client session (its own socket timeouts are 10 s), a process
# to exit after SIGTERM.
WAIT_PORT=20
WAIT_CAPTURE=15
WAIT_CLIENT=30
WAIT_EXIT=20
# Seconds between the last packet and SIGTERM: libpcap hands packets over
# in blocks retired every capture_timeout_ms (100 ms by default).
SETTLE=1
# Test addresses, private, inside the namespaces only. The server side is
# a /29 so that Dovecot has two addresses: strict and lenient.
NET_C=10.232.1.1
NET_M0=10.232.1.2
NET_M1=10.232.2.1
NET_S=10.232.2.2
NET_S2=10.232.2.3
SYSLOG_PORT=5514
# Client ports, one per session, so sensor A's rows can be told apart;
# each session's name starts with its protocol.
declare -A PORT=([imap-pass]=41001 [pop3-pass]=41002
    [imap-logindisabled]=41003 [imap-strip]=41011 [pop3-strip]=41012
    [imap-refuse]=41021 [pop3-refuse]=41022 [imap-preauth]=41031)
MAIL_USER=bob

failed=0

pass() {
	echo "PASS $1"
}

fail() {
	local t=$1
	shift
	echo "FAIL $t: $*"
	failed=1
}

DOVECOT=$(command -v dovecot || echo /usr/sbin/dovecot)
[ -x "$DOVECOT" ] || skip_tests "dovecot not installed (tools/install-deps)"
[ -x /usr/lib/dovecot/imap ] && [ -x /usr/lib/dovecot/pop3 ] ||
    skip_tests "dovecot-imapd or dovecot-pop3d not installed"
for u in dovecot dovenull; do
	id "$u" >/dev/null 2>&1 || skip_tests "no user $u"
done
netns3_start dovecot dv python3 openssl sqlite3 base64 od
# The password: it must reach no database, json_log or alert line. Made
# for this run so that nothing else could hold it by chance.
MAIL_PASS="Dv-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')-pw"
# The SASL PLAIN response that carries it (authzid empty).
MAIL_BLOB=$(printf '\0%s\0%s' "$MAIL_USER" "$MAIL_PASS" | base64 -w0)
pids=""
relay_pids=""

cleanup() {
	[ -n "$pids" ] && kill_wait $pids
	# Dovecot's master gets time to stop its children.
	netns3_delete
	drop_tmp
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# Write the private Dovecot instance under $tmp/dovecot: IMAP and POP3 on
# the two server addresses only (no imaps/pop3s), STARTTLS with the test
# certificate, plaintext login refused on the first address and allowed on
# the second, one user from a passwd-file whose mail (a Maildir, owned by
# nobody) holds one message. Nothing outside the directory is read but the
# packaged binaries and DH parameters.
dovecot_config() {
	local d=$tmp/dovecot m
	m=$d/home/$MAIL_USER/Maildir
	mkdir -p "$d/run" "$d/state" "$m/cur" "$m/new" "$m/tmp" || return 1
	# Read by Dovecot's auth process, which runs as dovecot.
	printf '%s:{PLAIN}%s::::::\n' "$MAIL_USER" "$MAIL_PASS" >"$d/passwd"
	chgrp dovecot "$d/passwd" && chmod 640 "$d/passwd" || return 1
	# Lines a mail about mail quotes: body text, never protocol. "."
	# and ".." are dot-stuffed in a POP3 RETR.
	cat >"$m/new/1700000000.M1P1.dovecot-test" <<-'EOF'
	From: alice@client.test
	To: bob@server.test
	Subject: what a session looks like
	Date: Tue, 14 Nov 2023 22:13:20 +0000
	Message-ID: <quoted-protocol@client.test>

	A session, quoted:
	* CAPABILITY IMAP4rev1 STARTTLS
	a1 LOGIN bob secret
	+OK
	STLS
	USER bob
	..
	.
	That was all.
	EOF
	sed -i 's/$/\r/' "$m/new/1700000000.M1P1.dovecot-test"
	chown -R nobody:nogroup "$d/home"
	cat >"$d/dovecot.conf" <<-EOF
	protocols = imap pop3
	listen = $NET_S, $NET_S2
	base_dir = $d/run
	state_dir = $d/state
	log_path = $d/dovecot.log
	info_log_path = $d/dovecot.log
	ssl = yes
	ssl_cert = <$tmp/cert.pem
	ssl_key = <$tmp/key.pem
	ssl_dh = </usr/share/dovecot/dh.pem
	disable_plaintext_auth = yes
	auth_mechanisms = plain login
	passdb {
	  driver = passwd-file
	  args = scheme=PLAIN $d/passwd
	}
	userdb {
	  driver = static
	  args = uid=nobody gid=nogroup home=$d/home/%u
	}
	mail_location = maildir:~/Maildir
	service imap-login {
	  inet_listener imaps {
	    port = 0
	  }
	}
	service pop3-login {
	  inet_listener pop3s {
	    port = 0
	  }
	}
	local $NET_S2 {
	  disable_plaintext_auth = no
	}
	EOF
}

# Start Dovecot in the server namespace, in the foreground (its pid in
# $pids); on failure leave the reason in $why.
start_dovecot() {
	local a
	why=""
	dovecot_config || { why="cannot write its configuration"; return 1; }
	ip netns exec "$NSS" "$DOVECOT" -F -c "$tmp/dovecot/dovecot.conf" \
	    </dev/null >"$tmp/dovecot.out" 2>&1 &
	pids="$pids $!"
	for a in "$NET_S:143" "$NET_S:110" "$NET_S2:143" "$NET_S2:110"; do
		if ! wait_for "$WAIT_PORT" listening "$NSS" "$a"; then
			why="dovecot does not listen on $a: $(tail -3 \
			    "$tmp/dovecot.out" "$tmp/dovecot/dovecot.log" \
			    2>/dev/null | tr '\n' ' ')"
			return 1
		fi
	done
}

# A syslog receiver for both sensors' syslog_target, in the middlebox
# namespace: every byte received goes to $tmp/syslog.txt.
start_syslog() {
	ip netns exec "$NSM" python3 - "$SYSLOG_PORT" "$tmp/syslog.txt" \
	    "$tmp/syslog.stop" 2>"$tmp/syslog.err" <<-'EOF' &
	import os, selectors, socket, sys, time
	port, out, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3]
	ls = socket.create_server(("127.0.0.1", port))
	sel = selectors.DefaultSelector()
	sel.register(ls, selectors.EVENT_READ)
	end = time.time() + 300
	with open(out, "wb") as f:
	    while time.time() < end and not os.path.exists(stop):
	        for key, _ in sel.select(0.2):
	            if key.fileobj is ls:
	                c, _ = ls.accept()
	                sel.register(c, selectors.EVENT_READ)
	                continue
	            data = key.fileobj.recv(65536)
	            if not data:
	                sel.unregister(key.fileobj)
	                key.fileobj.close()
	            f.write(data)
	            f.flush()
	EOF
	syslog_pid=$!
	pids="$pids $syslog_pid"
	wait_for "$WAIT_PORT" listening "$NSM" "127.0.0.1:$SYSLOG_PORT"
}

# start_sensor NAME IFACE: sets the global sw_NAME to its pid. Its name
# (sensor_name, the syslog HOSTNAME) is dovecot-NAME; json_log goes to
# $tmp/dbNAME/eve.json, alert lines to the syslog receiver. The default
# filter must take IMAP and POP3.
start_sensor() {
	printf 'sensor_name = "dovecot-%s"\nsyslog_target = "127.0.0.1:%s"\n' \
	    "$1" "$SYSLOG_PORT" >"$tmp/sensor$1.conf"
	netns3_sensor "$1" "$2" -c "$tmp/sensor$1.conf" \
	    --json-log "$tmp/db$1/eve.json" --syslog
}

# start_relays MODE SERVER PROTO...: a relay per protocol from m0's
# address to SERVER, its stderr in $tmp/relay-MODE-PROTO.err.
start_relays() {
	local mode=$1 server=$2 proto port log pid
	shift 2
	for proto in "$@"; do
		port=143
		[ "$proto" = pop3 ] && port=110
		log=$tmp/relay-$mode-$proto.err
		ip netns exec "$NSM" "$B/tests/relay" -p "$proto" -m "$mode" \
		    -l "$NET_M0:$port" -c "$server:$port" 2>"$log" &
		pid=$!
		pids="$pids $pid"
		relay_pids="$relay_pids $pid"
		wait_for "$WAIT_PORT" grep_or_dead "$log" "listening on" \
		    "$pid" && alive "$pid" || return 1
	done
}

stop_relays() {
	# shellcheck disable=SC2086
	kill_wait $relay_pids
	relay_pids=""
}

# server_port NAME: the port of the session's protocol.
server_port() {
	case $1 in imap-*) echo 143 ;; pop3-*) echo 110 ;; esac
}

# client NAME ACTION: session NAME from the client namespace through the
# relay; its output in $tmp/client-NAME.log, its exit status in
# $tmp/client-NAME.rc.
client() {
	timeout "$WAIT_CLIENT" ip netns exec "$NSC" python3 \
	    "$top/tests/e2e/mailclient.py" "${1%%-*}" "$2" "$NET_M0" \
	    "$(server_port "$1")" "${PORT[$1]}" "$MAIL_USER" "$MAIL_PASS" \
	    "$tmp/cert.pem" >"$tmp/client-$1.log" 2>&1
	echo $? >"$tmp/client-$1.rc"
}

# q NAME SQL: one query on sensor NAME's database.
q() {
	sqlite3 -batch "$tmp/db$1/stripwatch.db" "$2" 2>&1
}

# kinds NAME WHERE: the events of the sessions WHERE selects, as
# kind:severity sorted and comma separated.
kinds() {
	q "$1" "SELECT ifnull(group_concat(k, ','), '') FROM (SELECT
	    e.kind || ':' || e.severity AS k FROM events e JOIN sessions s ON
	    e.session_id = s.id WHERE $2 ORDER BY k)"
}

# leaks: the files of the sensors' output that hold the password or the
# SASL blob that carried it: databases, -wal, json_log, alert lines,
# stdout and stderr.
leaks() {
	grep -alF -e "$MAIL_PASS" -e "$MAIL_BLOB" "$tmp"/db[AB]/* \
	    "$tmp/syslog.txt" "$tmp"/sensor[AB].out "$tmp"/sensor[AB].err \
	    2>/dev/null | tr '\n' ' '
}

# alert_kinds HOST: the events of the alert lines the syslog receiver got
# from sensor HOST (RFC 5424 messages framed by octet counting), as
# kind:severity sorted and comma separated.
alert_kinds() {
	python3 - "$tmp/syslog.txt" "$1" <<-'EOF'
	import re, sys
	data, host, kinds = open(sys.argv[1], "rb").read(), sys.argv[2], []
	while data:
	    size, _, rest = data.partition(b" ")
	    msg, data = rest[:int(size)].decode(), rest[int(size):]
	    if msg.split(" ")[2] == host:
	        kinds.append("%s:%s" % re.search(
	            r" event=(\S+) severity=(\S+) ", msg).groups())
	print(",".join(sorted(kinds)))
	EOF
}

# check NAME RESULT WANT KINDS: session NAME's client exited 0 and said
# "result: RESULT"; sensor A holds one session from its client port, which
# reads WANT (starttls_offered|starttls_requested|tls_established|outcome,
# after its protocol and server port), with the events KINDS. Fails the
# test live-dovecot-NAME and returns 1 if not.
check() {
	local t=live-dovecot-$1 port=${PORT[$1]} want got k n rc
	want="${1%%-*}|$(server_port "$1")|$3"
	rc=$(cat "$tmp/client-$1.rc")
	n=$(q A "SELECT count(*) FROM sessions WHERE client_port = $port")
	got=$(q A "SELECT $COLS FROM sessions WHERE client_port = $port")
	k=$(kinds A "s.client_port = $port")
	if [ "$rc" != 0 ] || ! grep -qx "result: $2" "$tmp/client-$1.log"
	then
		fail "$t" "the client exited $rc, want \"result: $2\":" \
		    "$(tail -3 "$tmp/client-$1.log" | tr '\n' ' ')"
	elif [ "$n" != 1 ]; then
		fail "$t" "sensor A has $n sessions from client port $port"
	elif [ "$got" != "$want" ]; then
		fail "$t" "sensor A reads \"$got\", want \"$want\" ($COLS)"
	elif [ "$k" != "$4" ]; then
		fail "$t" "sensor A's events \"$k\", want \"$4\""
	else
		return 0
	fi
	return 1
}

# Show the rows behind a failure.
dump() {
	echo "--- sensor $1 sessions" >&2
	q "$1" "SELECT id, client_port, server_ip, server_port, banner,
	    starttls_offered, starttls_requested, starttls_reply,
	    tls_established, outcome, tls_version, events, close_reason
	    FROM sessions" >&2
	echo "--- sensor $1 events" >&2
	q "$1" "SELECT session_id, kind, severity, evidence FROM events" >&2
	echo "--- sensor $1 stderr" >&2
	tail -20 "$tmp/sensor$1.err" >&2
}

# --- setup
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=mail.server.test \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" >"$tmp/openssl.log" 2>&1 ||
    fail_tests "openssl req failed: $(tail -2 "$tmp/openssl.log")"
netns3_setup "$NET_C/30" "$NET_M0/30" "$NET_M1/29" "$NET_S/29" \
    "$NET_S2/29" || fail_tests "cannot create the namespaces and veths"
start_dovecot || fail_tests "$why"
start_syslog || fail_tests "the syslog receiver did not start: $(tail -2 \
    "$tmp/syslog.err" | tr '\n' ' ')"
start_sensor A m0 || fail_tests "sensor A (m0) did not start: $(tail -3 \
    "$tmp/sensorA.err" | tr '\n' ' ')"
start_sensor B m1 || fail_tests "sensor B (m1) did not start: $(tail -3 \
    "$tmp/sensorB.err" | tr '\n' ' ')"

# --- the sessions, mode by mode; the pass sessions come first so that the
# server's history holds its STARTTLS offer and acceptance.
start_relays pass "$NET_S" imap pop3 ||
    fail_tests "relay -m pass did not start"
client imap-pass login
client pop3-pass login
client imap-logindisabled ignore
stop_relays
start_relays strip "$NET_S2" imap pop3 ||
    fail_tests "relay -m strip did not start"
client imap-strip login
client pop3-strip login
stop_relays
start_relays refuse "$NET_S" imap pop3 ||
    fail_tests "relay -m refuse did not start"
client imap-refuse refused
client pop3-refuse refused
stop_relays
start_relays preauth "$NET_S" imap ||
    fail_tests "relay -m preauth did not start"
client imap-preauth preauth
stop_relays

sleep "$SETTLE"
# The password is looked for now too, while the databases' -wal files
# exist (a checkpoint at exit folds them into the database and deletes
# them).
wal=$(ls "$tmp"/db[AB]/stripwatch.db-wal 2>/dev/null | wc -l)
found_live=$(leaks)
term_sensors A B
touch "$tmp/syslog.stop"
kill_wait "$syslog_pid"

# --- checks
COLS="protocol, server_port, starttls_offered, starttls_requested,"
COLS="$COLS tls_established, outcome"

check imap-pass tls "1|1|1|tls" "" && pass live-dovecot-imap-pass
check pop3-pass tls "1|1|1|tls" "" && pass live-dovecot-pop3-pass

# LOGIN sent although the greeting said LOGINDISABLED: Dovecot refuses it,
# but the password crossed the wire.
T=live-dovecot-imap-logindisabled
if check imap-logindisabled rejected "1|0|0|plaintext_offered" \
    "cleartext_credentials:high"; then
	ev=$(q A "SELECT e.evidence FROM events e JOIN sessions s ON
	    e.session_id = s.id WHERE s.client_port =
	    ${PORT[imap-logindisabled]}")
	case $ev in
	*"user=$MAIL_USER"*LOGINDISABLED*) pass "$T" ;;
	*) fail "$T" "evidence \"$ev\" names no user=$MAIL_USER and" \
	    "LOGINDISABLED" ;;
	esac
fi

# The relay says what it deleted: the sensor's verdict means nothing if
# the strip did not happen.
for cap in imap:STARTTLS pop3:STLS; do
	p=${cap%%:*}
	T=live-dovecot-$p-strip
	if ! grep -q "deleted ${cap#*:}" "$tmp/relay-strip-$p.err"; then
		fail "$T" "the relay deleted no ${cap#*:}: $(tail -3 \
		    "$tmp/relay-strip-$p.err" | tr '\n' ' ')"
	elif check "$p-strip" cleartext "0|0|0|stripped" \
	    "cleartext_credentials:high,starttls_vanished:high"; then
		pass "$T"
	fi
done

check imap-refuse refused "1|1|0|refused" "starttls_refused:high" &&
    pass live-dovecot-imap-refuse
check pop3-refuse refused "1|1|0|refused" "starttls_refused:high" &&
    pass live-dovecot-pop3-refuse
check imap-preauth preauth "0|0|0|stripped" "preauth_greeting:high" &&
    pass live-dovecot-imap-preauth

# Sensor B, between the relay and Dovecot, saw what the server sent: the
# offer, never refused, never PREAUTH. Its only events are the passwords
# sent in the clear, high because STARTTLS was offered in those sessions.
T=live-dovecot-server-side
tls_b=$(q B "SELECT count(*) FROM sessions WHERE tls_established = 1")
strip_b=$(q B "SELECT group_concat(server_port || '|' || starttls_offered ||
    '|' || outcome, ',') FROM (SELECT * FROM sessions WHERE server_ip =
    '$NET_S2' ORDER BY server_port)")
k_strip_b=$(kinds B "s.server_ip = '$NET_S2'")
k_b=$(kinds B "1")
cred=cleartext_credentials:high
if [ "$tls_b" != 2 ]; then
	fail "$T" "sensor B saw $tls_b sessions in TLS, want 2"
elif [ "$strip_b" != "110|1|plaintext_offered,143|1|plaintext_offered" ]
then
	fail "$T" "sensor B's sessions with the lenient address read" \
	    "\"$strip_b\", want 110|1|plaintext_offered," \
	    "143|1|plaintext_offered (server_port|starttls_offered|outcome)"
elif [ "$k_strip_b" != "$cred,$cred" ]; then
	fail "$T" "sensor B's events there \"$k_strip_b\", want $cred twice"
elif [ "$k_b" != "$cred,$cred,$cred" ]; then
	fail "$T" "sensor B's events \"$k_b\", want $cred three times" \
	    "(strip twice, LOGINDISABLED)"
else
	pass "$T"
fi

# Both sensors stopped cleanly; json_log holds the database's alerts and
# sessions field for field; every event reached the syslog receiver.
T=live-dovecot-alerts
why=""
for s in A B; do
	eval "rc=\$exit_$s"
	[ "$rc" = 0 ] || why="$why sensor $s exit after SIGTERM: $rc;"
	out=$(python3 "$top/tests/jsoncheck.py" "$tmp/db$s/eve.json" \
	    --db "$tmp/db$s/stripwatch.db" 2>&1) ||
	    why="$why sensor $s json_log: $(echo "$out" | head -3 |
	    tr '\n' ' ');"
	k_db=$(kinds "$s" "1")
	k_sys=$(alert_kinds "dovecot-$s" 2>&1)
	[ -n "$k_db" ] && [ "$k_sys" = "$k_db" ] ||
	    why="$why sensor $s: events \"$k_db\", alert lines \"$k_sys\";"
done
if [ -z "$why" ]; then
	pass "$T"
else
	fail "$T" "$why"
fi

# The password and the SASL blob that carried it are nowhere: databases
# and their -wal (before the exit), json_log, alert lines, the sensors'
# output. The search means something only if they crossed the wire in the
# clear (both protocols logged in so, the IMAP one with AUTHENTICATE
# PLAIN) and the search finds the password where it is (Dovecot's
# passwd-file).
T=live-dovecot-no-password
found=$(leaks)
if ! grep -qF "$MAIL_PASS" "$tmp/dovecot/passwd"; then
	fail "$T" "the search does not find the password where it is"
elif ! grep -qx "result: cleartext" "$tmp/client-imap-strip.log" ||
    ! grep -qx "result: cleartext" "$tmp/client-pop3-strip.log" ||
    ! grep -qx "logged in: AUTHENTICATE PLAIN" \
    "$tmp/client-imap-strip.log"; then
	fail "$T" "no password crossed the wire in the clear: nothing to find"
elif [ "$wal" != 2 ]; then
	fail "$T" "$wal -wal files to search while the sensors ran, want 2"
elif [ -n "$found_live$found" ]; then
	fail "$T" "the password or its SASL blob is in: $found_live$found"
else
	pass "$T"
fi

if [ "$failed" -ne 0 ]; then
	dump A
	dump B
	echo "--- dovecot log" >&2
	tail -20 "$tmp/dovecot/dovecot.log" >&2
fi
exit "$failed"
