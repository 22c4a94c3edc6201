# tests/lib.sh: shell helpers shared by the live tests (sourced, not run).

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
