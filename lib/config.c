/*
 * config.c: the table of settings (name, type, default, range) and the
 * reader of "key = value" files, with file:line errors.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "config.h"

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
};

#define KIB	1024ULL
#define MIB	(1024ULL * KIB)
#define GIB	(1024ULL * MIB)

static int	check_format(const char *, char *, size_t);
static int	check_facility(const char *, char *, size_t);
static int	check_syslog(const char *, char *, size_t);

#define NUM(n, f, d, lo, hi) \
	{ n, CT_NUM, offsetof(struct config, f), 0, d, lo, hi, NULL }
#define SIZE(n, f, d, lo, hi) \
	{ n, CT_SIZE, offsetof(struct config, f), 0, d, lo, hi, NULL }
#define BOOL(n, f, d) \
	{ n, CT_BOOL, offsetof(struct config, f), 0, d, 0, 1, NULL }
#define STR(n, f, d, chk) \
	{ n, CT_STR, offsetof(struct config, f), \
	  sizeof(((struct config *)0)->f), d, 0, 0, chk }

/*
 * Every setting. The reasons for each default are in conf/stripwatch.conf;
 * the ranges reject values that would make the sensor useless or unbounded.
 */
static const struct config_item items[] = {
	STR("interface", interface, "", NULL),
	STR("filter", filter,
	    "tcp port 25 or tcp port 587 or tcp port 2525", NULL),
	BOOL("filter_encapsulated", filter_encapsulated, "yes"),
	SIZE("snaplen", snaplen, "262144", 96, 262144),
	BOOL("promisc", promisc, "yes"),
	SIZE("buffer_size", buffer_size, "64M", 1 * MIB, 4 * GIB),
	NUM("capture_timeout_ms", capture_timeout_ms, "100", 1, 10000),
	BOOL("immediate", immediate, "no"),
	NUM("dispatch_budget", dispatch_budget, "4096", 1, 1000000),
	NUM("workers", workers, "1", 1, 64),
	SIZE("frag_memcap", frag_memcap, "4M", 64 * KIB, 1 * GIB),
	NUM("frag_max_datagrams", frag_max_datagrams, "4096", 1, 1048576),
	NUM("frag_timeout", frag_timeout, "30", 1, 600),
	NUM("max_flows", max_flows, "65536", 16, 16777216),
	NUM("flow_idle_timeout", flow_idle_timeout, "600", 1, 86400),
	NUM("flow_linger", flow_linger, "30", 0, 3600),
	SIZE("reasm_memcap", reasm_memcap, "32M", 64 * KIB, 64 * GIB),
	SIZE("reasm_ooo_max", reasm_ooo_max, "256K", 4 * KIB, 64 * MIB),
	SIZE("reasm_depth", reasm_depth, "0", 0, 4 * GIB - 1),
	SIZE("reasm_conflict_window", reasm_conflict_window, "2K", 0, 1 * MIB),
	NUM("history_max_servers", history_max_servers, "65536", 1, 16777216),
	NUM("vanished_after", vanished_after, "1", 1, 1000000),
	SIZE("smtp_max_line", smtp_max_line, "4096", 512, 1 * MIB),
	NUM("smtp_max_pipeline", smtp_max_pipeline, "64", 1, 100000),
	SIZE("tls_max_bytes", tls_max_bytes, "32K", 1 * KIB, 1 * MIB),
	STR("database", database, "", NULL),
	NUM("db_queue_max", db_queue_max, "100000", 1, 100000000),
	NUM("db_busy_timeout_ms", db_busy_timeout_ms, "200", 0, 60000),
	NUM("db_flush_interval_ms", db_flush_interval_ms, "1000", 10, 600000),
	NUM("db_final_timeout", db_final_timeout, "30", 0, 3600),
	NUM("retention_days", retention_days, "90", 0, 36500),
	NUM("stats_interval", stats_interval, "60", 1, 86400),
	STR("syslog", syslog, "auto", check_syslog),
	STR("syslog_facility", syslog_facility, "daemon", check_facility),
	STR("alert_format", alert_format, "plain", check_format),
	NUM("alert_rate_limit", alert_rate_limit, "600", 0, 100000000),
	NUM("alert_rate_interval", alert_rate_interval, "60", 1, 86400),
	STR("user", user, "stripwatch", NULL),
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
	if (strcmp(v, "plain") == 0 || strcmp(v, "rfc5424") == 0)
		return 0;
	snprintf(err, errlen, "alert_format must be plain or rfc5424");
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

int
config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	FILE		*fp;
	char		 line[CONFIG_STR_MAX + 128], msg[CONFIG_STR_MAX];
	unsigned	 lineno = 0;
	size_t		 n;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		n = strlen(line);
		if (n == sizeof(line) - 1 && line[n - 1] != '\n') {
			snprintf(err, errlen, "%s:%u: line too long", path,
			    lineno);
			fclose(fp);
			return -1;
		}
		if (parse_line(c, line, msg, sizeof(msg)) == -1) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
			fclose(fp);
			return -1;
		}
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: read error", path);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	return 0;
}

void
config_dump(const struct config *c, void (*out)(void *, const char *),
    void *arg)
{
	char		 line[CONFIG_STR_MAX + 64];
	const char	*field;
	uint64_t	 n;
	size_t		 i;

	for (i = 0; i < NITEMS; i++) {
		field = (const char *)c + items[i].off;
		if (items[i].type == CT_STR)
			snprintf(line, sizeof(line), "%s = \"%s\"",
			    items[i].name, field);
		else {
			memcpy(&n, field, sizeof(n));
			if (items[i].type == CT_BOOL)
				snprintf(line, sizeof(line), "%s = %s",
				    items[i].name, n ? "yes" : "no");
			else
				snprintf(line, sizeof(line), "%s = %" PRIu64,
				    items[i].name, n);
		}
		out(arg, line);
	}
}
