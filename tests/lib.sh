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
