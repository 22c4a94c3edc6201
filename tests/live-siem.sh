#!/bin/bash
# live-siem.sh: two sensors, one central rsyslog, with the shipped files.
#
# Three network namespaces: a central host running rsyslogd with
# conf/rsyslog-central.conf, and two sensor hosts, each running stripwatch
# live on a veth (fed by tcpreplay with captures of known tampering) and
# its own rsyslogd with conf/rsyslog-stripwatch.conf, shipping json_log to
# the central host. Sensor B also sends its alerts as RFC 5424 messages
# straight to a second TCP input of the central rsyslogd (syslog_target).
# Halfway, the central rsyslogd is stopped for 10 s while traffic goes on,
# and sensor A's json_log is rotated by logrotate with
# conf/logrotate-stripwatch. At the end:
#
#   siem-central   the central file of each sensor holds every alert and
#                  every session of that sensor's database exactly once,
#                  each line valid JSON per doc/stripwatch.schema.json,
#                  naming its sensor (tests/jsoncheck.py)
#   siem-rotate    sensor A's rotated and current json_log hold every row
#                  of its database once, no line split or lost
#   siem-rfc5424   the central rsyslogd parsed every alert of sensor B as
#                  RFC 5424 (HOSTNAME the sensor, MSGID the kind, the SD-ID
#                  with the configured enterprise number) exactly once,
#                  across the outage
#
# and first, without root, siem-sql: the README's "Several sensors" SQL
# recipe, taken from the README as it is, on two databases written by two
# sensors, gives the per-sensor and combined counts of each database.
#
#   tests/live-siem.sh BUILDDIR
#
# Every daemon is started here with private configuration, pid, spool and
# output paths (never the system's rsyslog) and stopped by the trap; every
# wait is bounded. Needs root, rsyslogd, tcpreplay, logrotate, sqlite3.
set -u

B=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
T=siem
NSC=swsiem-c
NSA=swsiem-a
NSB=swsiem-b
PEN=99999		# syslog_enterprise of sensor B
OUTAGE_S=10

case $B in /*) ;; *) B=$(pwd)/$B ;; esac
[ -x "$B/stripwatch" ] || { echo "FAIL $T: $B/stripwatch not built"; exit 1; }

# siem-sql: the recipe on two databases of two named sensors.
sql_recipe() {
	local d
	d=$(mktemp -d /tmp/stripwatch-sql.XXXXXX) || return 1
	printf 'sensor_name = mx1\n' >"$d/1.conf"
	printf 'sensor_name = mx2\n' >"$d/2.conf"
	"$B/stripwatch" -c "$d/1.conf" -r "$top/pcaps/pos-asa-exchange.pcap" \
	    -r "$top/pcaps/clean-starttls-tls12.pcap" -d "$d/mx1.db" \
	    >/dev/null 2>&1 &&
	"$B/stripwatch" -c "$d/2.conf" -r "$top/pcaps/clean-interleaved.pcap" \
	    -r "$top/pcaps/pos-asa-masked.pcap" -d "$d/mx2.db" \
	    >/dev/null 2>&1 || { echo "FAIL $T-sql: stripwatch failed"; return; }
	sed -n "/^    sqlite3 -readonly mx1.db <<'SQL'\$/,/^    SQL\$/p" \
	    "$top/README" | sed '1d;$d;s/^    //' >"$d/recipe.sql"
	(cd "$d" && sqlite3 -readonly mx1.db <recipe.sql) >"$d/got" 2>&1
	python3 - "$d" <<'PY' >"$d/want"
import collections, sqlite3, sys
d = sys.argv[1]
ev, ses = collections.Counter(), collections.Counter()
for db in ("mx1.db", "mx2.db"):
    c = sqlite3.connect("%s/%s" % (d, db))
    name = c.execute("SELECT name FROM sensor").fetchone()[0]
    ev.update((name, k) for (k,) in c.execute("SELECT kind FROM events"))
    ses.update((name, o) for (o,) in c.execute(
        "SELECT outcome FROM sessions"))
for (n, k), c in sorted(ev.items()):
    print("%s|%s|%d" % (n, k, c))
for (n, o), c in sorted(ses.items()):
    print("%s|%s|%d" % (n, o, c))
total = collections.Counter()
for (n, k), c in ev.items():
    total[k] += c
for k, c in sorted(total.items()):
    print("%s|%d" % (k, c))
PY
	if [ -s "$d/recipe.sql" ] && grep -q '^mx1|' "$d/want" &&
	    grep -q '^mx2|' "$d/want" && cmp -s "$d/got" "$d/want"; then
		echo "PASS $T-sql"
	else
		echo "FAIL $T-sql: recipe gave: $(head -c 300 "$d/got")" \
		    "want: $(head -c 300 "$d/want")"
		failed=1
	fi
	rm -rf "$d"
}
failed=0
sql_recipe

[ "$(id -u)" -eq 0 ] || {
	for t in central rotate rfc5424; do echo "SKIP $T-$t: not root"; done
	exit $failed
}
for tool in rsyslogd tcpreplay logrotate sqlite3 python3; do
	command -v "$tool" >/dev/null 2>&1 || {
		for t in central rotate rfc5424; do
			echo "SKIP $T-$t: $tool not installed"
		done
		exit $failed
	}
done

tmp=$(mktemp -d /tmp/stripwatch-siem.XXXXXX) || exit 1
chmod 755 "$tmp"
pids=""

cleanup() {
	local p ns
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	for ns in $NSC $NSA $NSB; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

pass() { echo "PASS $T-$1"; }
fail() { local t=$1; shift; echo "FAIL $T-$t: $*"; failed=1; }
abort() {
	echo "FAIL $T: $*"
	exit 1
}

. "$top/tests/lib.sh"

alive() { kill -0 "$1" 2>/dev/null; }

# Leftovers of an interrupted run would hold the names.
for ns in $NSC $NSA $NSB; do ip netns del "$ns" 2>/dev/null; done

# Central 10.232.1.1 and .2.1; sensor A 10.232.1.2, sensor B 10.232.2.2;
# each sensor also has a veth pair rep0 -> cap0 to replay captures onto.
setup_net() {
	local n
	ip netns add $NSC && ip netns add $NSA && ip netns add $NSB || return 1
	ip link add a0 netns $NSC type veth peer name up0 netns $NSA &&
	ip link add b0 netns $NSC type veth peer name up0 netns $NSB &&
	ip -n $NSC addr add 10.232.1.1/30 dev a0 &&
	ip -n $NSC addr add 10.232.2.1/30 dev b0 &&
	ip -n $NSA addr add 10.232.1.2/30 dev up0 &&
	ip -n $NSB addr add 10.232.2.2/30 dev up0 || return 1
	for n in $NSA $NSB; do
		ip link add rep0 netns $n type veth peer name cap0 netns $n &&
		ip netns exec $n sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 &&
		ip -n $n link set rep0 up && ip -n $n link set cap0 up &&
		ip -n $n link set up0 up && ip -n $n link set lo up || return 1
	done
	ip -n $NSC link set a0 up && ip -n $NSC link set b0 up &&
	ip -n $NSC link set lo up
}

# The central rsyslogd: the shipped file with this test's paths, plus a
# second input for sensor B's own RFC 5424 messages, written as rsyslog
# parsed them.
central_config() {
	mkdir -p "$tmp/c/spool" "$tmp/c/out" || return 1
	sed -e "s|/var/log/stripwatch-central|$tmp/c/out|g" \
	    "$top/conf/rsyslog-central.conf" >"$tmp/c/central.conf" || return 1
	cat >"$tmp/c/rsyslog.conf" <<-EOF
	global(workDirectory="$tmp/c/spool")
	include(file="$tmp/c/central.conf")
	template(name="swt_parsed" type="string"
	    string="%hostname% %app-name% %msgid% %structured-data%\n")
	input(type="imtcp" port="6515" ruleset="swt_rfc5424")
	ruleset(name="swt_rfc5424") {
	    action(type="omfile" file="$tmp/c/out/rfc5424.log"
	           template="swt_parsed")
	    stop
	}
	EOF
}

start_central() {
	ip netns exec $NSC rsyslogd -n -f "$tmp/c/rsyslog.conf" \
	    -i "$tmp/c/rsyslogd.pid" >>"$tmp/c/rsyslogd.log" 2>&1 &
	central=$!
	pids="$pids $central"
	wait_for 10 eval 'ip netns exec $NSC ss -Hltn "sport = :6514" |
	    grep -q LISTEN'
}

stop_central() {
	kill -TERM "$central"
	wait_for 10 eval '! alive $central' || return 1
	wait "$central" 2>/dev/null
	return 0
}

# sensor NAME NS CENTRAL_IP EXTRA_CONF: its rsyslogd (the shipped file,
# this test's paths and central host) and stripwatch, live on cap0 as
# nobody.
sensor() {
	local name=$1 ns=$2 cip=$3 d=$tmp/$1
	mkdir -p "$d/spool" "$d/sw" || return 1
	chown nobody "$d/sw"
	sed -e "s|/var/log/stripwatch/eve.json|$d/sw/eve.json|" \
	    -e "s|collector.example.net|$cip|" \
	    "$top/conf/rsyslog-stripwatch.conf" >"$d/sensor.conf" || return 1
	printf 'global(workDirectory="%s")\ninclude(file="%s")\n' \
	    "$d/spool" "$d/sensor.conf" >"$d/rsyslog.conf"
	ip netns exec "$ns" rsyslogd -n -f "$d/rsyslog.conf" \
	    -i "$d/rsyslogd.pid" >>"$d/rsyslogd.log" 2>&1 &
	pids="$pids $!"
	printf 'sensor_name = %s\njson_log = "%s"\nstats_interval = 2\n%s' \
	    "$name" "$d/sw/eve.json" "$4" >"$d/stripwatch.conf"
	ip netns exec "$ns" "$B/stripwatch" -c "$d/stripwatch.conf" -i cap0 \
	    -d "$d/sw/stripwatch.db" -u nobody $5 >"$d/stripwatch.out" \
	    2>"$d/stripwatch.err" &
	eval "sw_${name//-/_}=\$!"
	pids="$pids $!"
	wait_for 15 grep -qs "capturing on cap0" "$d/stripwatch.err"
}

replay() {
	local ns=$1 f
	shift
	for f in "$@"; do
		ip netns exec "$ns" tcpreplay -q -t -i rep0 "$top/pcaps/$f" \
		    >/dev/null 2>&1 || return 1
	done
}

# alerts_in FILE: JSON alert lines in a central file.
alerts_in() {
	grep -c '"event_type":"alert"' "$1" 2>/dev/null || echo 0
}

stop_sensor() {
	local pid=$1
	kill -TERM "$pid"
	wait_for 20 eval '! alive $pid' || return 1
	wait "$pid"
}

setup_net || abort "cannot build the namespaces"
central_config || abort "cannot write the central configuration"
start_central || abort "central rsyslogd did not listen: $(tail -3 \
    "$tmp/c/rsyslogd.log")"
sensor siem-a $NSA 10.232.1.1 "" "--no-syslog" ||
    abort "sensor A did not start: $(tail -3 "$tmp/siem-a/stripwatch.err")"
sensor siem-b $NSB 10.232.2.1 "$(printf 'syslog = yes\nalert_format = %s\nsyslog_target = 10.232.2.1:6515\nsyslog_enterprise = %s\n' rfc5424 $PEN)" "" ||
    abort "sensor B did not start: $(tail -3 "$tmp/siem-b/stripwatch.err")"

# Round 1, the central host up.
for ns in $NSA $NSB; do
	replay $ns pos-asa-masked.pcap pos-cmd-masked.pcap ||
	    abort "tcpreplay failed in $ns"
done
wait_for 30 eval '[ "$(alerts_in "$tmp/c/out/siem-a.json")" -ge 2 ] &&
    [ "$(alerts_in "$tmp/c/out/siem-b.json")" -ge 2 ]' ||
    abort "round 1 did not reach the central host: $(ls "$tmp/c/out")"

# Round 2 while the central rsyslogd is down; sensor A's json_log is
# rotated in the middle of it.
stop_central || abort "central rsyslogd did not stop"
down_at=$(date +%s)
replay $NSA pos-refused-454.pcap
replay $NSB pos-refused-454.pcap pos-plaintext-after-starttls.pcap
sleep 2			# the rows of the first replay are written
sed -e "s|/var/log/stripwatch/eve.json|$tmp/siem-a/sw/eve.json|" \
    -e "s|systemctl kill .*|kill -HUP $sw_siem_a|" \
    "$top/conf/logrotate-stripwatch" >"$tmp/logrotate.conf"
logrotate -f -s "$tmp/logrotate.state" "$tmp/logrotate.conf" \
    >"$tmp/logrotate.out" 2>&1 ||
    fail rotate "logrotate: $(head -c 300 "$tmp/logrotate.out")"
replay $NSA pos-plaintext-after-starttls.pcap
while [ $(($(date +%s) - down_at)) -lt $OUTAGE_S ]; do sleep 0.5; done
start_central || abort "central rsyslogd did not come back"

# Round 3, the central host back.
for ns in $NSA $NSB; do
	replay $ns pos-cmd-injection.pcap pos-resp-injection.pcap
done
sleep 2
for name in siem-a siem-b; do
	eval "pid=\$sw_${name//-/_}"
	stop_sensor "$pid" ||
	    fail central "$name: exit $?: $(tail -3 "$tmp/$name/stripwatch.err")"
done

# Everything each database holds must reach the central files, once.
check_central() {
	python3 "$top/tests/jsoncheck.py" "$tmp/c/out/$1.json" --db \
	    "$tmp/$1/sw/stripwatch.db"
}
wait_for 60 eval 'check_central siem-a >/dev/null &&
    check_central siem-b >/dev/null'
for name in siem-a siem-b; do
	db=$tmp/$name/sw/stripwatch.db
	kinds=$(sqlite3 "$db" "SELECT group_concat(DISTINCT kind) FROM
	    (SELECT kind FROM events ORDER BY kind)")
	n=$(sqlite3 "$db" "SELECT count(*) FROM events")
	s=$(sqlite3 "$db" "SELECT count(*) FROM sessions")
	out=$(check_central $name)
	case ",$kinds," in
	*,capability_masked,*command_masked,*plaintext_after_starttls,*starttls_injection,*starttls_refused,*) ;;
	*) out="$out; kinds found: $kinds" ;;
	esac
	if [ -z "$out" ] && [ "$s" -eq 6 ] && [ "$n" -ge 6 ]; then
		pass "central-$name"
	else
		fail "central-$name" "$n events, $s sessions (want 6):" \
		    "$(echo "$out" | head -3)"
	fi
done
if [ -s "$tmp/c/out/unparsed.log" ]; then
	fail central "unparsed lines: $(head -c 300 "$tmp/c/out/unparsed.log")"
fi

# Sensor A's own files: the rotated one and the new one, every row once.
a=$tmp/siem-a/sw
if [ -s "$a/eve.json.1" ] && [ -s "$a/eve.json" ] &&
    cat "$a/eve.json.1" "$a/eve.json" >"$tmp/a-all.json" &&
    out=$(python3 "$top/tests/jsoncheck.py" "$tmp/a-all.json" --db \
    "$a/stripwatch.db"); then
	pass rotate
else
	fail rotate "$(ls -l "$a") $out"
fi

# Sensor B's RFC 5424 alerts as the central rsyslogd parsed them.
out=$(python3 - "$tmp/c/out/rfc5424.log" "$tmp/siem-b/sw/stripwatch.db" \
    "$PEN" <<'PY'
import collections, re, sqlite3, sys
log, db, pen = sys.argv[1:]
want = collections.Counter(
    (str(sid), kind) for sid, kind in sqlite3.connect(db).execute(
        "SELECT session_id, kind FROM events"))
got = collections.Counter()
for line in open(log, encoding="ascii"):
    host, app, msgid, sd = line.rstrip("\n").split(" ", 3)
    m = re.match(r'\[stripwatch@%s event="([a-z_]+)" .*sensor="([^"]+)" '
                 r'session="(\d+)" ' % pen, sd)
    if host != "siem-b" or app != "stripwatch" or not m or \
            m.group(1) != msgid or m.group(2) != host:
        print("unexpected line: %r" % line[:200])
        continue
    got[(m.group(3), msgid)] += 1
if got != want:
    print("parsed %s, database %s" % (sorted(got.items()),
                                      sorted(want.items())))
PY
)
if [ -z "$out" ] && [ -s "$tmp/c/out/rfc5424.log" ]; then pass rfc5424
else fail rfc5424 "$out"; fi

[ $failed -eq 0 ] || {
	for f in c/rsyslogd.log siem-a/stripwatch.err siem-b/stripwatch.err \
	    siem-a/rsyslogd.log siem-b/rsyslogd.log; do
		echo "--- $f"
		tail -5 "$tmp/$f"
	done
} | sed 's/^/  /'
exit $failed
