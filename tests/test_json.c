/*
 * test_json.c: JSON lines for alerts and sessions, field by field for IPv4
 * and IPv6; wire text (every byte value, hostile and invalid escapes) that
 * must come back from the JSON string as the database holds it; lines too
 * long for their buffer refused whole; the object builder's nesting.
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

#include "json.h"
#include "text.h"

#define T0	1700000000123456ULL	/* 2023-11-14T22:13:20.123456Z */

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

static struct detect_session
mksession6(void)
{
	struct detect_session s;

	memset(&s, 0, sizeof(s));
	s.id = 7;
	s.start_us = T0;
	s.end_us = T0 + 2500000;
	s.tuple.client.family = 6;
	s.tuple.server.family = 6;
	inet_pton(AF_INET6, "2001:db8::10", s.tuple.client.bytes);
	inet_pton(AF_INET6, "2001:db8:1::25", s.tuple.server.bytes);
	s.tuple.client_port = 65535;
	s.tuple.server_port = 587;
	snprintf(s.helo, sizeof(s.helo), "client.example.org");
	snprintf(s.banner, sizeof(s.banner), "mx ESMTP \\\"x\\\"");
	s.starttls_offered = 1;
	s.starttls_requested = 1;
	s.starttls_reply = 220;
	s.tls_established = 1;
	s.tls_version = "TLS1.2";
	snprintf(s.tls_cipher, sizeof(s.tls_cipher), "0xc02b");
	snprintf(s.tls_sni, sizeof(s.tls_sni), "mx.example.net");
	s.gaps = 1;
	s.events = (1u << DETECT_STARTTLS_REFUSED) |
	    (1u << DETECT_BANNER_MASKED);
	s.outcome = DETECT_OUTCOME_TLS;
	s.close_reason = "fin";
	s.source = "/srv/pcap/mx\\x1b \\\"1\\\".pcap";
	return s;
}

/*
 * The value of the JSON string member "key" in line, unescaped (\" \\ and
 * \u00XX only: the writer uses no other escape), into out. Fails the test
 * on any byte a JSON string may not hold.
 */
static void
json_value(const char *line, const char *key, char *out, size_t len)
{
	char		 pat[64];
	const char	*p;
	size_t		 o = 0;
	unsigned	 u;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	assert_non_null(p = strstr(line, pat));
	for (p += strlen(pat); *p != '"'; p++) {
		assert_true(o + 1 < len);
		assert_true((unsigned char)*p >= 0x20 &&
		    (unsigned char)*p < 0x7f);
		if (*p != '\\') {
			out[o++] = *p;
			continue;
		}
		p++;
		if (*p == '"' || *p == '\\')
			out[o++] = *p;
		else {
			assert_int_equal(*p, 'u');
			assert_int_equal(sscanf(p + 1, "%4x", &u), 1);
			out[o++] = (char)u;
			p += 4;
		}
	}
	out[o] = '\0';
}

static void
test_alert_v4(void **state)
{
	static const char want[] = "{\"event_type\":\"alert\","
	    "\"timestamp\":\"2023-11-14T22:13:20.123456Z\","
	    "\"sensor\":\"mx-tap1\",\"src_ip\":\"192.0.2.10\","
	    "\"src_port\":40001,\"dest_ip\":\"198.51.100.25\","
	    "\"dest_port\":25,\"session_id\":42,"
	    "\"kind\":\"capability_masked\",\"severity\":\"high\","
	    "\"evidence\":\"250-XXXXXXXA\"}";
	struct detect_event ev = mkevent4();
	char	 line[JSON_LINE_MAX];

	(void)state;
	assert_int_equal(json_alert(&ev, "mx-tap1", line, sizeof(line)),
	    strlen(want));
	assert_string_equal(line, want);
}

static void
test_session_v6(void **state)
{
	static const char want[] = "{\"event_type\":\"session\","
	    "\"timestamp\":\"2023-11-14T22:13:22.623456Z\","
	    "\"sensor\":\"s\",\"src_ip\":\"2001:db8::10\","
	    "\"src_port\":65535,\"dest_ip\":\"2001:db8:1::25\","
	    "\"dest_port\":587,\"session_id\":7,"
	    "\"start_ts\":\"2023-11-14T22:13:20.123456Z\","
	    "\"end_ts\":\"2023-11-14T22:13:22.623456Z\","
	    "\"protocol\":\"smtp\","
	    "\"helo\":\"client.example.org\","
	    "\"banner\":\"mx ESMTP \\\\\\\"x\\\\\\\"\","
	    "\"starttls_offered\":true,\"starttls_requested\":true,"
	    "\"starttls_reply\":220,\"outcome\":\"tls\",\"gaps\":1,"
	    "\"events\":2,\"close_reason\":\"fin\",\"resumed\":0,"
	    "\"source\":\"/srv/pcap/mx\\\\x1b \\\\\\\"1\\\\\\\".pcap\","
	    "\"tls\":{\"established\":true,\"version\":\"TLS1.2\","
	    "\"cipher\":\"0xc02b\",\"sni\":\"mx.example.net\","
	    "\"cert_sha256\":null}}";
	struct detect_session s = mksession6();
	char	 line[JSON_LINE_MAX], v[256];

	(void)state;
	assert_int_equal(json_session(&s, "s", line, sizeof(line)),
	    strlen(want));
	assert_string_equal(line, want);
	/* The banner and the source come back as the database holds them. */
	json_value(line, "banner", v, sizeof(v));
	assert_string_equal(v, s.banner);
	json_value(line, "source", v, sizeof(v));
	assert_string_equal(v, s.source);
}

/* What the database writes as NULL is null here too. */
static void
test_session_nulls(void **state)
{
	struct detect_session s = mksession6();
	char	 line[JSON_LINE_MAX];

	(void)state;
	s.helo[0] = s.banner[0] = s.tls_cipher[0] = s.tls_sni[0] = '\0';
	s.starttls_reply = 0;
	s.tls_version = NULL;
	s.tls_established = 0;
	s.source = NULL;
	assert_true(json_session(&s, "s", line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "\"source\":null,"));
	assert_non_null(strstr(line, "\"helo\":null,\"banner\":null,"));
	assert_non_null(strstr(line, "\"starttls_reply\":null,"));
	assert_non_null(strstr(line, "\"tls\":{\"established\":false,"
	    "\"version\":null,\"cipher\":null,\"sni\":null,"
	    "\"cert_sha256\":null}}"));
}

/*
 * Every byte value as it comes off the wire, escaped the way detect.c
 * escapes it: the JSON string gives back exactly the escaped text.
 */
static void
test_every_byte_round_trips(void **state)
{
	struct detect_event ev = mkevent4();
	uint8_t	 raw[256];
	char	 line[JSON_LINE_MAX], v[2048];
	int	 i;

	(void)state;
	for (i = 0; i < 256; i++)
		raw[i] = (uint8_t)i;
	text_escape(ev.evidence, sizeof(ev.evidence), raw, sizeof(raw));
	assert_true(json_alert(&ev, "s", line, sizeof(line)) > 0);
	json_value(line, "evidence", v, sizeof(v));
	assert_string_equal(v, ev.evidence);
	for (i = 0; line[i] != '\0'; i++)
		assert_true(line[i] >= 0x20 && line[i] < 0x7f);
}

/*
 * Evidence that is not text_escape() output (a mistake upstream): the
 * value is still valid JSON, and text_escape() text.
 */
static void
test_hostile_raw(void **state)
{
	static const char raw[] = "a\r\nb\x1b[31m\"q\"\x7f\xff \\q\\x4";
	struct detect_event ev = mkevent4();
	char	 line[JSON_LINE_MAX], v[256];

	(void)state;
	snprintf(ev.evidence, sizeof(ev.evidence), "%s", raw);
	assert_true(json_alert(&ev, "s", line, sizeof(line)) > 0);
	json_value(line, "evidence", v, sizeof(v));
	assert_string_equal(v,
	    "a\\r\\nb\\x1b[31m\\\"q\\\"\\x7f\\xff \\\\q\\\\x4");
	assert_null(strchr(line, '\n'));
	assert_null(strchr(line, '\r'));
}

/* A line that does not fit is refused whole; one byte more and it fits. */
static void
test_too_small(void **state)
{
	struct detect_event ev = mkevent4();
	char	 full[JSON_LINE_MAX], line[JSON_LINE_MAX];
	size_t	 n, len;

	(void)state;
	n = json_alert(&ev, "s", full, sizeof(full));
	assert_true(n > 0);
	for (len = 0; len <= n; len++) {
		memset(line, 'Z', sizeof(line));
		assert_int_equal(json_alert(&ev, "s", line, len), 0);
		if (len > 0)
			assert_int_equal(line[0], '\0');
	}
	assert_int_equal(json_alert(&ev, "s", line, n + 1), n);
	assert_string_equal(line, full);
}

/* The longest session there can be still fits JSON_LINE_MAX. */
static void
test_longest_session_fits(void **state)
{
	struct detect_session s = mksession6();
	static char line[JSON_LINE_MAX];
	size_t	 i;

	(void)state;
	/* "\\" escaped for JSON is four characters for two. */
	for (i = 0; i + 2 < sizeof(s.helo); i += 2)
		memcpy(s.helo + i, "\\\\", 2);
	s.helo[i] = '\0';
	memcpy(s.banner, s.helo, sizeof(s.banner));
	memcpy(s.tls_sni, s.helo, sizeof(s.tls_sni));
	memset(s.tls_cipher, 'c', sizeof(s.tls_cipher) - 1);
	s.source = s.helo + strlen(s.helo) - (DETECT_SOURCE_MAX - 2);
	assert_true(json_session(&s, "a-sensor-name-of-some-length", line,
	    sizeof(line)) > 2 * (3 * strlen(s.helo) + strlen(s.source)));
}

static void
test_builder(void **state)
{
	struct json_out	 o;
	char		 buf[256];
	size_t		 n;
	int		 i;

	(void)state;
	json_begin(&o, buf, sizeof(buf));
	json_uint(&o, "a", 18446744073709551615ULL);
	json_open(&o, "b");
	json_bool(&o, "c", 0);
	json_str(&o, "d", "\x01\"\\/");
	json_open(&o, "e");
	json_close(&o);
	json_str(&o, "f", NULL);
	n = json_end(&o);
	assert_int_equal(n, strlen(buf));
	assert_string_equal(buf, "{\"a\":18446744073709551615,\"b\":{"
	    "\"c\":false,\"d\":\"\\u0001\\\"\\\\/\",\"e\":{},\"f\":null}}");

	/* Arrays, of values and of objects; each closes with its bracket. */
	json_begin(&o, buf, sizeof(buf));
	json_array(&o, "a");
	json_str(&o, NULL, "x");
	json_real(&o, NULL, 0.25);
	json_open(&o, NULL);
	json_array(&o, "e");
	json_close(&o);
	json_real(&o, "r", 1.0 / 3);
	json_close(&o);
	json_real(&o, NULL, 1e300 * 1e300);
	json_close(&o);
	json_array(&o, "z");
	assert_true(json_end(&o) > 0);
	assert_string_equal(buf, "{\"a\":[\"x\",0.25,{\"e\":[],"
	    "\"r\":0.333333},null],\"z\":[]}");

	/* Deeper than JSON_DEPTH_MAX: refused, not cut. */
	json_begin(&o, buf, sizeof(buf));
	for (i = 0; i < JSON_DEPTH_MAX; i++)
		json_open(&o, "x");
	assert_int_equal(json_end(&o), 0);
	assert_string_equal(buf, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alert_v4),
		cmocka_unit_test(test_session_v6),
		cmocka_unit_test(test_session_nulls),
		cmocka_unit_test(test_every_byte_round_trips),
		cmocka_unit_test(test_hostile_raw),
		cmocka_unit_test(test_too_small),
		cmocka_unit_test(test_longest_session_fits),
		cmocka_unit_test(test_builder),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
