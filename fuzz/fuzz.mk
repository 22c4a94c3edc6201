# fuzz/fuzz.mk: the sanitizer, memcheck and fuzzing targets. The Makefile
# includes it (include fuzz/fuzz.mk); it uses LIB_SRC, TEST_SRC, LIBS and B
# from there.
#
#   make asan       ASan+UBSan build in build-asan/, then every test with it
#   make tsan       ThreadSanitizer build in build-tsan/ (clang), then every
#                   test with it: the database writer thread against the
#                   capture loop
#   make memcheck   valgrind memcheck over the bad-input table and pcaps/
#   make fuzz       libFuzzer harnesses in build-fuzz/, regression inputs,
#                   then FUZZ_TIME seconds of fuzzing per harness
#   make fuzz-build only build the harnesses

.PHONY: asan tsan memcheck fuzz fuzz-build

ASAN_FLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	  -fno-sanitize-recover=undefined

asan:
	$(MAKE) B=build-asan CFLAGS="$(ASAN_FLAGS)" LTO= \
	    LDFLAGS="-fsanitize=address,undefined" \
	    build-asan/stripwatch build-asan/tests/relay \
	    $(TEST_SRC:tests/%.c=build-asan/tests/%)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    tests/run-all build-asan

# A report makes the process exit 66, which fails the test that ran it.
TSAN_FLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=thread

tsan:
	$(MAKE) B=build-tsan CC=$(CLANG) CFLAGS="$(TSAN_FLAGS)" LTO= \
	    LDFLAGS="-fsanitize=thread" \
	    build-tsan/stripwatch build-tsan/tests/relay \
	    $(TEST_SRC:tests/%.c=build-tsan/tests/%)
	TSAN_OPTIONS=halt_on_error=1:exitcode=66 tests/run-all build-tsan

MEMCHECK = valgrind -q --leak-check=full \
	  --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99

memcheck: all
	STRIPWATCH_WRAPPER="$(MEMCHECK)" tests/bad-input-test $(B)
	rm -f $(B)/memcheck.db $(B)/memcheck.db-wal $(B)/memcheck.db-shm
	$(MEMCHECK) $(B)/stripwatch --no-syslog -d $(B)/memcheck.db \
	    $(patsubst %,-r %,$(filter-out pcaps/bad-%,$(sort \
	    $(wildcard pcaps/*.pcap pcaps/*.pcapng)))) >/dev/null

# libFuzzer needs clang (apt-get install clang libclang-rt-14-dev).
CLANG	?= clang
FUZZ_B	= build-fuzz
FUZZ_TIME ?= 60
FUZZ_CFLAGS = -std=c11 -g -O1 -D_DEFAULT_SOURCE -Ilib -Itests -Ifuzz \
	  -Wall -Wextra -Werror -fno-sanitize-recover=undefined
# The harnesses get the full house warnings; lib/ gets the above only
# because clang's -Wformat-nonliteral rejects log.c's vfprintf wrapper.
FUZZ_WARN = $(WARN)
FUZZ_HARNESSES = decode stream smtp pcap
FUZZ_BIN = $(FUZZ_HARNESSES:%=$(FUZZ_B)/fuzz_%)
FUZZ_OBJ = $(LIB_SRC:lib/%.c=$(FUZZ_B)/lib/%.o)

$(FUZZ_B)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined \
	    -MMD -MP -c -o $@ $<

$(FUZZ_B)/libfuzz.a: $(FUZZ_OBJ)
	rm -f $@
	ar rcs $@ $^

# fuzz_smtp is fuzz_stream.c's other variant: bytes straight to smtp_data().
$(FUZZ_B)/fuzz_smtp: fuzz/fuzz_stream.c fuzz/fuzzutil.h $(FUZZ_B)/libfuzz.a
	$(CLANG) $(FUZZ_CFLAGS) $(FUZZ_WARN) -DFUZZ_SMTP_DIRECT \
	    -fsanitize=fuzzer,address,undefined -o $@ $< \
	    $(FUZZ_B)/libfuzz.a $(LIBS)

$(FUZZ_B)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzzutil.h $(FUZZ_B)/libfuzz.a
	$(CLANG) $(FUZZ_CFLAGS) $(FUZZ_WARN) \
	    -fsanitize=fuzzer,address,undefined -o $@ $< \
	    $(FUZZ_B)/libfuzz.a $(LIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: $(FUZZ_BIN)
	fuzz/seeds.sh $(FUZZ_B)/corpus
	fuzz/run.sh $(FUZZ_B) $(FUZZ_TIME)

-include $(FUZZ_OBJ:.o=.d)
