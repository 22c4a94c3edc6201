/*
 * text.h: makes attacker-controlled bytes safe to print, log and store, and
 * formats times the same way everywhere.
 *
 * Output is printable ASCII only: bytes 0x20..0x7e pass, except '\\' and
 * '"' which are backslash-escaped; CR, LF and TAB become \r \n \t; every
 * other byte becomes \xHH. So no control character, terminal escape or
 * line break survives, and a value can be quoted in a key="value" line.
 */
#ifndef STRIPWATCH_TEXT_H
#define STRIPWATCH_TEXT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Escape len bytes of src into dst (size dstlen >= 1), always
 * NUL-terminated, never cutting an escape sequence in half. When the input
 * does not fit, the output ends in "..." within dstlen. Returns the length
 * of the output (without NUL).
 */
size_t	text_escape(char *dst, size_t dstlen, const uint8_t *src, size_t len);

/*
 * Format microseconds since the epoch as ISO-8601 UTC with microseconds,
 * "2026-11-28T19:38:31.123456Z". buf must hold TEXT_TIME_LEN bytes.
 */
#define TEXT_TIME_LEN	32
const char *text_time(uint64_t ts_us, char *buf, size_t len);

/*
 * Check text that should already be text_escape() output, one unit at a
 * time, before it goes into a line: src (len >= 1 bytes) starts a unit;
 * *used is set to the bytes it takes. A valid escape (\\ \" \r \n \t
 * \xHH) and a printable byte pass as they are; a backslash starting no
 * escape, a bare '"', a control byte, DEL or a byte >= 0x80 is escaped as
 * text_escape() would. Writes the unit into out (not NUL-terminated) and
 * returns its length. So whatever the input, the output is text_escape()
 * text.
 */
#define TEXT_TOKEN_MAX	4
size_t	text_token(const char *src, size_t len, size_t *used,
	    char out[TEXT_TOKEN_MAX]);

/* len bytes as lowercase hex into out (2 * len + 1 bytes), NUL-terminated. */
void	text_hex(char *out, const uint8_t *b, size_t len);

/* Parse text_time() output back; 0, or -1 (NULL or malformed text). */
int	text_parse_time(const char *text, uint64_t *ts_us);

/*
 * Raw bytes kept from the wire as evidence or for the record (a banner,
 * an EHLO name, a masked line, an SNI). Most sessions set few of them and
 * short ones, so the bytes are allocated when set, exactly as long as
 * needed; longer input is cut at TEXT_FIELD_MAX. A zeroed field is empty.
 */
#define TEXT_FIELD_MAX	256

struct text_field {
	uint8_t		*b;		/* raw, not NUL-terminated; NULL when
					   never set */
	uint16_t	 len;		/* bytes in b, <= TEXT_FIELD_MAX */
	uint16_t	 cap;		/* bytes allocated */
};

/*
 * Keep the first TEXT_FIELD_MAX bytes of p (n bytes) in t, replacing what
 * it held. When memory cannot be had, what fits the old allocation is
 * kept (cut), never more.
 */
void	text_field_set(struct text_field *t, const uint8_t *p, size_t n);

/* Give back t's bytes; t is empty again. */
void	text_field_free(struct text_field *t);

#endif
