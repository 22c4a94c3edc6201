#!/bin/bash
# live-workers.sh: capture workers joined by PACKET_FANOUT give what one
# process gives. Two network namespaces joined by a veth; stripwatch
# captures on the server side's end.
#
#  1. swaks sends sessions to two small SMTP servers in the server
#     namespace. With workers = 2 each session is seen whole although its
#     requests arrive and its replies leave (the kernel hands the steering
#     program a received packet at its network header, a sent one at its
#     link header), all sessions of one server go to one worker, ids do not
#     collide, and SIGTERM to the supervisor stops both workers with every
#     session written.
#  2. A capture of many servers, each in several sessions that lose,
#     refuse or change their STARTTLS (tools/pcapgen.py gen_servers), is
#     replayed onto the veth (tests/replay.py) for workers = 1 and for
#     workers = 2. Both must give exactly the sessions (tuple, outcome),
#     events (kind, severity, server, count) and servers rows (counts,
#     certificate) that reading the file gives and that the generator
#     states.
#
#   tests/live-workers.sh BUILDDIR
#
# Prints PASS/FAIL/SKIP for tests/run-all. Needs root, python3, swaks,
# sqlite3, ip. Every wait is bounded; the trap kills what it started and
# removes the namespaces.
set -u

B=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
T=live-workers
PER_SERVER=4		# swaks sessions per server in part 1

[ "$(id -u)" -eq 0 ] || { echo "SKIP $T: not root"; exit 0; }
for tool in python3 swaks sqlite3 ip; do
	command -v "$tool" >/dev/null 2>&1 ||
	    { echo "SKIP $T: $tool not installed"; exit 0; }
done
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
[ -x "$B/stripwatch" ] || { echo "FAIL $T: $B/stripwatch not built"; exit 1; }

tmp=$(mktemp -d /tmp/stripwatch-workers.XXXXXX) || exit 1
nc=swwc$$ ns=swws$$	# namespaces, and their ends of the veth
pids=""
cleanup() {
	local p
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	ip netns del "$nc" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
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
ip netns add "$nc" && ip netns add "$ns" &&
    ip link add "$nc" netns "$nc" type veth peer name "$ns" netns "$ns" ||
    fail "cannot create the namespaces"
for n in "$nc" "$ns"; do
	ip netns exec "$n" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1
	ip -n "$n" link set "$n" mtu 9000 up
	ip -n "$n" link set lo up
done
ip -n "$nc" addr add 10.201.0.1/24 dev "$nc"
ip -n "$ns" addr add 10.201.0.2/24 dev "$ns"
ip -n "$ns" addr add 10.201.0.3/24 dev "$ns"

# start_sensor NAME WORKERS: stripwatch on the server's end, database
# $tmp/NAME/stripwatch.db; sets $sw.
start_sensor() {
	mkdir -p "$tmp/$1"
	chown nobody "$tmp/$1"
	printf 'workers = %s\n' "$2" >"$tmp/$1.conf"
	ip netns exec "$ns" "$B/stripwatch" -c "$tmp/$1.conf" -i "$ns" \
	    -d "$tmp/$1/stripwatch.db" --no-syslog -u nobody \
	    2>"$tmp/$1.err" &
	sw=$!
	pids="$pids $sw"
	wait_for 20 grep -qsE "capturing on|capture workers on" \
	    "$tmp/$1.err" ||
	    fail "$1: stripwatch did not start: $(tail -3 "$tmp/$1.err")"
}

# stop_sensor NAME: SIGTERM, exit status 0 within 20 s.
stop_sensor() {
	local rc
	kill -TERM "$sw"
	wait_for 20 eval '! kill -0 $sw 2>/dev/null' ||
	    fail "$1: no exit after SIGTERM"
	wait "$sw"
	rc=$?
	[ "$rc" = 0 ] || fail "$1: exit status $rc: $(tail -3 "$tmp/$1.err")"
}

q() { sqlite3 -batch "$1" "$2"; }

# Sessions of one server seen by more than one worker (ids are worker +
# k * workers): none when each server has one owner.
split_servers() {
	q "$1" "SELECT group_concat(server_ip) FROM (SELECT server_ip FROM
	    sessions GROUP BY server_ip, server_port
	    HAVING count(DISTINCT id % 2) > 1)"
}

# --- 1: real sessions, received requests and sent replies
for a in 10.201.0.2 10.201.0.3; do
	ip netns exec "$ns" python3 "$top/tests/smtpd.py" --host "$a" \
	    --port 25 --port-file "$tmp/port.$a" --lifetime 120 \
	    --no-starttls 2>>"$tmp/smtpd.err" &
	pids="$pids $!"
	wait_for 10 test -s "$tmp/port.$a" || fail "smtpd.py on $a did not start"
done
start_sensor real 2
n=$(pgrep -c -P "$sw" stripwatch)
[ "$n" = 2 ] || fail "$n worker processes, want 2"
for a in 10.201.0.2 10.201.0.3; do
	i=0
	while [ $i -lt $PER_SERVER ]; do
		ip netns exec "$nc" timeout 30 swaks --server "$a" --port 25 \
		    --to a@b.example --from c@d.example >/dev/null 2>&1 ||
		    fail "swaks to $a, run $i failed"
		i=$((i + 1))
	done
done
stop_sensor real
db=$tmp/real/stripwatch.db
all=$((2 * PER_SERVER))
got=$(q "$db" "SELECT count(*), count(DISTINCT id), sum(outcome = 'plaintext'),
    sum(close_reason = 'fin') FROM sessions")
[ "$got" = "$all|$all|$all|$all" ] ||
    fail "sessions (rows|ids|plaintext|fin) = $got, want all $all"
# Every worker names the interface it captured on as the sessions' source.
got=$(q "$db" "SELECT group_concat(DISTINCT ifnull(source, 'NULL'))
    FROM sessions")
[ "$got" = "$ns" ] || fail "sessions.source $got, want $ns"
# Each worker wrote its own counters at the end.
got=$(q "$db" "SELECT group_concat(DISTINCT worker) FROM (SELECT worker
    FROM stats ORDER BY worker)")
[ "$got" = "0,1" ] || fail "stats rows of workers \"$got\", want 0,1"
got=$(split_servers "$db")
[ -z "$got" ] || fail "sessions of $got seen by both workers"

# --- 2: a replayed capture of many servers, 1 worker and 2
PYTHONDONTWRITEBYTECODE=1 python3 - "$top/tools" "$tmp" <<'EOF' ||
import sys
sys.path.insert(0, sys.argv[1])
import pcapgen
want = pcapgen.gen_servers(sys.argv[2] + "/servers.pcap")
for table, rows in want.items():
    with open("%s/want.%s" % (sys.argv[2], table), "w") as f:
        for r in rows:
            f.write("|".join("" if x is None else str(x) for x in r) + "\n")
EOF
    fail "cannot generate the capture"

# dump DB DIR: the three comparable views, sorted, into DIR.
dump() {
	mkdir -p "$2"
	q "$1" "SELECT client_ip, client_port, server_ip, server_port, outcome
	    FROM sessions" | LC_ALL=C sort >"$2/sessions"
	q "$1" "SELECT kind, severity, server_ip, server_port, count(*)
	    FROM events GROUP BY 1, 2, 3, 4" | LC_ALL=C sort >"$2/events"
	q "$1" "SELECT server_ip, server_port, sessions, starttls_offered,
	    starttls_accepted, cert_sha256 FROM servers" |
	    LC_ALL=C sort >"$2/servers"
}

# same WHAT DIR: DIR's views equal the generator's.
same() {
	local t
	for t in sessions events servers; do
		LC_ALL=C sort "$tmp/want.$t" | cmp -s - "$2/$t" ||
		    fail "$1: $t differ from the capture's:
$(LC_ALL=C sort "$tmp/want.$t" | diff - "$2/$t" | head -20)"
	done
}

mkdir "$tmp/file"
"$B/stripwatch" -r "$tmp/servers.pcap" -d "$tmp/file/stripwatch.db" \
    --no-syslog >/dev/null 2>"$tmp/file.err" ||
    fail "reading the capture: $(tail -3 "$tmp/file.err")"
dump "$tmp/file/stripwatch.db" "$tmp/file.views"
same "read from the file" "$tmp/file.views"
vanished=$(grep -c '^starttls_vanished|' "$tmp/want.events")
[ "$vanished" -ge 4 ] || fail "the capture has $vanished vanished servers"

for w in 1 2; do
	start_sensor replay$w $w
	sent=$(ip netns exec "$nc" python3 "$top/tests/replay.py" "$nc" \
	    "$tmp/servers.pcap") || fail "replay failed"
	# The ring hands packets over when a block times out (100 ms).
	sleep 1
	stop_sensor replay$w
	db=$tmp/replay$w/stripwatch.db
	drops=$(q "$db" "SELECT coalesce(sum(value), 0) FROM stats WHERE
	    name IN ('kernel_drops', 'if_drops')")
	[ "$drops" = 0 ] || fail "workers = $w: $drops frames of $sent dropped"
	dump "$db" "$tmp/replay$w.views"
	same "workers = $w" "$tmp/replay$w.views"
done
db=$tmp/replay2/stripwatch.db
got=$(split_servers "$db")
[ -z "$got" ] || fail "workers = 2: sessions of $got seen by both workers"
got=$(q "$db" "SELECT count(DISTINCT id % 2) FROM sessions")
[ "$got" = 2 ] || fail "workers = 2: every server went to one worker"
echo "PASS $T"
