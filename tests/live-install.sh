#!/bin/bash
# live-install.sh: stripwatch as installed. -n checks what a start needs
# (interface set and there, permission to capture, the user, the database
# directory); the installed configuration file is read without -c; make
# install never replaces an edited configuration and make uninstall keeps
# it; installed into the running system, make install creates the user and
# the directories. Prints PASS/FAIL/SKIP for tests/run-all.
#
#   tests/live-install.sh BUILDDIR
#
# Checks that need root (other users, mount namespaces) report SKIP
# without it. Nothing outside a temporary directory is changed: the
# installed file and the install into / happen in a private mount
# namespace with overlays over /etc, /usr, /var and /lib.
set -u

B=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
SW=$B/stripwatch
P=$top/pcaps
failed=0
tmp=$(mktemp -d /tmp/stripwatch-install.XXXXXX) || exit 1
pids=""

cleanup() {
	local p
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

pass() { echo "PASS install-$1"; }
fail() { local t=$1; shift; echo "FAIL install-$t: $*"; failed=1; }
skip() { echo "SKIP install-$1: $2"; }

. "$top/tests/lib.sh"

[ -x "$SW" ] || { echo "FAIL install: $SW not built"; exit 1; }
is_root=0
[ "$(id -u)" -eq 0 ] && is_root=1
chmod 755 "$tmp"

# expect_n NAME STATUS PATTERN ARGS...: stripwatch -n ARGS exits STATUS and
# its output holds PATTERN (a fixed string).
expect_n() {
	local t=$1 want=$2 pat=$3 out rc
	shift 3
	out=$("$SW" -n "$@" 2>&1)
	rc=$?
	if [ $rc -eq "$want" ] && [[ $out == *"$pat"* ]]; then pass "$t"
	else fail "$t" "exit $rc (want $want), output: $out"; fi
}

# --- -n: what a start needs -----------------------------------------------

# The shipped file leaves the interface empty: a live start has nothing to
# capture on, and -n says where to set it.
expect_n preflight-empty-interface 1 \
    "interface is not set: set \"interface\" in $top/conf/stripwatch.conf" \
    -c "$top/conf/stripwatch.conf" -u nobody -d "$tmp/x.db"

expect_n preflight-missing-interface 1 \
    'interface "swnodev0": no such device' -i swnodev0 -d "$tmp/x.db"

expect_n preflight-missing-db-dir 1 \
    "database $tmp/none/x.db: directory $tmp/none does not exist" \
    -r "$P/clean-no-starttls.pcap" -d "$tmp/none/x.db"

expect_n preflight-unreadable-capture 1 "$tmp/none.pcap: No such file" \
    -r "$tmp/none.pcap" -d "$tmp/x.db"

if [ $is_root -eq 1 ]; then
	mkdir "$tmp/db"
	chown nobody "$tmp/db"
	expect_n preflight-ok 0 "configuration OK" -i lo -u nobody \
	    -d "$tmp/db/s.db"

	expect_n preflight-missing-user 1 'user "swnouser" does not exist' \
	    -i lo -u swnouser -d "$tmp/db/s.db"

	expect_n preflight-root-user 1 'user "root" is root' -i lo -u root \
	    -d "$tmp/db/s.db"

	# Root may write there; nobody, whom the start becomes, may not.
	mkdir "$tmp/rootdb"
	expect_n preflight-db-dir-unwritable 1 \
	    "directory $tmp/rootdb is not writable by nobody" \
	    -i lo -u nobody -d "$tmp/rootdb/s.db"

	t=preflight-no-capture-permission
	out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    "$SW" -n -i lo -d "$tmp/db/s.db" 2>&1)
	rc=$?
	if [ $rc -eq 1 ] && [[ $out == *"capturing on lo needs root or CAP_NET_RAW"* ]]
	then pass $t
	else fail $t "exit $rc, output: $out"; fi

	# A comment after the values: -n shows the interface without it, and
	# the sensor starts capturing on it.
	t=preflight-inline-comment
	printf 'interface = "lo"  # the SPAN port\nuser = nobody # not root\n' \
	    >"$tmp/ic.conf"
	out=$("$SW" -n -v -c "$tmp/ic.conf" -d "$tmp/db/s.db" 2>&1)
	rc=$?
	"$SW" -c "$tmp/ic.conf" -f "tcp port 9" -d "$tmp/db/s.db" \
	    --no-syslog 2>"$tmp/ic.err" &
	sw=$!
	pids="$pids $sw"
	started=0
	wait_for 15 grep -qs "capturing on lo " "$tmp/ic.err" && started=1
	kill -TERM $sw 2>/dev/null
	wait $sw
	src=$?
	if [ $rc -eq 0 ] && [[ $out == *'interface = "lo"'* ]] &&
	    [[ $out == *'user = "nobody"'* ]] && [ $started -eq 1 ] &&
	    [ $src -eq 0 ]; then pass $t
	else fail $t "-n exit $rc: $out; start: $started, exit $src:"\
	    "$(head -c 300 "$tmp/ic.err")"; fi
else
	for t in ok missing-user root-user db-dir-unwritable \
	    no-capture-permission inline-comment; do
		skip preflight-$t "not root"
	done
fi

# --- make install / uninstall into DESTDIR --------------------------------

# Another file where the configuration goes; the Makefile's own rules and
# the binary already built, nothing rebuilt.
inst() {
	make -s -C "$top" B="$B" PREFIX=/usr DESTDIR="$tmp/root" "$@" 2>&1
}
conf=$tmp/root/etc/stripwatch/stripwatch.conf

t=destdir-twice-keeps-config
o1=$(inst install)
r1=$?
printf 'interface = eth1  # edited\n' >>"$conf"
o2=$(inst install)
r2=$?
missing=
for f in usr/sbin/stripwatch usr/share/man/man8/stripwatch.8 \
    usr/share/man/man5/stripwatch.conf.5 lib/systemd/system/stripwatch.service \
    usr/lib/sysusers.d/stripwatch.conf usr/lib/tmpfiles.d/stripwatch.conf; do
	[ -s "$tmp/root/$f" ] || missing="$missing $f"
done
if [ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ -z "$missing" ] &&
    [ "$(tail -1 "$conf")" = "interface = eth1  # edited" ] &&
    [[ $o2 == *"kept $conf as it is"* ]] && [ ! -e "$tmp/root/var" ]; then
	pass $t
else fail $t "exit $r1/$r2, missing:$missing, last line: $(tail -1 "$conf")," \
    "output: $o2"; fi

t=uninstall
o3=$(inst uninstall)
r3=$?
left=$(cd "$tmp/root" && find . -type f | sort | tr '\n' ' ')
cp "$top/conf/stripwatch.conf" "$conf"
inst uninstall >/dev/null
if [ $r3 -eq 0 ] && [ "$left" = "./etc/stripwatch/stripwatch.conf " ] &&
    [[ $o3 == *"kept $conf: it was edited"* ]] &&
    [ ! -e "$tmp/root/etc/stripwatch" ]; then pass $t
else fail $t "exit $r3, left after the first: $left;" \
    "after the second: $(cd "$tmp/root" && find . | tr '\n' ' ')"; fi

# --- as installed: the default file, and make install into / ---------------

if [ $is_root -ne 1 ]; then
	skip default-config "not root"
	skip system "not root"
	exit $failed
fi

# in_overlay SCRIPT: run SCRIPT (bash) in a private mount namespace where
# /etc, /usr, /var (and /lib) are overlays whose changes land in $tmp/ov, and
# systemd is not seen running (a daemon-reload or a disable would reach the
# host's). Exits 99 when the overlays cannot be mounted here.
in_overlay() {
	rm -rf "$tmp/ov"
	mkdir -p "$tmp/ov/empty"
	unshare -m bash -c '
		ov=$1
		for d in etc usr var lib; do
			[ -L "/$d" ] && continue	# /lib -> usr/lib
			mkdir -p "$ov/$d.up" "$ov/$d.work"
			mount -t overlay overlay -o "lowerdir=/$d,upperdir=$ov/$d.up,workdir=$ov/$d.work" "/$d" || exit 99
		done
		if [ -d /run/systemd ]; then
			mount --bind "$ov/empty" /run/systemd || exit 99
		fi
		shift
		eval "$1"' sh "$tmp/ov" "$1"
}

# Without -c, stripwatch reads the installed file; -c overrides it; one it
# cannot read is an error naming it, not a silent fall back to defaults.
t=default-config
dc=/etc/stripwatch/stripwatch.conf
out=$(in_overlay "
	mkdir -p /etc/stripwatch
	printf 'max_flows = 1000\n' >$dc
	'$SW' -n -v -r '$P/clean-no-starttls.pcap' -d '$tmp/x.db' | grep max_flows
	printf 'max_flows = 2000\n' >'$tmp/other.conf'
	'$SW' -n -v -c '$tmp/other.conf' -r '$P/clean-no-starttls.pcap' \
	    -d '$tmp/x.db' | grep max_flows
	chmod 600 $dc
	setpriv --reuid=nobody --regid=nogroup --clear-groups '$SW' -n \
	    -r '$P/clean-no-starttls.pcap' -d '$tmp/x.db' 2>&1
	echo \"exit \$?\"" 2>&1)
rc=$?
want="max_flows = 1000
max_flows = 2000
stripwatch: $dc: Permission denied
exit 1"
if [ $rc -eq 99 ]; then skip $t "cannot mount overlays here"
elif [ "$out" = "$want" ]; then pass $t
else fail $t "got: $out"; fi

# make install into the running system: the user, the state and log
# directories, the configuration read from its place by the installed
# binary; make uninstall then leaves the user and the data.
t=system
out=$(in_overlay "
	make -s -C '$top' B='$B' install >/dev/null 2>&1 || echo 'install failed'
	getent passwd stripwatch | cut -d: -f6,7
	stat -c '%U %G %a %n' /var/lib/stripwatch /var/log/stripwatch
	mkdir -p '$tmp/srv' && chown stripwatch '$tmp/srv'
	printf 'interface = lo\ndatabase = $tmp/srv/s.db\n' >>$dc
	/usr/local/sbin/stripwatch -n 2>&1
	cp '$top/conf/stripwatch.conf' $dc
	make -s -C '$top' B='$B' uninstall >/dev/null 2>&1 || echo 'uninstall failed'
	ls /usr/local/sbin/stripwatch $dc 2>&1 | sed 's/.*cannot access //'
	getent passwd stripwatch >/dev/null && echo 'user kept'
	test -d /var/lib/stripwatch && echo 'data kept'" 2>&1)
rc=$?
want="/var/lib/stripwatch:/usr/sbin/nologin
stripwatch stripwatch 750 /var/lib/stripwatch
stripwatch stripwatch 750 /var/log/stripwatch
configuration OK
'/usr/local/sbin/stripwatch': No such file or directory
'$dc': No such file or directory
user kept
data kept"
if [ $rc -eq 99 ]; then skip $t "cannot mount overlays here"
elif [ "$out" = "$want" ]; then pass $t
else fail $t "got: $out"; fi

exit $failed
