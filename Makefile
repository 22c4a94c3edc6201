# stripwatch: passive detection of SMTP STARTTLS stripping.
#
#   make            build build/stripwatch
#   make test       unit tests, capture tests, live loopback test
#   make demo       run build/stripwatch on pcaps/ and show what it found
#   make bench      speed and memory against tcpdump and tshark
#   make bench-instructions  instructions per packet, per stage
#   make asan       every test again with AddressSanitizer + UBSan
#   make fuzz       libFuzzer harnesses, FUZZ_TIME seconds each
#   make install    PREFIX=/usr/local DESTDIR=; never replaces a config
#   make uninstall  what install put, but an edited config and the data
#   make deb        the Debian package in build/deb (tools/install-deps
#                   --package); make test-package checks it (root)

VERSION	= 0.1.0
PREFIX	?= /usr/local
SBINDIR	?= $(PREFIX)/sbin
MANDIR	?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR	?= /lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
# Read when -c is not given (compiled in: a PREFIX or test build may point
# elsewhere).
CONFIG_FILE = $(SYSCONFDIR)/stripwatch/stripwatch.conf

CC	?= gcc
PKG_CONFIG ?= pkg-config
PKGS	= libpcap libevent sqlite3 libcrypto
# -O3: about 37 fewer instructions a packet than -O2 on the benchmark's
# mail trace (bench/instructions), the same CPU time (bench/RESULTS.md).
CFLAGS	?= -O3 -g
WARN	= -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
	  -Wmissing-prototypes -Wpointer-arith -Wformat=2 -Werror
HARDEN	= -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
ALL_CPPFLAGS = -D_DEFAULT_SOURCE -DSTRIPWATCH_VERSION='"$(VERSION)"' \
	  -DSENSOR_CONFIG_FILE='"$(CONFIG_FILE)"' -Ilib $(CPPFLAGS)
# -pthread: the database writer thread (lib/store.c).
# Link-time optimisation of the program: the packet path crosses a dozen
# files (decode, flow, tcp, reasm, mail, detect), and inlining across them
# saves about 90 instructions a packet (bench/RESULTS.md). The objects
# carry their ordinary code too (-ffat-lto-objects), so that the tests
# link them without it (NO_LTO) at an ordinary link's cost. LTO= turns it
# off: the sanitizer builds do, and clang has no fat objects.
LTO	?= -flto=auto -ffat-lto-objects
NO_LTO	= $(if $(strip $(LTO)),-fno-lto)
ALL_CFLAGS = $(WARN) $(HARDEN) $(CFLAGS) $(LTO) -MMD -MP -pthread \
	  $(shell $(PKG_CONFIG) --cflags $(PKGS))
ALL_LDFLAGS = -pie -Wl,-z,relro,-z,now $(LDFLAGS)
LIBS	= $(shell $(PKG_CONFIG) --libs $(PKGS)) -pthread
TEST_LIBS = $(shell $(PKG_CONFIG) --libs cmocka) $(LIBS)

B	= build
LIB_SRC	= $(wildcard lib/*.c)
LIB_OBJ	= $(LIB_SRC:lib/%.c=$(B)/lib/%.o)
BIN_SRC	= $(wildcard sensor/*.c)
BIN_OBJ	= $(BIN_SRC:sensor/%.c=$(B)/sensor/%.o)
TEST_SRC = $(wildcard tests/test_*.c)
TEST_BIN = $(TEST_SRC:tests/%.c=$(B)/tests/%)

.PHONY: all test test-unit test-pcap test-live demo install clean pcaps \
	bench bench-instructions bench-smoke bench-live

all: $(B)/stripwatch $(B)/stripwatch.conf.5

$(B)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(B)/sensor/%.o: sensor/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# The program's objects are rebuilt when SYSCONFDIR changes: the file holds
# the path they were built with, and is rewritten only when it differs.
$(B)/config-file: FORCE
	@mkdir -p $(@D)
	@echo '$(CONFIG_FILE)' | cmp -s - $@ || echo '$(CONFIG_FILE)' >$@

$(BIN_OBJ): $(B)/config-file

FORCE:

$(B)/libstripwatch.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(B)/stripwatch: $(BIN_OBJ) $(B)/libstripwatch.a
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(BIN_OBJ) \
	    $(B)/libstripwatch.a $(LIBS)

$(B)/tests/%: tests/%.c $(B)/libstripwatch.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -Itests -DTOP='"$(CURDIR)"' $(ALL_CFLAGS) \
	    -Wno-missing-prototypes $(NO_LTO) $(ALL_LDFLAGS) -o $@ $< \
	    $(B)/libstripwatch.a $(TEST_LIBS)

# stripwatch.conf(5): its settings are conf/stripwatch.conf's.
$(B)/stripwatch.conf.5: conf/stripwatch.conf.5.in conf/stripwatch.conf \
	    tools/conf2mdoc.awk $(B)/config-file
	awk -v config_file='$(CONFIG_FILE)' -f tools/conf2mdoc.awk \
	    conf/stripwatch.conf.5.in conf/stripwatch.conf >$@.tmp
	mv $@.tmp $@

# test_config checks that page against the defaults.
$(B)/tests/test_config: $(B)/stripwatch.conf.5
$(B)/tests/test_config: ALL_CPPFLAGS += \
	    -DCONF_MAN='"$(CURDIR)/$(B)/stripwatch.conf.5"'

# The middlebox of tests/live-e2e.sh and tests/live-dovecot.sh: a test
# tool, never installed.
$(B)/tests/relay: tests/e2e/relay.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBS)

# Every test: unit binaries, the capture table, the live tests.
test: all $(TEST_BIN) $(B)/tests/relay
	tests/run-all $(B)

test-unit: $(TEST_BIN)
	tests/run-all --only unit $(B)

test-pcap: all
	tests/run-all --only pcap $(B)

test-live: all $(B)/tests/relay
	tests/run-all --only live $(B)

# Re-create the bundled captures from their generator.
pcaps:
	python3 tools/pcapgen.py pcaps

# Throughput and memory against tcpdump and tshark on generated traces
# (bench/RESULTS.md); a few minutes.
bench: all
	bench/run --bin $(B)/stripwatch

# Instructions per packet (callgrind) beside tcpdump's, and per stage
# (bench/RESULTS.md); about a minute. BENCH_BINS="old/stripwatch ..."
# adds columns for other builds. The stages are read from a second build
# without link-time optimisation, which would inline their entry points.
bench-instructions: all $(B)-stages/stripwatch
	bench/instructions $(patsubst %,--bin %,$(BENCH_BINS)) \
	    --bin $(B)-stages/stripwatch --bin $(B)/stripwatch

$(B)-stages/stripwatch: FORCE
	$(MAKE) B=$(B)-stages LTO= $@

bench-smoke: all
	bench/run --smoke --bin $(B)/stripwatch
	bench/instructions --smoke --bin $(B)/stripwatch

# Live capture: tcpreplay onto a veth between two namespaces, 1 and 2
# workers, kernel drops (bench/RESULTS.md "Live capture"); root, ~2 min.
bench-live: all
	bench/live --bin $(B)/stripwatch

# tools/demo prints lines of at most 80 columns; the build before it is
# silent (its compiler lines are longer), warnings and errors aside.
demo:
	@$(MAKE) -s all
	@tools/demo $(B)

# An existing configuration file is the operator's: never replaced. Into
# the running system (no DESTDIR), the user and its directories are made
# at once.
install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSCONFDIR)/stripwatch \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR)
	install -m 755 $(B)/stripwatch $(DESTDIR)$(SBINDIR)/stripwatch
	install -m 644 sensor/stripwatch.8 $(DESTDIR)$(MANDIR)/man8/stripwatch.8
	install -m 644 $(B)/stripwatch.conf.5 \
	    $(DESTDIR)$(MANDIR)/man5/stripwatch.conf.5
	@if [ -e $(DESTDIR)$(CONFIG_FILE) ]; then \
	    echo "kept $(DESTDIR)$(CONFIG_FILE) as it is (new settings and" \
	        "their defaults: man stripwatch.conf)"; \
	else \
	    echo install -m 644 conf/stripwatch.conf $(DESTDIR)$(CONFIG_FILE); \
	    install -m 644 conf/stripwatch.conf $(DESTDIR)$(CONFIG_FILE); \
	fi
	sed -e 's|/usr/sbin/stripwatch|$(SBINDIR)/stripwatch|' \
	    -e 's|/etc/stripwatch/stripwatch.conf|$(CONFIG_FILE)|g' \
	    systemd/stripwatch.service >$(DESTDIR)$(UNITDIR)/stripwatch.service
	install -m 644 systemd/stripwatch.sysusers \
	    $(DESTDIR)$(SYSUSERSDIR)/stripwatch.conf
	install -m 644 systemd/stripwatch.tmpfiles \
	    $(DESTDIR)$(TMPFILESDIR)/stripwatch.conf
	@if [ -z "$(DESTDIR)" ]; then $(SYSTEM_SETUP); fi

SYSTEM_SETUP = \
	if command -v systemd-sysusers >/dev/null 2>&1; then \
	    echo systemd-sysusers $(SYSUSERSDIR)/stripwatch.conf; \
	    systemd-sysusers $(SYSUSERSDIR)/stripwatch.conf && \
	    echo systemd-tmpfiles --create $(TMPFILESDIR)/stripwatch.conf && \
	    systemd-tmpfiles --create $(TMPFILESDIR)/stripwatch.conf; \
	else \
	    echo "no systemd-sysusers: create the system user stripwatch," \
	        "and /var/lib/stripwatch owned by it, yourself"; \
	fi && \
	if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi

# Removes what install put, except the configuration file when it differs
# from the shipped one (edited: the operator's), the database and its
# directory (data), and the user (a uid given again to another user would
# own the files left behind).
uninstall:
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
	    systemctl disable --now stripwatch.service 2>/dev/null || true; \
	fi
	rm -f $(DESTDIR)$(SBINDIR)/stripwatch \
	    $(DESTDIR)$(MANDIR)/man8/stripwatch.8 \
	    $(DESTDIR)$(MANDIR)/man5/stripwatch.conf.5 \
	    $(DESTDIR)$(UNITDIR)/stripwatch.service \
	    $(DESTDIR)$(SYSUSERSDIR)/stripwatch.conf \
	    $(DESTDIR)$(TMPFILESDIR)/stripwatch.conf
	@if cmp -s conf/stripwatch.conf $(DESTDIR)$(CONFIG_FILE); then \
	    echo rm -f $(DESTDIR)$(CONFIG_FILE); \
	    rm -f $(DESTDIR)$(CONFIG_FILE); \
	    rmdir $(DESTDIR)$(SYSCONFDIR)/stripwatch 2>/dev/null || true; \
	elif [ -e $(DESTDIR)$(CONFIG_FILE) ]; then \
	    echo "kept $(DESTDIR)$(CONFIG_FILE): it was edited"; \
	fi
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
	    systemctl daemon-reload; \
	fi

# The Debian package (debian/), built in a copy of the tree under $(B)/deb:
# dpkg-buildpackage writes its products beside the tree it builds, and
# there they stay out of the source. tools/install-deps --package installs
# the tools; tests/package-test.sh builds, checks and installs it.
DEB_SRC	= $(B)/deb/stripwatch-$(VERSION)

deb:
	rm -rf $(B)/deb
	mkdir -p $(DEB_SRC)
	tar -cf - --exclude-vcs --exclude-vcs-ignores --exclude='./build*' \
	    --exclude='./stripwatch.db*' . | tar -xf - -C $(DEB_SRC)
	cd $(DEB_SRC) && dpkg-buildpackage -us -uc -b

test-package:
	tests/package-test.sh

.PHONY: uninstall deb test-package

clean:
	rm -rf $(B) $(B)-stages build-asan build-fuzz

# asan, memcheck, fuzz: hostile-input checks (fuzz/README).
include fuzz/fuzz.mk

# Header dependencies (-MMD): a changed header rebuilds every object and
# test binary that includes it.
-include $(LIB_OBJ:.o=.d) $(BIN_OBJ:.o=.d) $(TEST_BIN:=.d) $(B)/tests/relay.d
