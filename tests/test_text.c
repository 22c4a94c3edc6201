/*
 * test_text.c: text_escape() on every byte value, hostile strings and every
 * output size; text_time() on known instants.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "text.h"

#define BIG	4096

/* The escape the header specifies for one byte, written out by hand. */
static const char *
spec_escape(uint8_t c, char buf[8])
{
	if (c == '\\')
		return "\\\\";
	if (c == '"')
		return "\\\"";
	if (c == '\r')
		return "\\r";
	if (c == '\n')
		return "\\n";
	if (c == '\t')
		return "\\t";
	if (c >= 0x20 && c <= 0x7e) {
		buf[0] = (char)c;
		buf[1] = '\0';
		return buf;
	}
	snprintf(buf, 8, "\\x%02x", c);
	return buf;
}

static void
assert_printable(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		assert_true((unsigned char)s[i] >= 0x20);
		assert_true((unsigned char)s[i] <= 0x7e);
	}
}

static void
test_every_byte(void **state)
{
	char	 out[16], want[8];
	uint8_t	 c;
	size_t	 n;
	int	 i;

	(void)state;
	for (i = 0; i < 256; i++) {
		c = (uint8_t)i;
		n = text_escape(out, sizeof(out), &c, 1);
		assert_string_equal(out, spec_escape(c, want));
		assert_int_equal(n, strlen(out));
		assert_printable(out, n);
	}
}

static void
test_known_values(void **state)
{
	static const struct {
		const char	*in;
		size_t		 len;
		const char	*want;
	} cases[] = {
		{ "", 0, "" },
		{ "\x00", 1, "\\x00" },
		{ "\x7f", 1, "\\x7f" },
		{ "\xff\x80", 2, "\\xff\\x80" },
		{ "a\r\nb", 4, "a\\r\\nb" },
		{ "\x1b[31mred", 8, "\\x1b[31mred" },
		{ "%n%s%x", 6, "%n%s%x" },
		{ "say \"hi\"", 8, "say \\\"hi\\\"" },
		{ "C:\\dir", 6, "C:\\\\dir" },
		{ "250-XXXXXXXA\r\n", 14, "250-XXXXXXXA\\r\\n" },
		{ "a\0b", 3, "a\\x00b" },
	};
	char	 out[64];
	size_t	 i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = text_escape(out, sizeof(out),
		    (const uint8_t *)cases[i].in, cases[i].len);
		assert_string_equal(out, cases[i].want);
		assert_int_equal(n, strlen(cases[i].want));
	}
}

/*
 * For every dstlen, the output is NUL-terminated, printable, either the
 * whole escape or a prefix cut at an escape boundary followed by "...",
 * and the prefix is as long as the room allows.
 */
static void
check_truncation(const uint8_t *in, size_t len)
{
	char	 full[BIG], out[BIG], one[8];
	size_t	 bound[BIG], nb = 0, fl = 0, dl, n, i, cap, pre;

	bound[nb++] = 0;
	for (i = 0; i < len; i++) {
		const char *e = spec_escape(in[i], one);

		memcpy(full + fl, e, strlen(e));
		fl += strlen(e);
		bound[nb++] = fl;
	}
	full[fl] = '\0';
	for (dl = 1; dl <= fl + 8; dl++) {
		memset(out, 'Z', sizeof(out));
		n = text_escape(out, dl, in, len);
		cap = dl - 1;
		assert_true(n <= cap);
		assert_int_equal(out[n], '\0');
		assert_int_equal(strlen(out), n);
		assert_printable(out, n);
		assert_int_equal(out[dl], 'Z');	/* nothing past dstlen */
		if (fl <= cap) {
			assert_string_equal(out, full);
			continue;
		}
		if (cap < 3) {
			/* No room for any byte plus "...": only dots. */
			assert_int_equal(n, cap);
			assert_memory_equal(out, "...", n);
			continue;
		}
		assert_int_equal(n >= 3, 1);
		assert_memory_equal(out + n - 3, "...", 3);
		pre = n - 3;
		assert_memory_equal(out, full, pre);
		/* pre is an escape boundary, and the next escape did not
		 * fit beside the ellipsis. */
		for (i = 0; i < nb && bound[i] != pre; i++)
			;
		assert_true(i < nb);
		assert_true(i + 1 < nb);
		assert_true(bound[i + 1] + 3 > cap);
	}
}

static void
test_truncation_every_size(void **state)
{
	static const char hostile[] =
	    "EHLO \x1b[31m\"x\"\\\r\n\t%n%s\x00\x7f\x80\xff end";
	uint8_t	 all[256];
	int	 i;

	(void)state;
	check_truncation((const uint8_t *)hostile, sizeof(hostile) - 1);
	for (i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	check_truncation(all, sizeof(all));
	check_truncation((const uint8_t *)"abc", 3);
	check_truncation((const uint8_t *)"\xff\xff\xff\xff", 4);
}

/*
 * The one-pass escape against the byte-by-byte specification above, on
 * inputs of every length up to 80 from unaligned starts: random bytes,
 * all 0xff, all plain, mostly plain with an escape at either end, at
 * every output size (check_truncation()).
 */
static void
test_escape_random(void **state)
{
	uint8_t		 buf[96 + 8];
	uint32_t	 x = 2463534242u;
	size_t		 len, off, i;
	int		 kind;

	(void)state;
	for (kind = 0; kind < 4; kind++)
		for (len = 0; len <= 80; len++) {
			off = (len + (size_t)kind) % 8;	/* unaligned */
			for (i = 0; i < len; i++) {
				x ^= x << 13;
				x ^= x >> 17;
				x ^= x << 5;
				buf[off + i] = kind == 0 ? (uint8_t)x :
				    kind == 1 ? 0xff : (uint8_t)('a' + x % 26);
			}
			if (kind == 3 && len > 0) {
				buf[off] = '"';
				buf[off + len - 1] = 0x80;
			}
			check_truncation(buf + off, len);
		}
}

static void
test_truncation_examples(void **state)
{
	char	 out[16];

	(void)state;
	/* "\x01" does not fit in 7 with "...": "ab" + "..." */
	assert_int_equal(text_escape(out, 7, (const uint8_t *)"ab\x01z", 4),
	    5);
	assert_string_equal(out, "ab...");
	assert_int_equal(text_escape(out, 1, (const uint8_t *)"abc", 3), 0);
	assert_string_equal(out, "");
	assert_int_equal(text_escape(out, 2, (const uint8_t *)"abc", 3), 1);
	assert_string_equal(out, ".");
	assert_int_equal(text_escape(out, 4, (const uint8_t *)"abc", 3), 3);
	assert_string_equal(out, "abc");
	assert_int_equal(text_escape(out, 4, (const uint8_t *)"abcd", 4), 3);
	assert_string_equal(out, "...");
	assert_int_equal(text_escape(out, 5, (const uint8_t *)"\n\n", 2), 4);
	assert_string_equal(out, "\\n\\n");
}

/*
 * text_token(): escapes pass whole, every other byte comes out as
 * text_escape() writes it, and a backslash or an escape cut short is
 * escaped itself.
 */
static void
test_token(void **state)
{
	static const char *const pass[] = { "\\\\", "\\\"", "\\r", "\\n",
	    "\\t", "\\x00", "\\xfF", "\\xA9" };
	char		 out[TEXT_TOKEN_MAX], want[8], in[2];
	size_t		 i, n, used;

	(void)state;
	for (i = 0; i < sizeof(pass) / sizeof(pass[0]); i++) {
		n = text_token(pass[i], strlen(pass[i]), &used, out);
		assert_int_equal(n, strlen(pass[i]));
		assert_int_equal(used, n);
		assert_memory_equal(out, pass[i], n);
	}
	for (i = 1; i < 256; i++) {
		in[0] = (char)i;
		in[1] = 'x';
		n = text_token(in, 1, &used, out);
		assert_int_equal(used, 1);
		text_escape(want, sizeof(want), (const uint8_t *)in, 1);
		assert_int_equal(n, strlen(want));
		assert_memory_equal(out, want, n);
	}
	/* Cut short or unknown: the backslash alone is escaped. */
	assert_int_equal(text_token("\\x4", 3, &used, out), 2);
	assert_int_equal(used, 1);
	assert_memory_equal(out, "\\\\", 2);
	assert_int_equal(text_token("\\xg0", 4, &used, out), 2);
	assert_int_equal(text_token("\\q", 2, &used, out), 2);
	assert_int_equal(text_token("\\", 1, &used, out), 2);
	/* A NUL after the backslash ends the text: no escape. */
	assert_int_equal(text_token("\\\0", 2, &used, out), 2);
	assert_int_equal(used, 1);
}

static void
test_time(void **state)
{
	char	 buf[TEXT_TIME_LEN];

	(void)state;
	assert_string_equal(text_time(0, buf, sizeof(buf)),
	    "1970-01-01T00:00:00.000000Z");
	assert_string_equal(text_time(1700000000123456ULL, buf, sizeof(buf)),
	    "2023-11-14T22:13:20.123456Z");
	assert_string_equal(text_time(86399999999ULL, buf, sizeof(buf)),
	    "1970-01-01T23:59:59.999999Z");
	assert_string_equal(text_time(951782400000001ULL, buf, sizeof(buf)),
	    "2000-02-29T00:00:00.000001Z");
	assert_string_equal(text_time(4102444799500000ULL, buf, sizeof(buf)),
	    "2099-12-31T23:59:59.500000Z");
	/* A short buffer is cut, still NUL-terminated. */
	text_time(0, buf, 5);
	assert_string_equal(buf, "1970");
	/* Beyond year 9999 the format has no room. */
	assert_string_equal(text_time(253402300800ULL * 1000000, buf,
	    sizeof(buf)), "invalid-time");
}

/* The hand-made formatter against gmtime_r over the whole range, and the
 * parser back. */
static void
test_time_against_libc(void **state)
{
	char		 buf[TEXT_TIME_LEN], want[64];
	struct tm	 tm;
	time_t		 t;
	uint64_t	 x = 88172645463325252ULL, secs, back;
	int		 i;

	(void)state;
	for (i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		secs = i < 1000 ? (uint64_t)i * 86399 : x % 253402300800ULL;
		t = (time_t)secs;
		assert_non_null(gmtime_r(&t, &tm));
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d."
		    "%06uZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		    tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(x % 1000000));
		text_time(secs * 1000000 + x % 1000000, buf, sizeof(buf));
		assert_string_equal(buf, want);
		assert_int_equal(text_parse_time(buf, &back), 0);
		assert_true(back == secs * 1000000 + x % 1000000);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_known_values),
		cmocka_unit_test(test_truncation_every_size),
		cmocka_unit_test(test_escape_random),
		cmocka_unit_test(test_truncation_examples),
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_time_against_libc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
