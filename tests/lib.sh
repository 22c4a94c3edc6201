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
