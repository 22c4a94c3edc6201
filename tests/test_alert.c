/*
 * test_alert.c: alert lines in both formats for IPv4 and IPv6, hostile
 * evidence (raw and already escaped), truncation, and the packet-time rate
 * limit with its suppressed line, written to a temporary stream.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "alert.h"
#include "logfwd.h"
#include "text.h"

#define T0	1700000000123456ULL	/* 2023-11-14T22:13:20.123456Z */
#define SEC	1000000ULL

static struct detect_event
mkevent4(void)
{
	struct detect_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.ts_us = T0;
	ev.session_id = 42;
	ev.kind = DETECT_CAPABILITY_MASKED;
	ev.severity = DETECT_SEV_HIGH;
	ev.tuple.client.family = 4;
	ev.tuple.server.family = 4;
	inet_pton(AF_INET, "192.0.2.10", ev.tuple.client.bytes);
	inet_pton(AF_INET, "198.51.100.25", ev.tuple.server.bytes);
	ev.tuple.client_port = 40001;
	ev.tuple.server_port = 25;
	snprintf(ev.evidence, sizeof(ev.evidence), "250-XXXXXXXA");
	return ev;
}

static struct detect_event
mkevent6(void)
{
	struct detect_event ev = mkevent4();

	ev.session_id = 7;
	ev.kind = DETECT_STARTTLS_REFUSED;
	ev.severity = DETECT_SEV_MEDIUM;
	memset(&ev.tuple, 0, sizeof(ev.tuple));
	ev.tuple.client.family = 6;
	ev.tuple.server.family = 6;
	inet_pton(AF_INET6, "2001:db8::10", ev.tuple.client.bytes);
	inet_pton(AF_INET6, "2001:db8:1::25", ev.tuple.server.bytes);
	ev.tuple.client_port = 65535;
	ev.tuple.server_port = 587;
	snprintf(ev.evidence, sizeof(ev.evidence), "454 TLS not available");
	return ev;
}

static void
assert_printable(const char *s)
{
	for (; *s != '\0'; s++) {
		assert_true((unsigned char)*s >= 0x20);
		assert_true((unsigned char)*s <= 0x7e);
	}
}

/* The evidence value of a plain line: from evidence=" to the last '"'. */
static const char *
plain_evidence(const char *line, char *buf, size_t len)
{
	const char	*p = strstr(line, "evidence=\"");
	size_t		 n;

	assert_non_null(p);
	p += strlen("evidence=\"");
	n = strlen(p);
	assert_true(n >= 1 && p[n - 1] == '"');
	assert_true(n - 1 < len);
	memcpy(buf, p, n - 1);
	buf[n - 1] = '\0';
	return buf;
}

/*
 * In a quoted value, every '"' (and with sd every ']') is escaped and no
 * backslash is left dangling: walking escape pairs ends exactly at the end.
 */
static void
assert_well_quoted(const char *v, int sd)
{
	for (; *v != '\0'; v++) {
		assert_true(*v != '"');
		if (sd)
			assert_true(*v != ']');
		if (*v == '\\') {
			v++;
			assert_true(*v != '\0');
		}
	}
}

static void
test_format_v4(void **state)
{
	static const char want[] = "event=capability_masked severity=high "
	    "ts=2023-11-14T22:13:20.123456Z session=42 "
	    "client=192.0.2.10:40001 server=198.51.100.25:25 "
	    "evidence=\"250-XXXXXXXA\"";
	struct detect_event ev = mkevent4();
	char	 line[ALERT_LINE_MAX];

	(void)state;
	assert_int_equal(alert_format(&ev, NULL, line, sizeof(line)),
	    strlen(want));
	assert_string_equal(line, want);
}

static void
test_format_v6(void **state)
{
	static const char want[] = "event=starttls_refused severity=medium "
	    "ts=2023-11-14T22:13:20.123456Z session=7 "
	    "client=[2001:db8::10]:65535 server=[2001:db8:1::25]:587 "
	    "evidence=\"454 TLS not available\"";
	static const char want_sd[] = "[stripwatch@32473 "
	    "event=\"starttls_refused\" severity=\"medium\" "
	    "ts=\"2023-11-14T22:13:20.123456Z\" session=\"7\" "
	    "client=\"[2001:db8::10\\]:65535\" "
	    "server=\"[2001:db8:1::25\\]:587\" "
	    "evidence=\"454 TLS not available\"]";
	struct detect_event ev = mkevent6();
	char	 line[ALERT_LINE_MAX];

	(void)state;
	assert_int_equal(alert_format(&ev, NULL, line, sizeof(line)),
	    strlen(want));
	assert_string_equal(line, want);
	assert_int_equal(alert_format_rfc5424(&ev, NULL, 0, line,
	    sizeof(line)),
	    strlen(want_sd));
	assert_string_equal(line, want_sd);
}

static void
test_format_rfc5424_v4(void **state)
{
	static const char want[] = "[stripwatch@32473 "
	    "event=\"capability_masked\" severity=\"high\" "
	    "ts=\"2023-11-14T22:13:20.123456Z\" session=\"42\" "
	    "client=\"192.0.2.10:40001\" server=\"198.51.100.25:25\" "
	    "evidence=\"250-XXXXXXXA\"]";
	struct detect_event ev = mkevent4();
	char	 line[ALERT_LINE_MAX];

	(void)state;
	assert_int_equal(alert_format_rfc5424(&ev, NULL, 0, line,
	    sizeof(line)),
	    strlen(want));
	assert_string_equal(line, want);
}

/* Raw hostile bytes, as if detect had not escaped them. */
static void
test_hostile_raw(void **state)
{
	static const char raw[] = "a\r\nb\x1b[31m%n%s\"q\"]\x7f\xff end\\";
	static const char want[] =
	    "a\\r\\nb\\x1b[31m%n%s\\\"q\\\"]\\x7f\\xff end\\\\";
	static const char want_sd[] =
	    "a\\\\r\\\\nb\\\\x1b[31m%n%s\\\\\\\"q\\\\\\\"\\]\\\\x7f"
	    "\\\\xff end\\\\\\\\";
	struct detect_event ev = mkevent4();
	char	 line[ALERT_LINE_MAX], v[ALERT_LINE_MAX], *p;

	(void)state;
	snprintf(ev.evidence, sizeof(ev.evidence), "%s", raw);
	alert_format(&ev, NULL, line, sizeof(line));
	assert_printable(line);
	assert_null(strchr(line, '\r'));
	assert_null(strchr(line, '\n'));
	assert_string_equal(plain_evidence(line, v, sizeof(v)), want);
	assert_well_quoted(v, 0);

	alert_format_rfc5424(&ev, NULL, 0, line, sizeof(line));
	assert_printable(line);
	p = strstr(line, "evidence=\"");
	assert_non_null(p);
	p += strlen("evidence=\"");
	assert_int_equal(strlen(p), strlen(want_sd) + 2);
	assert_memory_equal(p, want_sd, strlen(want_sd));
	assert_string_equal(p + strlen(want_sd), "\"]");
	memcpy(v, p, strlen(want_sd));
	v[strlen(want_sd)] = '\0';
	assert_well_quoted(v, 1);
}

/* What detect.c hands over (text_escape output) passes unchanged. */
static void
test_escaped_passes(void **state)
{
	static const uint8_t raw[] = "EHLO \x1b[2J\"x\"\\ %s\r\n\t\x00\x80";
	struct detect_event ev = mkevent4();
	char	 line[ALERT_LINE_MAX], v[ALERT_LINE_MAX];

	(void)state;
	text_escape(ev.evidence, sizeof(ev.evidence), raw, sizeof(raw) - 1);
	assert_string_equal(ev.evidence,
	    "EHLO \\x1b[2J\\\"x\\\"\\\\ %s\\r\\n\\t\\x00\\x80");
	alert_format(&ev, NULL, line, sizeof(line));
	assert_string_equal(plain_evidence(line, v, sizeof(v)), ev.evidence);
	/* Invalid or cut escapes are not trusted. */
	snprintf(ev.evidence, sizeof(ev.evidence), "\\q\\x4");
	alert_format(&ev, NULL, line, sizeof(line));
	assert_string_equal(plain_evidence(line, v, sizeof(v)),
	    "\\\\q\\\\x4");
}

/* Evidence that escapes to more than a line: cut between escapes. */
static void
test_long_evidence(void **state)
{
	struct detect_event ev = mkevent4();
	char	 line[ALERT_LINE_MAX], v[ALERT_LINE_MAX];
	size_t	 n, i;

	(void)state;
	memset(ev.evidence, 0x01, sizeof(ev.evidence) - 1);
	ev.evidence[sizeof(ev.evidence) - 1] = '\0';
	n = alert_format(&ev, NULL, line, sizeof(line));
	assert_int_equal(n, strlen(line));
	assert_true(n < sizeof(line));
	assert_printable(line);
	plain_evidence(line, v, sizeof(v));
	n = strlen(v);
	assert_true(n > 3);
	assert_string_equal(v + n - 3, "...");
	/* Whole "\x01" units only, and the line is as full as can be. */
	assert_int_equal((n - 3) % 4, 0);
	for (i = 0; i < n - 3; i += 4)
		assert_memory_equal(v + i, "\\x01", 4);
	assert_true(strlen(line) + 4 > sizeof(line) - 1);

	/* Not terminated within the array: bounded all the same. */
	memset(ev.evidence, 'A', sizeof(ev.evidence));
	n = alert_format(&ev, NULL, line, sizeof(line));
	plain_evidence(line, v, sizeof(v));
	assert_int_equal(strlen(v), sizeof(ev.evidence));
}

/* Every buffer size: terminated, printable, cut only between tokens. */
static void
test_every_size(void **state)
{
	struct detect_event ev = mkevent6();
	char	 full[ALERT_LINE_MAX], line[ALERT_LINE_MAX + 8];
	size_t	 fl, len, n, head;
	int	 sd;

	(void)state;
	snprintf(ev.evidence, sizeof(ev.evidence), "a\"b]\x01\\x41\\");
	for (sd = 0; sd <= 1; sd++) {
		fl = sd ? alert_format_rfc5424(&ev, NULL, 0, full,
		    sizeof(full)) : alert_format(&ev, NULL, full, sizeof(full));
		head = (size_t)(strstr(full, "evidence=\"") - full) +
		    strlen("evidence=\"");
		for (len = 1; len <= fl + 4; len++) {
			memset(line, 'Z', sizeof(line));
			n = sd ? alert_format_rfc5424(&ev, NULL, 0, line, len) :
			    alert_format(&ev, NULL, line, len);
			assert_true(n < len);
			assert_int_equal(strlen(line), n);
			assert_int_equal(line[len], 'Z');
			assert_printable(line);
			if (len > fl) {
				assert_string_equal(line, full);
				continue;
			}
			/* Either a prefix of the full line (cut in its
			 * fixed part), or the evidence was cut: then a
			 * prefix of it, up to three dots and the tail. */
			/* (Shorter than its fixed part plus the tail, a
			 * line is only cut: checked above.) */
			if (len - 1 < head + (sd ? 2 : 1))
				continue;
			if (memcmp(line, full, n) != 0) {
				const char *tail = sd ? "\"]" : "\"";
				char	*ev0 = strstr(line, "evidence=\"");
				size_t	 pre, dots = 0;

				assert_non_null(ev0);
				assert_true(n > strlen(tail));
				pre = n - strlen(tail);
				assert_string_equal(line + pre, tail);
				while (dots < 3 && pre > 0 &&
				    line[pre - 1] == '.') {
					pre--;
					dots++;
				}
				assert_true(dots == 3 ||
				    line + pre == ev0 + strlen("evidence=\""));
				assert_memory_equal(line, full, pre);
				/* no escape cut in half */
				line[pre] = '\0';
				assert_well_quoted(ev0 + strlen("evidence=\""),
				    sd);
			}
		}
	}
}

/* Lines written to the stream, one per array entry. */
static size_t
read_lines(FILE *f, char lines[][ALERT_LINE_MAX], size_t max)
{
	size_t	 n = 0;

	rewind(f);
	while (n < max && fgets(lines[n], ALERT_LINE_MAX, f) != NULL) {
		lines[n][strcspn(lines[n], "\n")] = '\0';
		n++;
	}
	return n;
}

static void
emit_at(struct alert *a, uint64_t ts, uint64_t session)
{
	struct detect_event ev = mkevent4();

	ev.ts_us = ts;
	ev.session_id = session;
	alert_event(a, &ev);
}

static void
test_rate_limit(void **state)
{
	static char	 lines[16][ALERT_LINE_MAX];
	struct alert_config cfg = { .rate_limit = 2,
	    .rate_interval_s = 10 };
	struct alert	*a;
	FILE		*f;

	(void)state;
	assert_non_null(f = tmpfile());
	cfg.stream = f;
	assert_non_null(a = alert_new(&cfg));
	emit_at(a, T0, 1);			/* interval T0 .. T0+10s */
	emit_at(a, T0 + 1 * SEC, 2);
	emit_at(a, T0 + 2 * SEC, 3);		/* suppressed */
	emit_at(a, T0 + 9 * SEC, 4);		/* suppressed */
	emit_at(a, T0 + 10 * SEC + 500000, 5);	/* new interval */
	emit_at(a, T0 + 11 * SEC, 6);
	emit_at(a, T0 + 12 * SEC, 7);		/* suppressed */
	assert_int_equal(alert_get_stats(a)->sent, 4);
	assert_int_equal(alert_get_stats(a)->suppressed, 3);
	alert_free(a);				/* reports the last one */
	assert_int_equal(read_lines(f, lines, 16), 6);
	assert_non_null(strstr(lines[0], " session=1 "));
	assert_non_null(strstr(lines[1], " session=2 "));
	assert_string_equal(lines[2], "alerts_suppressed=2 interval=10s");
	assert_non_null(strstr(lines[3], " session=5 "));
	assert_non_null(strstr(lines[3],
	    "ts=2023-11-14T22:13:30.623456Z"));
	assert_non_null(strstr(lines[4], " session=6 "));
	assert_string_equal(lines[5], "alerts_suppressed=1 interval=10s");
	fclose(f);
}

static void
test_rate_limit_edges(void **state)
{
	static char	 lines[128][ALERT_LINE_MAX];
	struct alert_config cfg = { .rate_limit = 0,
	    .rate_interval_s = 10 };
	struct alert	*a;
	FILE		*f;
	int		 i;

	(void)state;
	/* 0 = unlimited. */
	assert_non_null(f = tmpfile());
	cfg.stream = f;
	assert_non_null(a = alert_new(&cfg));
	for (i = 0; i < 100; i++)
		emit_at(a, T0, (uint64_t)i);
	assert_int_equal(alert_get_stats(a)->sent, 100);
	alert_free(a);
	assert_int_equal(read_lines(f, lines, 128), 100);
	fclose(f);

	/* Time jumping back by more than an interval starts a new one;
	 * slightly back stays in the current one. */
	assert_non_null(f = tmpfile());
	cfg.stream = f;
	cfg.rate_limit = 1;
	assert_non_null(a = alert_new(&cfg));
	emit_at(a, T0, 1);
	emit_at(a, T0 - 1 * SEC, 2);		/* suppressed */
	emit_at(a, T0 - 100 * SEC, 3);		/* new interval */
	assert_int_equal(alert_get_stats(a)->sent, 2);
	assert_int_equal(alert_get_stats(a)->suppressed, 1);
	alert_free(a);
	assert_int_equal(read_lines(f, lines, 128), 3);
	assert_non_null(strstr(lines[0], " session=1 "));
	assert_string_equal(lines[1], "alerts_suppressed=1 interval=10s");
	assert_non_null(strstr(lines[2], " session=3 "));
	fclose(f);
}

static void
test_set_config(void **state)
{
	static char	 lines[16][ALERT_LINE_MAX];
	struct alert_config cfg = { .rate_limit = 1,
	    .rate_interval_s = 60 };
	struct detect_sink sink;
	struct alert	*a;
	FILE		*f;

	(void)state;
	assert_non_null(f = tmpfile());
	cfg.stream = f;
	assert_non_null(a = alert_new(&cfg));
	alert_sink(a, &sink);
	assert_ptr_equal(sink.arg, a);
	emit_at(a, T0, 1);
	emit_at(a, T0 + SEC, 2);		/* suppressed */
	cfg.format = ALERT_FORMAT_RFC5424;
	cfg.rate_limit = 5;
	alert_set_config(a, &cfg);
	emit_at(a, T0 + 2 * SEC, 3);		/* same interval, new limit */
	emit_at(a, T0 + 61 * SEC, 4);		/* new interval */
	sink.session(sink.arg, NULL);		/* sessions are not logged */
	alert_free(a);
	assert_int_equal(read_lines(f, lines, 16), 4);
	assert_non_null(strstr(lines[0], "event=capability_masked "));
	assert_non_null(strstr(lines[1], "[stripwatch@32473 "));
	assert_non_null(strstr(lines[1], " session=\"3\" "));
	/* The whole RFC 5424 message: facility 0 | LOG_NOTICE, the time of
	 * the suppressed line, no host name, PROCID 0. */
	assert_string_equal(lines[2], "<5>1 2023-11-14T22:13:21.123456Z - "
	    "stripwatch 0 alerts_suppressed "
	    "[stripwatch@32473 alerts_suppressed=\"1\" interval=\"60s\"] "
	    "alerts_suppressed=1 interval=60s");
	assert_non_null(strstr(lines[3], " session=\"4\" "));
	fclose(f);
}

/* The sensor's name in each shape; the enterprise number in the SD-ID. */
static void
test_sensor_and_enterprise(void **state)
{
	static const char want[] = "event=capability_masked severity=high "
	    "ts=2023-11-14T22:13:20.123456Z sensor=mx-tap1 session=42 "
	    "client=192.0.2.10:40001 server=198.51.100.25:25 "
	    "evidence=\"250-XXXXXXXA\"";
	static const char want_sd[] = "[stripwatch@99999 "
	    "event=\"capability_masked\" severity=\"high\" "
	    "ts=\"2023-11-14T22:13:20.123456Z\" sensor=\"mx-tap1\" "
	    "session=\"42\" client=\"192.0.2.10:40001\" "
	    "server=\"198.51.100.25:25\" evidence=\"250-XXXXXXXA\"]";
	struct detect_event ev = mkevent4();
	char	 line[ALERT_LINE_MAX];

	(void)state;
	assert_int_equal(alert_format(&ev, "mx-tap1", line, sizeof(line)),
	    strlen(want));
	assert_string_equal(line, want);
	assert_int_equal(alert_format_rfc5424(&ev, "mx-tap1", 99999, line,
	    sizeof(line)), strlen(want_sd));
	assert_string_equal(line, want_sd);
	alert_format_rfc5424(&ev, "", 4294967295U, line, sizeof(line));
	assert_memory_equal(line, "[stripwatch@4294967295 event=", 29);
	assert_null(strstr(line, "sensor="));
}

/* The RFC 5424 header, field by field (RFC 5424 section 6). */
static void
test_rfc5424_message(void **state)
{
	char	 msg[ALERT_MSG_MAX];
	size_t	 n;

	(void)state;
	n = alert_rfc5424_message(LOG_DAEMON | LOG_WARNING, T0, "mx-tap1",
	    4242, "capability_masked", "[x@1 a=\"b\"]", "m", msg, sizeof(msg));
	assert_int_equal(n, strlen(msg));
	assert_string_equal(msg, "<28>1 2023-11-14T22:13:20.123456Z mx-tap1 "
	    "stripwatch 4242 capability_masked [x@1 a=\"b\"] m");
	/* No host, no structured data, no MSG: NILVALUEs, nothing after. */
	alert_rfc5424_message(LOG_LOCAL7 | LOG_DEBUG, 0, NULL, 1, "x", NULL,
	    NULL, msg, sizeof(msg));
	assert_string_equal(msg,
	    "<191>1 1970-01-01T00:00:00.000000Z - stripwatch 1 x -");
	/* Past year 9999 the time is NILVALUE. */
	alert_rfc5424_message(LOG_DAEMON | LOG_INFO, 253402300800000000ULL,
	    "h", 1, "x", NULL, NULL, msg, sizeof(msg));
	assert_string_equal(msg, "<30>1 - h stripwatch 1 x -");
	/* Too small: nothing, rather than a cut message. */
	assert_int_equal(alert_rfc5424_message(LOG_DAEMON, T0, "h", 1, "x",
	    NULL, "abc", msg, 20), 0);
	assert_string_equal(msg, "");
}

/* alert_format = json: the JSON object; the rate limit's report too. */
static void
test_json_format(void **state)
{
	static char	 lines[8][ALERT_LINE_MAX];
	char		 want[JSON_LINE_MAX];
	struct alert_config cfg = { .rate_limit = 1, .rate_interval_s = 10,
	    .format = ALERT_FORMAT_JSON, .sensor = "s1" };
	struct detect_event ev = mkevent4();
	struct alert	*a;
	FILE		*f;

	(void)state;
	assert_non_null(f = tmpfile());
	cfg.stream = f;
	assert_non_null(a = alert_new(&cfg));
	alert_event(a, &ev);
	ev.ts_us += SEC;
	alert_event(a, &ev);			/* suppressed */
	alert_free(a);
	assert_int_equal(read_lines(f, lines, 8), 2);
	ev.ts_us -= SEC;
	json_alert(&ev, "s1", want, sizeof(want));
	assert_string_equal(lines[0], want);
	assert_string_equal(lines[1], "{\"event_type\":\"alerts_suppressed\","
	    "\"timestamp\":\"2023-11-14T22:13:21.123456Z\",\"sensor\":\"s1\","
	    "\"count\":1,\"interval_s\":10}");
	fclose(f);
}

/*
 * With a forwarder, syslog gets a whole RFC 5424 message, here over a
 * datagram socket in place of /dev/log: facility daemon, a high alert is
 * LOG_WARNING, so PRI 28; the SD and, as MSG, the plain line.
 */
static void
test_forwarder(void **state)
{
	struct logfwd_config fc = { .queue_max = 65536 };
	struct alert_config cfg = { .use_syslog = 1, .facility = LOG_DAEMON,
	    .format = ALERT_FORMAT_RFC5424, .sensor = "mx-tap1",
	    .enterprise = 99999, .procid = 77 };
	struct detect_event ev = mkevent4();
	struct sockaddr_un sun;
	struct alert	*a;
	char		 path[64], got[ALERT_MSG_MAX], sd[ALERT_LINE_MAX];
	char		 plain[ALERT_LINE_MAX], want[ALERT_MSG_MAX];
	ssize_t		 n;
	int		 fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/swalert.%d.sock", (int)getpid());
	unlink(path);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	assert_true((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	fc.path = path;
	assert_non_null(cfg.fwd = logfwd_new(&fc, got, sizeof(got)));
	assert_non_null(a = alert_new(&cfg));
	alert_event(a, &ev);
	n = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	got[n] = '\0';
	alert_format_rfc5424(&ev, "mx-tap1", 99999, sd, sizeof(sd));
	alert_format(&ev, "mx-tap1", plain, sizeof(plain));
	snprintf(want, sizeof(want), "<28>1 2023-11-14T22:13:20.123456Z "
	    "mx-tap1 stripwatch 77 capability_masked %s %s", sd, plain);
	assert_string_equal(got, want);
	assert_int_equal(logfwd_get_stats(cfg.fwd)->sent, 1);
	alert_free(a);
	logfwd_free(cfg.fwd);
	close(fd);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_v4),
		cmocka_unit_test(test_format_v6),
		cmocka_unit_test(test_format_rfc5424_v4),
		cmocka_unit_test(test_hostile_raw),
		cmocka_unit_test(test_escaped_passes),
		cmocka_unit_test(test_long_evidence),
		cmocka_unit_test(test_every_size),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_rate_limit_edges),
		cmocka_unit_test(test_set_config),
		cmocka_unit_test(test_sensor_and_enterprise),
		cmocka_unit_test(test_rfc5424_message),
		cmocka_unit_test(test_json_format),
		cmocka_unit_test(test_forwarder),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
