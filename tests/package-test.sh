#!/bin/bash
# package-test.sh: the Debian package as an operator meets it. Builds it
# (make deb), runs lintian (no error, no warning), installs it with apt-get,
# checks what the installation made (user, directories, conffile, enabled
# unit), runs stripwatch -n and stripwatch -r on a bundled capture as the
# packaged user, then removes and purges it: remove keeps the configuration
# and the data, purge takes both, the user stays.
#
#   tests/package-test.sh
#
# Needs root and tools/install-deps --package; reports SKIP otherwise, and
# when stripwatch is already installed on this machine (the test would
# replace and then purge it). Prints PASS/FAIL/SKIP lines; exit 1 on FAIL.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
T=package
failed=0
installed=0
log=$(mktemp /tmp/stripwatch-package.XXXXXX) || exit 1

cleanup() {
	[ $installed -eq 1 ] && dpkg --purge stripwatch >/dev/null 2>&1
	rm -f "$log"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

pass() { echo "PASS $T-$1"; }
fail() { local t=$1; shift; echo "FAIL $T-$t: $*"; failed=1; }

[ "$(id -u)" -eq 0 ] || { echo "SKIP $T: not root"; exit 0; }
for tool in dpkg-buildpackage dh lintian apt-get sqlite3; do
	command -v $tool >/dev/null 2>&1 || {
		echo "SKIP $T: $tool missing (tools/install-deps --package)"
		exit 0
	}
done
if dpkg-query -W -f='${Status}' stripwatch 2>/dev/null | grep -q installed ||
    [ -e /etc/stripwatch ] || [ -e /usr/sbin/stripwatch ]; then
	echo "SKIP $T: stripwatch is installed on this machine"
	exit 0
fi

version=$(sed -n 's/^VERSION[[:space:]]*=[[:space:]]*//p' "$top/Makefile")
arch=$(dpkg --print-architecture)
deb=$top/build/deb/stripwatch_${version}_$arch.deb
changes=$top/build/deb/stripwatch_${version}_$arch.changes

t=build
if ! make -C "$top" deb >"$log" 2>&1; then
	fail $t "make deb failed: $(tail -20 "$log")"
	exit 1
fi
if [ -s "$deb" ] && [ "$(dpkg-parsechangelog -l "$top/debian/changelog" \
    -S Version)" = "$version" ]; then pass $t
else fail $t "no $deb, or debian/changelog is not at version $version"
	exit 1
fi

t=lintian
if out=$(lintian --fail-on error,warning "$changes" 2>/dev/null); then
	pass $t
else fail $t "$out"; fi

t=install
export DEBIAN_FRONTEND=noninteractive
if apt-get install -y -q -o DPkg::Lock::Timeout=300 "$deb" >"$log" 2>&1
then installed=1; pass $t
else fail $t "$(tail -20 "$log")"; exit 1; fi

# The user, its directories, the conffile, the enabled unit, the pages.
t=installed
problems=
getent passwd stripwatch >/dev/null || problems="$problems no-user"
for d in /var/lib/stripwatch /var/log/stripwatch; do
	[ "$(stat -c '%U %a' $d 2>/dev/null)" = "stripwatch 750" ] ||
	    problems="$problems $d:$(stat -c '%U-%a' $d 2>&1)"
done
dpkg-query -W -f='${Conffiles}' stripwatch |
    grep -q '^ /etc/stripwatch/stripwatch.conf ' ||
    problems="$problems not-a-conffile"
[ -L /etc/systemd/system/multi-user.target.wants/stripwatch.service ] ||
    problems="$problems unit-not-enabled"
for f in /usr/share/man/man8/stripwatch.8.gz \
    /usr/share/man/man5/stripwatch.conf.5.gz \
    /usr/lib/sysusers.d/stripwatch.conf /usr/lib/tmpfiles.d/stripwatch.conf; do
	[ -s $f ] || problems="$problems missing:$f"
done
[ -z "$problems" ] && pass $t || fail $t "$problems"

# As shipped, the configuration names no interface: -n says to set it;
# with one, everything a start needs is there.
t=preflight
o1=$(stripwatch -n 2>&1)
r1=$?
o2=$(stripwatch -n -i lo 2>&1)
r2=$?
if [ $r1 -eq 1 ] && [[ $o1 == *'interface is not set: set "interface" in /etc/stripwatch/stripwatch.conf'* ]] &&
    [ $r2 -eq 0 ] && [ "$o2" = "configuration OK" ]; then pass $t
else fail $t "-n: exit $r1, $o1; -n -i lo: exit $r2, $o2"; fi

# The packaged user reads a bundled capture into its state directory.
t=read-capture
db=/var/lib/stripwatch/package-test.db
out=$(runuser -u stripwatch -- stripwatch \
    -r /usr/share/doc/stripwatch/examples/pos-asa-masked.pcap -d $db 2>&1)
rc=$?
n=$(sqlite3 -batch $db "SELECT count(*) FROM events WHERE
    kind = 'capability_masked'" 2>&1)
if [ $rc -eq 0 ] && [[ $out == event=capability_masked* ]] && [ "$n" = 1 ] &&
    [ "$(stat -c %U $db)" = stripwatch ]; then pass $t
else fail $t "exit $rc, $n events, output: $out"; fi

# Remove keeps the edited configuration and the data; purge takes both
# and the enablement; the user stays.
t=remove
echo "# edited" >>/etc/stripwatch/stripwatch.conf
dpkg -r stripwatch >"$log" 2>&1
rc=$?
if [ $rc -eq 0 ] && [ ! -e /usr/sbin/stripwatch ] &&
    [ "$(tail -1 /etc/stripwatch/stripwatch.conf)" = "# edited" ] &&
    [ -s $db ]; then pass $t
else fail $t "exit $rc: $(tail -5 "$log")"; fi

t=purge
dpkg --purge stripwatch >"$log" 2>&1
rc=$?
installed=0
left=
for f in /etc/stripwatch /var/lib/stripwatch /var/log/stripwatch \
    /etc/systemd/system/multi-user.target.wants/stripwatch.service; do
	[ -e $f ] && left="$left $f"
done
if [ $rc -eq 0 ] && [ -z "$left" ] && getent passwd stripwatch >/dev/null
then pass $t
else fail $t "exit $rc, left:$left, user: $(getent passwd stripwatch)," \
    "$(tail -5 "$log")"; fi

exit $failed
