/*
 * config.c: the table of settings (name, type, default, range, whether a
 * reload can apply it) and the reader of "key = value" files, with
 * file:line errors.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "mail.h"
#include "tcp.h"

enum config_type {
	CT_NUM,		/* unsigned integer */
	CT_SIZE,	/* bytes, with optional k/m/g suffix (powers of 1024) */
	CT_BOOL,	/* yes/no, on/off, true/false, 1/0 */
	CT_STR		/* text up to the field's size */
};

struct config_item {
	const char	*name;
	enum config_type type;
	size_t		 off;
	size_t		 size;		/* CT_STR: field size */
	const char	*def;		/* default, parsed like file text */
	uint64_t	 min, max;	/* numbers: accepted range */
	int		(*check)(const char *, char *, size_t);
	int		 restart;	/* a reload cannot apply it */
};

#define KIB	1024ULL
#define MIB	(1024ULL * KIB)
#define GIB	(1024ULL * MIB)

static int	check_format(const char *, char *, size_t);
static int	check_facility(const char *, char *, size_t);
static int	check_syslog(const char *, char *, size_t);
static int	check_checksum(const char *, char *, size_t);
static int	check_sensor(const char *, char *, size_t);
static int	check_target(const char *, char *, size_t);

/*
 * A configuration file is a few KiB of text; anything much larger, or not
 * a regular file (a device, a FIFO), is refused before it is read.
 */
#define CONFIG_FILE_MAX	(1024 * 1024)
#define CONFIG_LINE_MAX	(CONFIG_STR_MAX + 128)	/* longest value, its key,
						   quotes and spaces */

/*
 * Narrower types the values are handed on in: the range of a setting stops
 * where the call that takes it would cut it (pcap_set_buffer_size takes an
 * int; memory caps become size_t).
 */
#define INT_ARG_MAX	((uint64_t)INT_MAX)
#define SIZE_ARG_MAX(x)	((uint64_t)(x) < SIZE_MAX ? (uint64_t)(x) : SIZE_MAX)

#define ITEM(n, t, f, d, lo, hi, chk, rs) \
	{ n, t, offsetof(struct config, f), t == CT_STR ? \
	  sizeof(((struct config *)0)->f) : 0, d, lo, hi, chk, rs }
#define NUM(n, f, d, lo, hi)	ITEM(n, CT_NUM, f, d, lo, hi, NULL, 0)
#define SIZE(n, f, d, lo, hi)	ITEM(n, CT_SIZE, f, d, lo, hi, NULL, 0)
#define BOOL(n, f, d)		ITEM(n, CT_BOOL, f, d, 0, 1, NULL, 0)
#define STR(n, f, d, chk)	ITEM(n, CT_STR, f, d, 0, 0, chk, 0)
/* The same for settings a reload cannot apply: the running value stays. */
#define NUM_RESTART(n, f, d, lo, hi) ITEM(n, CT_NUM, f, d, lo, hi, NULL, 1)
#define SIZE_RESTART(n, f, d, lo, hi) ITEM(n, CT_SIZE, f, d, lo, hi, NULL, 1)
#define BOOL_RESTART(n, f, d)	ITEM(n, CT_BOOL, f, d, 0, 1, NULL, 1)
#define STR_RESTART(n, f, d, chk) ITEM(n, CT_STR, f, d, 0, 0, chk, 1)

/*
 * Every setting. The reasons for each default are in conf/stripwatch.conf;
 * the ranges reject values that would make the sensor useless or unbounded.
 */
static const struct config_item items[] = {
	STR_RESTART("interface", interface, "", NULL),
	STR_RESTART("filter", filter, MAIL_PORTS_FILTER, NULL),
	BOOL_RESTART("filter_encapsulated", filter_encapsulated, "yes"),
	SIZE_RESTART("snaplen", snaplen, "262144", 96, 262144),
	BOOL_RESTART("promisc", promisc, "yes"),
	SIZE_RESTART("buffer_size", buffer_size, "64M", 1 * MIB, INT_ARG_MAX),
	NUM_RESTART("capture_timeout_ms", capture_timeout_ms, "100", 1, 10000),
	BOOL_RESTART("immediate", immediate, "no"),
	NUM("dispatch_budget", dispatch_budget, "4096", 1, 1000000),
	NUM_RESTART("workers", workers, "1", 1, 64),
	SIZE("frag_memcap", frag_memcap, "4M", 64 * KIB, 1 * GIB),
	NUM("frag_max_datagrams", frag_max_datagrams, "4096", 1, 1048576),
	NUM("frag_timeout", frag_timeout, "30", 1, 600),
	NUM_RESTART("max_flows", max_flows, "131072", 16, 16777216),
	NUM("flow_no_data_max", flow_no_data_max, "65536", 0, 16777216),
	NUM("flow_idle_timeout", flow_idle_timeout, "600", 1, 86400),
	NUM("flow_linger", flow_linger, "30", 0, 3600),
	NUM_RESTART("flow_resume_max", flow_resume_max, "65536", 0,
	    16777216),
	SIZE("reasm_memcap", reasm_memcap, "32M", 64 * KIB,
	    SIZE_ARG_MAX(64 * GIB)),
	SIZE("reasm_ooo_max", reasm_ooo_max, "256K", 4 * KIB, 64 * MIB),
	SIZE("reasm_depth", reasm_depth, "0", 0, 4 * GIB - 1),
	SIZE("reasm_conflict_window", reasm_conflict_window, "2K", 0, 1 * MIB),
	NUM("reasm_ack_grace_ms", reasm_ack_grace_ms, "200", 0, 60000),
	STR("checksum_validation", checksum_validation, "auto",
	    check_checksum),
	NUM_RESTART("history_max_servers", history_max_servers, "65536", 1,
	    16777216),
	NUM("vanished_after", vanished_after, "1", 1, 1000000),
	SIZE("smtp_max_line", smtp_max_line, "4096", 512, 1 * MIB),
	NUM("smtp_max_pipeline", smtp_max_pipeline, "64", 1, 100000),
	SIZE("tls_max_bytes", tls_max_bytes, "32K", 1 * KIB, 1 * MIB),
	NUM_RESTART("tls_cert_cache", tls_cert_cache, "64", 0, 65536),
	SIZE("smtp_memcap", smtp_memcap, "16M", 64 * KIB,
	    SIZE_ARG_MAX(64 * GIB)),
	STR_RESTART("database", database, "", NULL),
	NUM("db_queue_max", db_queue_max, "100000", 1, 100000000),
	SIZE("db_queue_memcap", db_queue_memcap, "32M", 64 * KIB, 64 * GIB),
	NUM("db_busy_timeout_ms", db_busy_timeout_ms, "200", 0, 60000),
	NUM("db_flush_interval_ms", db_flush_interval_ms, "1000", 10, 600000),
	NUM("db_final_timeout", db_final_timeout, "30", 0, 3600),
	SIZE("db_wal_warn", db_wal_warn, "64M", 0, 1024 * GIB),
	NUM("retention_days", retention_days, "90", 0, 36500),
	NUM("stats_interval", stats_interval, "60", 1, 86400),
	NUM("limit_log_interval", limit_log_interval, "60", 1, 86400),
	STR("syslog", syslog, "auto", check_syslog),
	STR("syslog_facility", syslog_facility, "daemon", check_facility),
	STR("alert_format", alert_format, "plain", check_format),
	NUM("alert_rate_limit", alert_rate_limit, "600", 0, 100000000),
	NUM("alert_rate_interval", alert_rate_interval, "60", 1, 86400),
	STR_RESTART("syslog_target", syslog_target, "", check_target),
	NUM("syslog_enterprise", syslog_enterprise, "32473", 1, 4294967295ULL),
	SIZE_RESTART("syslog_queue_max", syslog_queue_max, "1M", 64 * KIB, 1 * GIB),
	NUM("syslog_final_timeout", syslog_final_timeout, "5", 0, 3600),
	STR("json_log", json_log, "", NULL),
	STR_RESTART("user", user, "stripwatch", NULL),
	STR("sensor_name", sensor_name, "", check_sensor),
};

#define NITEMS	(sizeof(items) / sizeof(items[0]))

static const struct {
	const char	*name;
	int		 facility;
} facilities[] = {
	{ "daemon", LOG_DAEMON }, { "user", LOG_USER }, { "mail", LOG_MAIL },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

int
config_facility(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcmp(facilities[i].name, name) == 0)
			return facilities[i].facility;
	return -1;
}

static int
check_facility(const char *v, char *err, size_t errlen)
{
	if (config_facility(v) >= 0)
		return 0;
	snprintf(err, errlen, "unknown syslog facility \"%s\"", v);
	return -1;
}

static int
check_format(const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "plain") == 0 || strcmp(v, "rfc5424") == 0 ||
	    strcmp(v, "json") == 0)
		return 0;
	snprintf(err, errlen, "alert_format must be plain, rfc5424 or json");
	return -1;
}

static int
check_syslog(const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "auto") == 0 || strcmp(v, "yes") == 0 ||
	    strcmp(v, "no") == 0)
		return 0;
	snprintf(err, errlen, "syslog must be auto, yes or no");
	return -1;
}

static int
check_checksum(const char *v, char *err, size_t errlen)
{
	if (tcp_checksum_mode_parse(v) >= 0)
		return 0;
	snprintf(err, errlen, "checksum_validation must be auto, yes or no");
	return -1;
}

int
config_sensor_ok(const char *name)
{
	size_t	 n = strlen(name);

	if (n == 0 || n >= CONFIG_SENSOR_MAX || name[0] == '.' ||
	    name[0] == '-')
		return 0;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") == n;
}

/* "" is the default: the host name, checked when it is read. */
static int
check_sensor(const char *v, char *err, size_t errlen)
{
	if (v[0] == '\0' || config_sensor_ok(v))
		return 0;
	snprintf(err, errlen, "sensor_name \"%s\": 1 to %d letters, digits, "
	    "'.', '_' or '-', not starting with '.' or '-'", v,
	    CONFIG_SENSOR_MAX - 1);
	return -1;
}

int
config_target(const char *target, char *host, size_t hostlen,
    uint16_t *port)
{
	const char	*colon, *h = target, *end;
	unsigned long	 p;
	char		*pe;

	if (target[0] == '[') {
		h = target + 1;
		if ((end = strchr(h, ']')) == NULL || end[1] != ':')
			return -1;
		colon = end + 1;
	} else {
		if ((colon = strrchr(target, ':')) == NULL ||
		    strchr(target, ':') != colon)
			return -1;
		end = colon;
	}
	if (end == h || (size_t)(end - h) >= hostlen ||
	    !isdigit((unsigned char)colon[1]))
		return -1;
	errno = 0;
	p = strtoul(colon + 1, &pe, 10);
	if (errno != 0 || *pe != '\0' || p == 0 || p > 65535)
		return -1;
	memcpy(host, h, (size_t)(end - h));
	host[end - h] = '\0';
	*port = (uint16_t)p;
	return 0;
}

static int
check_target(const char *v, char *err, size_t errlen)
{
	char		 host[CONFIG_STR_MAX];
	uint16_t	 port;

	if (v[0] == '\0' || config_target(v, host, sizeof(host), &port) == 0)
		return 0;
	snprintf(err, errlen, "syslog_target \"%s\": want host:port or "
	    "[IPv6 address]:port", v);
	return -1;
}

static const struct config_item *
find(const char *key)
{
	size_t	 i;

	for (i = 0; i < NITEMS; i++)
		if (strcmp(items[i].name, key) == 0)
			return &items[i];
	return NULL;
}

static int
parse_bool(const char *v, uint64_t *out)
{
	static const char *const yes[] = { "yes", "on", "true", "1" };
	static const char *const no[] = { "no", "off", "false", "0" };
	size_t	 i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/* Unsigned decimal with an optional k/m/g suffix when sized. */
static int
parse_num(const char *v, int sized, uint64_t *out)
{
	char		*end;
	unsigned long long n;
	uint64_t	 mul = 1;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0)
		return -1;
	if (sized && *end != '\0' && end[1] == '\0') {
		switch (tolower((unsigned char)*end)) {
		case 'k': mul = KIB; break;
		case 'm': mul = MIB; break;
		case 'g': mul = GIB; break;
		default: return -1;
		}
		end++;
	}
	if (*end != '\0' || (n != 0 && mul > UINT64_MAX / n))
		return -1;
	*out = n * mul;
	return 0;
}

static int
set_item(struct config *c, const struct config_item *it, const char *v,
    char *err, size_t errlen)
{
	uint64_t	 n = 0;
	char		*field = (char *)c + it->off;

	switch (it->type) {
	case CT_STR:
		if (strlen(v) >= it->size) {
			snprintf(err, errlen, "%s: value too long (max %zu)",
			    it->name, it->size - 1);
			return -1;
		}
		if (it->check != NULL && it->check(v, err, errlen) == -1)
			return -1;
		memcpy(field, v, strlen(v) + 1);
		return 0;
	case CT_BOOL:
		if (parse_bool(v, &n) == -1) {
			snprintf(err, errlen, "%s: expected yes or no, not "
			    "\"%s\"", it->name, v);
			return -1;
		}
		break;
	case CT_NUM:
	case CT_SIZE:
		if (parse_num(v, it->type == CT_SIZE, &n) == -1) {
			snprintf(err, errlen, "%s: expected a number%s, not "
			    "\"%s\"", it->name, it->type == CT_SIZE ?
			    " (suffix k, m or g allowed)" : "", v);
			return -1;
		}
		if (n < it->min || n > it->max) {
			snprintf(err, errlen, "%s: %" PRIu64 " out of range "
			    "%" PRIu64 "..%" PRIu64, it->name, n, it->min,
			    it->max);
			return -1;
		}
		break;
	}
	memcpy(field, &n, sizeof(n));
	return 0;
}

int
config_set(struct config *c, const char *key, const char *value, char *err,
    size_t errlen)
{
	const struct config_item *it;

	if ((it = find(key)) == NULL) {
		snprintf(err, errlen, "unknown setting \"%s\"", key);
		return -1;
	}
	return set_item(c, it, value, err, errlen);
}

void
config_defaults(struct config *c)
{
	char	 err[256];
	size_t	 i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < NITEMS; i++)
		if (set_item(c, &items[i], items[i].def, err, sizeof(err)) == -1)
			abort();	/* a default outside its own range */
}

static char *
trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/*
 * The value after "=", without a trailing comment: a "quoted" value ends at
 * its closing quote, an unquoted one at a "#" that starts a word, as in the
 * shell (so a path may hold a "#", and a quoted value anything but a
 * quote). A comment read as part of a value would be taken for an
 * interface or a path and only fail once the sensor starts. NULL, with a
 * message in err, when a quote is not closed or text follows it.
 */
static char *
value_of(const char *key, char *v, char *err, size_t errlen)
{
	char	*p;

	if (*v == '"') {
		if ((p = strchr(v + 1, '"')) == NULL) {
			snprintf(err, errlen, "%s: missing closing quote", key);
			return NULL;
		}
		*p++ = '\0';
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '\0' && *p != '#') {
			snprintf(err, errlen, "%s: text after the closing "
			    "quote (a comment starts with \"#\")", key);
			return NULL;
		}
		return v + 1;
	}
	for (p = v; *p != '\0'; p++)
		if (*p == '#' && (p == v || isspace((unsigned char)p[-1]))) {
			*p = '\0';
			break;
		}
	return trim(v);
}

/* One line: blank, "# comment", or "key = value", maybe "# comment". */
static int
parse_line(struct config *c, char *line, char *err, size_t errlen)
{
	char	*key, *eq, *val;

	key = trim(line);
	if (*key == '\0' || *key == '#')
		return 0;
	if ((eq = strchr(key, '=')) == NULL) {
		snprintf(err, errlen, "expected \"key = value\"");
		return -1;
	}
	*eq = '\0';
	key = trim(key);
	if ((val = value_of(key, trim(eq + 1), err, errlen)) == NULL)
		return -1;
	return config_set(c, key, val, err, errlen);
}

/*
 * The whole of path, NUL-terminated, in *textp (to free), if it is a
 * regular file of at most CONFIG_FILE_MAX bytes. O_NONBLOCK: opening a
 * FIFO must not wait for a writer before it is refused.
 */
static int
read_text(const char *path, char **textp, size_t *lenp, char *err,
    size_t errlen)
{
	struct stat	 st;
	char		*text = NULL;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd;

	memset(&st, 0, sizeof(st));
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)) ==
	    -1 || fstat(fd, &st) == -1)
		goto syserr;
	if (!S_ISREG(st.st_mode) || st.st_size > CONFIG_FILE_MAX)
		goto notconf;
	if ((text = malloc(CONFIG_FILE_MAX + 2)) == NULL)
		goto syserr;
	/* Read one byte past the bound: a file that grew is refused too. */
	while (len <= CONFIG_FILE_MAX && (n = read(fd, text + len,
	    CONFIG_FILE_MAX + 1 - len)) != 0) {
		if (n == -1 && errno != EINTR)
			goto syserr;
		len += n > 0 ? (size_t)n : 0;
	}
	if (len > CONFIG_FILE_MAX)
		goto notconf;
	close(fd);
	text[len] = '\0';
	*textp = text;
	*lenp = len;
	return 0;
syserr:
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	goto fail;
notconf:
	if (S_ISREG(st.st_mode))
		snprintf(err, errlen, "%s: larger than %d bytes: not a "
		    "configuration file", path, CONFIG_FILE_MAX);
	else
		snprintf(err, errlen, "%s: not a regular file", path);
fail:
	if (fd != -1)
		close(fd);
	free(text);
	return -1;
}

/*
 * A configuration line is text: a NUL or another control byte means a
 * binary file (or a NUL that would silently cut the value). Tabs are
 * blanks; a CR may end the line (a file edited on Windows).
 */
static int
check_text(const char *line, size_t len, char *err, size_t errlen)
{
	size_t		 i;
	unsigned char	 b;

	if (len > CONFIG_LINE_MAX) {
		snprintf(err, errlen, "line too long (%zu bytes, at most %d)",
		    len, CONFIG_LINE_MAX);
		return -1;
	}
	for (i = 0; i < len; i++) {
		b = (unsigned char)line[i];
		if (b == '\t' || (b == '\r' && i == len - 1) ||
		    (b >= 0x20 && b != 0x7f))
			continue;
		snprintf(err, errlen, "%s byte 0x%02x at column %zu: not a "
		    "text file", b == 0 ? "NUL" : "control", b, i + 1);
		return -1;
	}
	return 0;
}

int
config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	char		*text, *line, *end, *nl, msg[CONFIG_STR_MAX];
	size_t		 len;
	unsigned	 lineno = 0;
	int		 rc = 0;

	if (read_text(path, &text, &len, err, errlen) == -1)
		return -1;
	end = text + len;
	for (line = text; line < end && rc == 0; line = nl + 1) {
		lineno++;
		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL)
			nl = end;
		*nl = '\0';
		if (check_text(line, (size_t)(nl - line), msg,
		    sizeof(msg)) == -1 ||
		    parse_line(c, line, msg, sizeof(msg)) == -1) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
			rc = -1;
		}
	}
	free(text);
	return rc;
}

/* The value of one setting as the configuration file would write it. */
static void
format_value(const struct config *c, const struct config_item *it,
    char *out, size_t outlen)
{
	const char	*field = (const char *)c + it->off;
	uint64_t	 n;

	if (it->type == CT_STR) {
		snprintf(out, outlen, "\"%s\"", field);
		return;
	}
	memcpy(&n, field, sizeof(n));
	if (it->type == CT_BOOL)
		snprintf(out, outlen, "%s", n ? "yes" : "no");
	else
		snprintf(out, outlen, "%" PRIu64, n);
}

static int
same_value(const struct config *a, const struct config *b,
    const struct config_item *it)
{
	const char	*fa = (const char *)a + it->off;
	const char	*fb = (const char *)b + it->off;

	if (it->type == CT_STR)
		return strcmp(fa, fb) == 0;
	return memcmp(fa, fb, sizeof(uint64_t)) == 0;
}

int
config_needs_restart(const char *key)
{
	const struct config_item *it = find(key);

	return it == NULL ? -1 : it->restart;
}

int
config_reload(const struct config *run, struct config *next,
    void (*changed)(void *, const struct config_change *), void *arg)
{
	struct config_change ch;
	char		 was[CONFIG_STR_MAX + 4], now[CONFIG_STR_MAX + 4];
	size_t		 i;
	int		 n = 0;

	for (i = 0; i < NITEMS; i++) {
		if (same_value(run, next, &items[i]))
			continue;
		format_value(run, &items[i], was, sizeof(was));
		format_value(next, &items[i], now, sizeof(now));
		ch.name = items[i].name;
		ch.was = was;
		ch.now = now;
		ch.restart = items[i].restart;
		if (ch.restart)
			memcpy((char *)next + items[i].off,
			    (const char *)run + items[i].off, items[i].type ==
			    CT_STR ? items[i].size : sizeof(uint64_t));
		if (changed != NULL)
			changed(arg, &ch);
		n++;
	}
	return n;
}

void
config_dump(const struct config *c, void (*out)(void *, const char *),
    void *arg)
{
	char		 line[CONFIG_STR_MAX + 64], value[CONFIG_STR_MAX + 4];
	size_t		 i;

	for (i = 0; i < NITEMS; i++) {
		format_value(c, &items[i], value, sizeof(value));
		snprintf(line, sizeof(line), "%s = %s", items[i].name, value);
		out(arg, line);
	}
}
