# stripwatch: passive detection of SMTP STARTTLS stripping.
#
#   make            build build/stripwatch
#   make test       unit tests, capture tests, live loopback test
#   make demo       run build/stripwatch on pcaps/ and show what it found
#   make bench      speed and memory against tcpdump and tshark
#   make bench-instructions  instructions per packet, per stage
#   make asan       every test again with AddressSanitizer + UBSan
#   make fuzz       libFuzzer harnesses, FUZZ_TIME seconds each
#   make install    PREFIX=/usr/local DESTDIR=

VERSION	= 0.1.0
PREFIX	?= /usr/local
SBINDIR	?= $(PREFIX)/sbin
MANDIR	?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR	?= /lib/systemd/system

CC	?= gcc
PKG_CONFIG ?= pkg-config
PKGS	= libpcap libevent sqlite3 libcrypto
CFLAGS	?= -O2 -g
WARN	= -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
	  -Wmissing-prototypes -Wpointer-arith -Wformat=2 -Werror
HARDEN	= -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
ALL_CPPFLAGS = -D_DEFAULT_SOURCE -DSTRIPWATCH_VERSION='"$(VERSION)"' \
	  -Ilib $(CPPFLAGS)
# -pthread: the database writer thread (lib/store.c).
ALL_CFLAGS = $(WARN) $(HARDEN) $(CFLAGS) -MMD -MP -pthread \
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

all: $(B)/stripwatch

$(B)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(B)/sensor/%.o: sensor/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(B)/libstripwatch.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(B)/stripwatch: $(BIN_OBJ) $(B)/libstripwatch.a
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(BIN_OBJ) \
	    $(B)/libstripwatch.a $(LIBS)

$(B)/tests/%: tests/%.c $(B)/libstripwatch.a tests/testutil.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -Itests -DTOP='"$(CURDIR)"' $(ALL_CFLAGS) \
	    -Wno-missing-prototypes $(ALL_LDFLAGS) -o $@ $< \
	    $(B)/libstripwatch.a $(TEST_LIBS)

# The middlebox of tests/live-e2e.sh: a test tool, never installed.
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
# adds columns for other builds.
bench-instructions: all
	bench/instructions $(patsubst %,--bin %,$(BENCH_BINS)) \
	    --bin $(B)/stripwatch

bench-smoke: all
	bench/run --smoke --bin $(B)/stripwatch
	bench/instructions --smoke --bin $(B)/stripwatch

# Live capture: tcpreplay onto a veth between two namespaces, 1 and 2
# workers, kernel drops (bench/RESULTS.md "Live capture"); root, ~2 min.
bench-live: all
	bench/live --bin $(B)/stripwatch

# The damaged captures (pcaps/bad-*) show the error path, not the demo.
DEMO_PCAPS = $(sort $(filter-out pcaps/bad-%,$(wildcard pcaps/*.pcap \
	    pcaps/*.pcapng)))

demo: all
	rm -f stripwatch.db stripwatch.db-wal stripwatch.db-shm
	$(B)/stripwatch $(patsubst %,-r %,$(DEMO_PCAPS))
	sqlite3 -header -column stripwatch.db \
	    "SELECT kind, severity, server_ip, evidence FROM events ORDER BY id"
	sqlite3 -header -column stripwatch.db \
	    "SELECT outcome, count(*) AS sessions FROM sessions GROUP BY outcome"

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(SYSCONFDIR)/stripwatch $(DESTDIR)$(UNITDIR)
	install -m 755 $(B)/stripwatch $(DESTDIR)$(SBINDIR)/stripwatch
	install -m 644 sensor/stripwatch.8 $(DESTDIR)$(MANDIR)/man8/stripwatch.8
	install -m 644 conf/stripwatch.conf \
	    $(DESTDIR)$(SYSCONFDIR)/stripwatch/stripwatch.conf
	sed 's|/usr/sbin/stripwatch|$(SBINDIR)/stripwatch|' \
	    systemd/stripwatch.service > $(DESTDIR)$(UNITDIR)/stripwatch.service

clean:
	rm -rf $(B) build-asan build-fuzz

# asan, memcheck, fuzz: hostile-input checks (fuzz/README).
include fuzz/fuzz.mk

-include $(LIB_OBJ:.o=.d) $(BIN_OBJ:.o=.d)
