/*
 * text.c: turns attacker-controlled bytes into printable ASCII that is safe
 * in a terminal, a syslog line, a quoted key="value" and a database column,
 * and formats packet times the one way the whole program prints them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "text.h"

/* Longest escape of one byte: "\xHH". */
#define TEXT_ESC_MAX	4

/* What a truncated output ends in, so a reader knows bytes are missing. */
#define TEXT_ELLIPSIS	"..."
#define TEXT_ELLIPSIS_LEN (sizeof(TEXT_ELLIPSIS) - 1)

#define TEXT_US_PER_S	1000000ULL

static size_t	 text_esc_byte(uint8_t c, char out[TEXT_ESC_MAX]);

/* The escape of c into out (not NUL-terminated); returns its length. */
static size_t
text_esc_byte(uint8_t c, char out[TEXT_ESC_MAX])
{
	static const char hex[] = "0123456789abcdef";

	switch (c) {
	case '\\':
	case '"':
		out[0] = '\\';
		out[1] = (char)c;
		return 2;
	case '\r':
		out[0] = '\\';
		out[1] = 'r';
		return 2;
	case '\n':
		out[0] = '\\';
		out[1] = 'n';
		return 2;
	case '\t':
		out[0] = '\\';
		out[1] = 't';
		return 2;
	}
	if (c >= 0x20 && c <= 0x7e) {
		out[0] = (char)c;
		return 1;
	}
	out[0] = '\\';
	out[1] = 'x';
	out[2] = hex[c >> 4];
	out[3] = hex[c & 0x0f];
	return 4;
}

/*
 * Whether a byte passes as it is (printable ASCII but for '\\' and '"'),
 * as a table built from that one rule: escaping is a lookup per byte.
 */
#define TEXT_P1(c)	((c) >= 0x20 && (c) <= 0x7e && (c) != '\\' && (c) != '"')
#define TEXT_P4(c)	TEXT_P1(c), TEXT_P1((c) + 1), TEXT_P1((c) + 2), \
			TEXT_P1((c) + 3)
#define TEXT_P16(c)	TEXT_P4(c), TEXT_P4((c) + 4), TEXT_P4((c) + 8), \
			TEXT_P4((c) + 12)
#define TEXT_P64(c)	TEXT_P16(c), TEXT_P16((c) + 16), TEXT_P16((c) + 32), \
			TEXT_P16((c) + 48)
static const uint8_t text_plain[256] = {
	TEXT_P64(0), TEXT_P64(64), TEXT_P64(128), TEXT_P64(192)
};

/*
 * One pass: runs of plain bytes are copied at once, other bytes escaped
 * one by one, while they fit in cap; keep follows the longest prefix that
 * still leaves room for the ellipsis (any point inside a run, the end of
 * an escape), where the output goes back to when the whole escape turns
 * out not to fit.
 */
size_t
text_escape(char *dst, size_t dstlen, const uint8_t *src, size_t len)
{
	char	 esc[TEXT_ESC_MAX];
	size_t	 cap, room, i = 0, j, n, out = 0, keep = 0;

	if (dstlen == 0)
		return 0;
	cap = dstlen - 1;		/* room for characters, NUL aside */
	room = cap >= TEXT_ELLIPSIS_LEN ? cap - TEXT_ELLIPSIS_LEN : 0;
	if (src == NULL)
		len = 0;
	while (i < len) {
		if (text_plain[src[i]]) {
			for (j = i + 1; j < len && text_plain[src[j]]; j++)
				;
			n = j - i < cap - out ? j - i : cap - out;
			memcpy(dst + out, src + i, n);
			if (out <= room)
				keep = out + n < room ? out + n : room;
			out += n;
			i += n;
			if (i < j)
				break;		/* the run did not fit */
			continue;
		}
		n = text_esc_byte(src[i], esc);
		if (n > cap - out)
			break;
		memcpy(dst + out, esc, n);
		out += n;
		i++;
		if (out <= room)
			keep = out;
	}
	if (i < len) {
		/* Truncated: as much of the ellipsis as fits (all of it
		 * unless dstlen < 4). */
		out = keep;
		n = cap - out < TEXT_ELLIPSIS_LEN ? cap - out :
		    TEXT_ELLIPSIS_LEN;
		memcpy(dst + out, TEXT_ELLIPSIS, n);
		out += n;
	}
	dst[out] = '\0';
	return out;
}

static int
text_ishex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

size_t
text_token(const char *src, size_t len, size_t *used,
    char out[TEXT_TOKEN_MAX])
{
	*used = 1;
	if (src[0] == '\\' && len >= 2 && src[1] != '\0' &&
	    strchr("\\\"rnt", src[1]) != NULL) {
		memcpy(out, src, 2);
		*used = 2;
		return 2;
	}
	if (src[0] == '\\' && len >= 4 && src[1] == 'x' &&
	    text_ishex(src[2]) && text_ishex(src[3])) {
		memcpy(out, src, 4);
		*used = 4;
		return 4;
	}
	return text_esc_byte((uint8_t)src[0], out);
}

/* Seconds in a day, and the first second of year 10000 (five digits). */
#define TEXT_S_PER_DAY		86400ULL
#define TEXT_Y10K_S		253402300800ULL

/*
 * Days since 1970-01-01 to a proleptic Gregorian date: count 400-year eras
 * from 0000-03-01, so that the leap day ends each year of the cycle
 * (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms").
 */
static void
civil_from_days(uint64_t days, unsigned *y, unsigned *m, unsigned *d)
{
	uint64_t	 z = days + 719468, era = z / 146097;
	unsigned	 doe = (unsigned)(z - era * 146097);
	unsigned	 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned	 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned	 mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (unsigned)(yoe + era * 400) + (*m <= 2);
}

/* "00" to "99": digits are written two at a time, one division each. */
static const char text_pairs[] =
    "00010203040506070809101112131415161718192021222324"
    "25262728293031323334353637383940414243444546474849"
    "50515253545556575859606162636465666768697071727374"
    "75767778798081828384858687888990919293949596979899";

/* n as exactly width (an even number) decimal digits at p. */
static char *
digits(char *p, unsigned n, int width)
{
	int	 i;

	for (i = width - 2; i >= 0; i -= 2) {
		memcpy(p + i, text_pairs + 2 * (n % 100), 2);
		n /= 100;
	}
	return p + width;
}

/*
 * Called for every row written: formatted by hand, a few dozen
 * instructions, where gmtime_r and snprintf cost thousands.
 */
const char *
text_time(uint64_t ts_us, char *buf, size_t len)
{
	uint64_t	 secs = ts_us / TEXT_US_PER_S, sod;
	unsigned	 y, mo, d;
	char		 out[TEXT_TIME_LEN], *p = out;
	size_t		 n;

	if (len == 0)
		return buf;
	if (secs >= TEXT_Y10K_S) {
		snprintf(buf, len, "invalid-time");
		return buf;
	}
	civil_from_days(secs / TEXT_S_PER_DAY, &y, &mo, &d);
	sod = secs % TEXT_S_PER_DAY;
	p = digits(p, y, 4);
	*p++ = '-';
	p = digits(p, mo, 2);
	*p++ = '-';
	p = digits(p, d, 2);
	*p++ = 'T';
	p = digits(p, (unsigned)(sod / 3600), 2);
	*p++ = ':';
	p = digits(p, (unsigned)(sod / 60 % 60), 2);
	*p++ = ':';
	p = digits(p, (unsigned)(sod % 60), 2);
	*p++ = '.';
	p = digits(p, (unsigned)(ts_us % TEXT_US_PER_S), 6);
	*p++ = 'Z';
	n = (size_t)(p - out) < len - 1 ? (size_t)(p - out) : len - 1;
	memcpy(buf, out, n);	/* a short buffer gets the start */
	buf[n] = '\0';
	return buf;
}

int
text_parse_time(const char *text, uint64_t *ts_us)
{
	struct tm	 tm;
	unsigned	 us;
	int		 n = 0;
	time_t		 secs;

	if (text == NULL)
		return -1;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d.%6uZ%n", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &us,
	    &n) != 7 || n == 0 || text[n] != '\0' || us >= TEXT_US_PER_S ||
	    tm.tm_year < 1970)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	if ((secs = timegm(&tm)) == (time_t)-1 || secs < 0)
		return -1;
	*ts_us = (uint64_t)secs * TEXT_US_PER_S + us;
	return 0;
}

void
text_hex(char *out, const uint8_t *b, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t		 i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 0xf];
	}
	out[2 * len] = '\0';
}

void
text_field_set(struct text_field *t, const uint8_t *p, size_t n)
{
	uint8_t		*nb;

	if (n > TEXT_FIELD_MAX)
		n = TEXT_FIELD_MAX;
	if (n > t->cap) {
		if ((nb = realloc(t->b, n)) != NULL) {
			t->b = nb;
			t->cap = (uint16_t)n;
		} else
			n = t->cap;
	}
	if (n > 0)
		memcpy(t->b, p, n);
	t->len = (uint16_t)n;
}

void
text_field_free(struct text_field *t)
{
	if (t->b == NULL)
		return;		/* most fields of most sessions */
	free(t->b);
	t->b = NULL;
	t->len = 0;
	t->cap = 0;
}
