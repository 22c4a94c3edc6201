/*
 * test_caplog.c: the log of limits reached: a line at once the first time
 * a counter moves, then at most one per interval per limit with the count
 * since the last line, each naming its setting; the rest at exit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "caplog.h"

#define S	1000000ULL	/* one second in microseconds */
#define T0	(1795894711ULL * S)

static const struct caplog_row rows[] = {
	{ "max_flows", "evictions_data", "flow table full",
	    "connections with data evicted" },
	{ "reasm_memcap", "memcap_hits", "reassembly memory full",
	    "buffers refused" },
};

struct lines {
	int		 n;
	char		 last[CAPLOG_LINE_MAX];
};

static void
collect(void *arg, const char *line)
{
	struct lines	*l = arg;

	l->n++;
	snprintf(l->last, sizeof(l->last), "%s", line);
}

/* A minute's interval; the first check at T0 sees nothing moved. */
static void
start(struct caplog *cl, struct lines *l, uint64_t *v)
{
	memset(l, 0, sizeof(*l));
	v[0] = v[1] = 0;
	caplog_init(cl, rows, 2, 60 * S);
	assert_int_equal(caplog_check(cl, v, T0, collect, l), 0);
}

static void
test_rate_limit(void **state)
{
	struct caplog	 cl;
	struct lines	 l;
	uint64_t	 v[2];

	(void)state;
	start(&cl, &l, v);
	/* The first eviction is said at the next tick. */
	v[0] = 3;
	assert_int_equal(caplog_check(&cl, v, T0 + 1 * S, collect, &l), 1);
	assert_string_equal(l.last, "flow table full: 3 connections with "
	    "data evicted in the last 1 s; raise max_flows");
	/* More within the minute: held back, counted. */
	v[0] = 1003;
	assert_int_equal(caplog_check(&cl, v, T0 + 2 * S, collect, &l), 0);
	v[0] = 1234;
	assert_int_equal(caplog_check(&cl, v, T0 + 60 * S, collect, &l), 0);
	/* Another limit has its own interval. */
	v[1] = 7;
	assert_int_equal(caplog_check(&cl, v, T0 + 60 * S, collect, &l), 1);
	assert_string_equal(l.last, "reassembly memory full: 7 buffers "
	    "refused in the last 60 s; raise reasm_memcap");
	/* A minute after its last line, the sum since then. */
	assert_int_equal(caplog_check(&cl, v, T0 + 61 * S, collect, &l), 1);
	assert_string_equal(l.last, "flow table full: 1231 connections with "
	    "data evicted in the last 60 s; raise max_flows");
	/* Nothing moved: nothing said, however long. */
	assert_int_equal(caplog_check(&cl, v, T0 + 600 * S, collect, &l), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(cl.lines, 3);
}

/* At exit, what was held back is said without waiting. */
static void
test_flush(void **state)
{
	struct caplog	 cl;
	struct lines	 l;
	uint64_t	 v[2];

	(void)state;
	start(&cl, &l, v);
	v[0] = 1;
	caplog_check(&cl, v, T0 + S, collect, &l);
	v[0] = 41;
	assert_int_equal(caplog_check(&cl, v, T0 + 5 * S, collect, &l), 0);
	assert_int_equal(caplog_flush(&cl, v, T0 + 5 * S + 1, collect, &l), 1);
	assert_string_equal(l.last, "flow table full: 40 connections with "
	    "data evicted in the last 5 s; raise max_flows");
	assert_int_equal(caplog_flush(&cl, v, T0 + 6 * S, collect, &l), 0);
	/* A reload's new interval applies to the next line. */
	caplog_set_interval(&cl, 2 * S);
	v[0] = 42;
	assert_int_equal(caplog_check(&cl, v, T0 + 6 * S, collect, &l), 0);
	assert_int_equal(caplog_check(&cl, v, T0 + 8 * S, collect, &l), 1);
	/* Counters that start over are not a huge move. */
	v[0] = 2;
	assert_int_equal(caplog_check(&cl, v, T0 + 20 * S, collect, &l), 0);
	v[0] = 5;
	assert_int_equal(caplog_check(&cl, v, T0 + 30 * S, collect, &l), 1);
	assert_non_null(strstr(l.last, ": 3 connections"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_flush),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
