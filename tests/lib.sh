# tests/lib.sh: shell helpers shared by the live tests (sourced, not run).

# make_tmp NAME: a private directory in $tmp, removed at exit after the
# background processes whose pids are listed in $pids are stopped.
make_tmp() {
	tmp=$(mktemp -d "/tmp/stripwatch-$1.XXXXXX") || exit 1
	pids=""
	trap 'remove_tmp' EXIT
	trap 'exit 1' INT TERM HUP
}

remove_tmp() {
	local p
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}

# wait_for SECONDS COMMAND...: run COMMAND every 0.1 s until it succeeds;
# 1 if it never did within SECONDS. Every wait in the tests is bounded.
wait_for() {
	local n=$(($1 * 10))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# hold_db DB SECONDS write|read: another process takes DB's write lock, or
# reads DB in one transaction, and keeps it SECONDS; returns once it holds
# it, its pid in $holder (and in $pids).
hold_db() {
	rm -f "$1.held"
	python3 - "$1" "$1.held" "$2" "$3" <<'PY' &
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
if sys.argv[4] == "write":
    db.execute("BEGIN IMMEDIATE")
else:
    db.execute("BEGIN")
    db.execute("SELECT count(*) FROM sqlite_master").fetchone()
open(sys.argv[2], "w").close()
time.sleep(float(sys.argv[3]))
db.execute("COMMIT")
PY
	holder=$!
	pids="$pids $holder"
	wait_for 10 test -e "$1.held"
}

# hold_write_lock DB SECONDS: hold_db's writer, its pid in $locker.
hold_write_lock() {
	hold_db "$1" "$2" write
	locker=$holder
}

# full_disk DIR: a 256 KiB tmpfs on DIR (the caller unmounts it) holding a
# database DIR/f.db made by $SW from $P's captures, with room left to open
# it (its -shm) and none to write rows; 1 if no tmpfs can be mounted here.
full_disk() {
	mkdir -p "$1"
	mount -t tmpfs -o size=256k tmpfs "$1" 2>/dev/null || return 1
	"$SW" -r "$P/clean-no-starttls.pcap" -d "$1/f.db" >/dev/null 2>&1
	dd if=/dev/zero of="$1/spare" bs=1k count=40 2>/dev/null
	dd if=/dev/zero of="$1/fill" bs=4k 2>/dev/null
	rm "$1/spare"
}

# skip_tests WHY, fail_tests WHY: for a script that cannot run at all,
# one SKIP or FAIL line for each test named in $TESTS, then exit 0 or 1.
skip_tests() {
	local t
	for t in $TESTS; do
		echo "SKIP $t: $1"
	done
	exit 0
}

fail_tests() {
	local t
	for t in $TESTS; do
		echo "FAIL $t: $1"
	done
	exit 1
}

# drop_tmp: remove $tmp, or keep it for a look (and say where) when
# STRIPWATCH_KEEP_TMP is set.
drop_tmp() {
	if [ -n "${STRIPWATCH_KEEP_TMP:-}" ]; then
		echo "${0##*/}: kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}

# --- three network namespaces, client / middlebox / server, joined by
# two veth pairs: c0 (client) to m0, m1 to s0 (server). The caller sets
# NSC, NSM and NSS to their names and WAIT_EXIT to the seconds a process
# gets to exit after SIGTERM.

alive() {
	kill -0 "$1" 2>/dev/null
}

# kill_wait PID...: SIGTERM, then SIGKILL what is left after WAIT_EXIT.
kill_wait() {
	local p n
	for p in "$@"; do
		kill "$p" 2>/dev/null
	done
	for p in "$@"; do
		n=$((WAIT_EXIT * 10))
		while kill -0 "$p" 2>/dev/null && [ "$n" -gt 0 ]; do
			sleep 0.1
			n=$((n - 1))
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
}

# ns_empty NS: no process left in the namespace (or it does not exist).
ns_empty() {
	[ -z "$(ip netns pids "$1" 2>/dev/null)" ]
}

# listening NS ADDR:PORT: whether a TCP socket listens there.
listening() {
	[ -n "$(ip netns exec "$1" ss -Hltn "src $2" 2>/dev/null)" ]
}

# grep_or_dead FILE PATTERN PID: the pattern is in the file, or PID died.
grep_or_dead() {
	grep -qs "$2" "$1" || ! alive "$3"
}

# netns3_start NAME PREFIX TOOL...: what a namespace test checks and
# makes first: root, the tools, the user nobody, $B/stripwatch and
# $B/tests/relay (B made absolute), a temp dir $tmp that the sensor's user
# can enter (/tmp/stripwatch-live-NAME.*), and the names NSC, NSM, NSS of
# the namespaces (PREFIX, c/m/s, this shell's pid). Skips or fails every
# test of $TESTS when one is missing.
netns3_start() {
	local name=$1 prefix=$2 tool
	shift 2
	[ "$(id -u)" -eq 0 ] ||
	    skip_tests "not root (namespaces and capture need it)"
	for tool in ip ss "$@"; do
		command -v "$tool" >/dev/null 2>&1 ||
		    skip_tests "$tool not installed"
	done
	id nobody >/dev/null 2>&1 || skip_tests "no user nobody"
	case $B in /*) ;; *) B=$(pwd)/$B ;; esac
	[ -x "$B/stripwatch" ] || fail_tests "$B/stripwatch not built"
	[ -x "$B/tests/relay" ] || fail_tests "$B/tests/relay not built"
	tmp=$(mktemp -d "/tmp/stripwatch-live-$name.XXXXXX") ||
	    fail_tests "mktemp"
	chmod 755 "$tmp"
	NSC=${prefix}c$$
	NSM=${prefix}m$$
	NSS=${prefix}s$$
}

# netns3_sensor NAME IFACE OPTION...: a sensor in the middlebox namespace
# capturing on IFACE as nobody, into $tmp/dbNAME/stripwatch.db (the
# directory is the sensor's), its output in $tmp/sensorNAME.out and .err,
# its pid in sw_NAME (and in $pids); 1 if it died before its "capturing
# on" line.
netns3_sensor() {
	local name=$1 ifc=$2 pid
	shift 2
	mkdir "$tmp/db$name" && chown nobody "$tmp/db$name" || return 1
	ip netns exec "$NSM" "$B/stripwatch" -i "$ifc" \
	    -d "$tmp/db$name/stripwatch.db" -u nobody "$@" \
	    >"$tmp/sensor$name.out" 2>"$tmp/sensor$name.err" &
	pid=$!
	pids="$pids $pid"
	eval "sw_$name=$pid"
	wait_for "$WAIT_CAPTURE" grep_or_dead "$tmp/sensor$name.err" \
	    "capturing on" "$pid"
	alive "$pid" || return 1
	grep -q "capturing on" "$tmp/sensor$name.err" ||
	    echo "${0##*/}: sensor $name: no \"capturing on\" line after" \
	    "${WAIT_CAPTURE}s; going on" >&2
}

# term_sensors NAME...: SIGTERM to the sensors whose pids are in sw_NAME,
# all at once; then each one's exit status in exit_NAME, or why there is
# none after WAIT_EXIT.
term_sensors() {
	local s pid late="still running ${WAIT_EXIT}s after SIGTERM"
	for s in "$@"; do
		eval "pid=\$sw_$s"
		kill -TERM "$pid"
	done
	for s in "$@"; do
		eval "pid=\$sw_$s"
		if wait_for "$WAIT_EXIT" eval "! alive $pid"; then
			wait "$pid"
			eval "exit_$s=$?"
		else
			eval "exit_$s=\$late"
		fi
	done
}

# netns3_setup C0 M0 M1 S0...: the namespaces and veths with these
# addresses (ADDR/PREFIX; s0 may have several).
netns3_setup() {
	local a
	ip netns add "$NSC" && ip netns add "$NSM" && ip netns add "$NSS" &&
	ip link add c0 netns "$NSC" type veth peer name m0 netns "$NSM" &&
	ip link add m1 netns "$NSM" type veth peer name s0 netns "$NSS" &&
	ip -n "$NSC" addr add "$1" dev c0 &&
	ip -n "$NSM" addr add "$2" dev m0 &&
	ip -n "$NSM" addr add "$3" dev m1 || return 1
	shift 3
	for a in "$@"; do
		ip -n "$NSS" addr add "$a" dev s0 || return 1
	done
	ip -n "$NSC" link set lo up && ip -n "$NSM" link set lo up &&
	ip -n "$NSS" link set lo up &&
	ip -n "$NSC" link set c0 up && ip -n "$NSM" link set m0 up &&
	ip -n "$NSM" link set m1 up && ip -n "$NSS" link set s0 up
}

# netns3_delete: once the server namespace has emptied (its daemons stop
# their children) or WAIT_EXIT passed, kill whatever still runs in the
# namespaces (this test started it) and delete them, veths and all.
netns3_delete() {
	local ns
	wait_for "$WAIT_EXIT" ns_empty "$NSS"
	for ns in "$NSC" "$NSM" "$NSS"; do
		ip netns pids "$ns" 2>/dev/null | while read -r p; do
			kill -KILL "$p" 2>/dev/null
		done
	done
	for ns in "$NSC" "$NSM" "$NSS"; do
		ip netns del "$ns" 2>/dev/null
	done
}
