/*
 * test_config.c: the configuration reader: the shipped conf/stripwatch.conf
 * names every setting with exactly its default; errors carry file:line;
 * ranges, units and booleans are enforced.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#ifndef TOP
#define TOP "."
#endif

static char	 tmpfile_path[64];

/* A file holding len bytes of text (NULs included). */
static const char *
write_conf_len(const char *text, size_t len)
{
	FILE	*fp;
	int	 fd;

	snprintf(tmpfile_path, sizeof(tmpfile_path), "/tmp/swconfXXXXXX");
	fd = mkstemp(tmpfile_path);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	fclose(fp);
	return tmpfile_path;
}

static const char *
write_conf(const char *text)
{
	return write_conf_len(text, strlen(text));
}

struct keys {
	char	 names[64][64];
	int	 n;
};

static void
collect(void *arg, const char *line)
{
	struct keys	*k = arg;

	assert_true(k->n < 64);
	assert_int_equal(sscanf(line, "%63s", k->names[k->n]), 1);
	k->n++;
}

/* path must hold every setting, each with its default, and nothing
 * unknown. */
static void
check_lists_defaults(const char *path)
{
	struct config	 def, file;
	struct keys	 keys;
	char		 err[1200], line[1200];
	FILE		*fp;
	int		 i, found;

	config_defaults(&def);
	config_defaults(&file);
	/* Start from garbage so every field must come from the file. */
	memset(&file, 0x5a, sizeof(file));
	config_defaults(&file);
	if (config_load(&file, path, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	assert_memory_equal(&def, &file, sizeof(def));
	memset(&keys, 0, sizeof(keys));
	config_dump(&def, collect, &keys);
	assert_true(keys.n > 20);
	for (i = 0; i < keys.n; i++) {
		fp = fopen(path, "r");
		assert_non_null(fp);
		found = 0;
		while (fgets(line, sizeof(line), fp) != NULL)
			if (strncmp(line, keys.names[i],
			    strlen(keys.names[i])) == 0 &&
			    line[strlen(keys.names[i])] == ' ')
				found = 1;
		fclose(fp);
		if (!found)
			fail_msg("setting %s missing from %s", keys.names[i],
			    path);
	}
}

/* The shipped file is the documentation. */
static void
test_shipped_conf_matches_defaults(void **state)
{
	char		 path[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/conf/stripwatch.conf", TOP);
	check_lists_defaults(path);
}

/* Undo the page's escapes of a value: \(dq, \e, \&. */
static void
man_unescape(const char *in, char *out, size_t outlen)
{
	size_t	 n = 0;

	while (*in != '\0' && n + 1 < outlen) {
		if (strncmp(in, "\\(dq", 4) == 0) {
			out[n++] = '"';
			in += 4;
		} else if (strncmp(in, "\\e", 2) == 0) {
			out[n++] = '\\';
			in += 2;
		} else if (strncmp(in, "\\&", 2) == 0)
			in += 2;
		else
			out[n++] = *in++;
	}
	out[n] = '\0';
}

/*
 * stripwatch.conf(5) lists every setting with its default: its
 * ".It Cm key No = Li "value"" lines, read back as a configuration file,
 * must give the defaults and name every setting.
 */
static void
test_manual_matches_defaults(void **state)
{
	static const char head[] = ".It Cm ";
	char		 line[1200], key[128], val[1100], conf[] =
			    "/tmp/swmanXXXXXX";
	char		*q;
	FILE		*man, *out;
	int		 fd, n = 0;

	(void)state;
	if ((man = fopen(CONF_MAN, "r")) == NULL)
		fail_msg("%s: cannot open", CONF_MAN);
	fd = mkstemp(conf);
	assert_true(fd >= 0);
	out = fdopen(fd, "w");
	assert_non_null(out);
	while (fgets(line, sizeof(line), man) != NULL) {
		if (strncmp(line, head, sizeof(head) - 1) != 0 ||
		    sscanf(line + sizeof(head) - 1, "%127s No = Li \"%1099[^\n]",
		    key, val) != 2)
			continue;
		if ((q = strrchr(val, '"')) == NULL)
			fail_msg("unquoted value: %s", line);
		*q = '\0';
		man_unescape(val, line, sizeof(line));
		fprintf(out, "%s = %s\n", key, line);
		n++;
	}
	fclose(man);
	fclose(out);
	assert_true(n > 20);
	check_lists_defaults(conf);
	unlink(conf);
}

static void
test_values_and_units(void **state)
{
	struct config	 c;
	char		 err[1200];
	const char	*p;

	(void)state;
	config_defaults(&c);
	p = write_conf("# comment\n\n  reasm_memcap = 8m\n"
	    "promisc=no\nfilter = \"tcp port 25\"\nmax_flows = 1000\n"
	    "tls_max_bytes = 2k\nalert_format = rfc5424\n");
	assert_int_equal(config_load(&c, p, err, sizeof(err)), 0);
	unlink(p);
	assert_int_equal(c.reasm_memcap, 8 * 1024 * 1024);
	assert_int_equal(c.promisc, 0);
	assert_string_equal(c.filter, "tcp port 25");
	assert_int_equal(c.max_flows, 1000);
	assert_int_equal(c.tls_max_bytes, 2048);
	assert_string_equal(c.alert_format, "rfc5424");
}

static void
expect_error_len(const char *text, size_t len, const char *want)
{
	struct config	 c;
	char		 err[1200];
	const char	*p;

	config_defaults(&c);
	p = write_conf_len(text, len);
	assert_int_equal(config_load(&c, p, err, sizeof(err)), -1);
	unlink(p);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
	/* file:line: message */
	assert_non_null(strstr(err, p));
}

static void
expect_error(const char *text, const char *want)
{
	expect_error_len(text, strlen(text), want);
}

static void
test_errors_have_file_line(void **state)
{
	(void)state;
	expect_error("max_flows = 10\n", ":1: max_flows: 10 out of range");
	expect_error("\n\nbogus = 1\n", ":3: unknown setting \"bogus\"");
	expect_error("promisc = maybe\n", ":1: promisc: expected yes or no");
	expect_error("# x\nreasm_memcap = 12q\n", ":2: reasm_memcap: "
	    "expected a number");
	expect_error("max_flows = -5\n", ":1: max_flows: expected a number");
	expect_error("max_flows = 99999999999999999999999\n",
	    ":1: max_flows: expected a number");
	expect_error("just words\n", ":1: expected \"key = value\"");
	expect_error("alert_format = xml\n", ":1: alert_format must be");
	expect_error("sensor_name = a/b\n", ":1: sensor_name \"a/b\"");
	expect_error("sensor_name = -x\n", ":1: sensor_name");
	expect_error("syslog_target = collector\n", ":1: syslog_target");
	expect_error("syslog_target = h:0\n", ":1: syslog_target");
	expect_error("syslog_target = h:65536\n", ":1: syslog_target");
	expect_error("syslog_target = 2001:db8::1:514\n", ":1: syslog_target");
	expect_error("syslog_target = [2001:db8::1]514\n",
	    ":1: syslog_target");
	expect_error("syslog_enterprise = 0\n", ":1: syslog_enterprise: 0");
	expect_error("syslog_facility = kern\n", ":1: unknown syslog");
	expect_error("filter = \"tcp port 25\n", ":1: filter: missing closing "
	    "quote");
	expect_error("interface = \"eth1\" the SPAN port\n", ":1: interface: "
	    "text after the closing quote");
}

/*
 * A NUL or a control byte is binary input, an error at its line: before,
 * a line of NULs counted as empty (-c /dev/zero never ended) and a NUL cut
 * a value silently.
 */
static void
test_binary_input(void **state)
{
	static const char cut[] = "max_flows = 1000\0 and more\n";
	static const char nul_after[] = "# ok\nmax_flows = 1000\n\0\n";
	char		 zeros[600];

	(void)state;
	expect_error_len(cut, sizeof(cut) - 1,
	    ":1: NUL byte 0x00 at column 17");
	expect_error_len(nul_after, sizeof(nul_after) - 1, ":3: NUL byte");
	memset(zeros, 0, sizeof(zeros));
	expect_error_len(zeros, sizeof(zeros), ":1: NUL byte");
	expect_error("filter = \"tcp\033[2J\"\n",
	    ":1: control byte 0x1b at column 14");
	expect_error("max_flows = 10\r00\n", ":1: control byte 0x0d");
}

/* An over-long line is an error at its line, not cut into two. */
static void
test_long_line(void **state)
{
	char	 text[3000];

	(void)state;
	memset(text, 0, sizeof(text));
	strcpy(text, "max_flows = 1000\n# ");
	memset(text + strlen(text), 'x', 2000);
	strcat(text, "\n");
	expect_error(text, ":2: line too long (2002 bytes, at most");
}

static void
test_crlf_and_tabs(void **state)
{
	struct config	 c;
	char		 err[1200];
	const char	*p;

	(void)state;
	config_defaults(&c);
	p = write_conf("max_flows\t=\t1000\r\nuser = \"mail\"\r\n");
	assert_int_equal(config_load(&c, p, err, sizeof(err)), 0);
	unlink(p);
	assert_int_equal(c.max_flows, 1000);
	assert_string_equal(c.user, "mail");
}

static void
expect_refused(const char *path, const char *want)
{
	struct config	 c;
	char		 err[1200];

	config_defaults(&c);
	assert_int_equal(config_load(&c, path, err, sizeof(err)), -1);
	if (strstr(err, path) == NULL || strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s: ...%s\"", err, path, want);
}

/*
 * Not a regular file: refused before reading, without blocking (a FIFO
 * with no writer) or spinning (/dev/zero). The alarm turns a hang into a
 * failure.
 */
static void
test_not_a_regular_file(void **state)
{
	char	 fifo[64];

	(void)state;
	alarm(10);
	expect_refused("/dev/zero", "not a regular file");
	expect_refused("/tmp", "not a regular file");
	snprintf(fifo, sizeof(fifo), "/tmp/swfifo.%d", (int)getpid());
	assert_int_equal(mkfifo(fifo, 0600), 0);
	expect_refused(fifo, "not a regular file");
	unlink(fifo);
	alarm(0);
}

static void
test_oversized_file(void **state)
{
	const size_t	 len = 1024 * 1024 + 1;
	char		*text;
	const char	*p;

	(void)state;
	assert_non_null(text = malloc(len));
	memset(text, '\n', len);
	p = write_conf_len(text, len);
	free(text);
	expect_refused(p, "larger than 1048576 bytes");
	unlink(p);
}

/*
 * buffer_size reaches pcap_set_buffer_size() as an int: 2g would wrap and
 * be ignored by libpcap (a 2 MiB ring), so the range ends at INT_MAX.
 */
static void
test_ranges_fit_their_calls(void **state)
{
	struct config	 c;
	char		 err[1200];

	(void)state;
	config_defaults(&c);
	assert_int_equal(config_set(&c, "buffer_size", "2g", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "buffer_size: 2147483648 out of range "
	    "1048576..2147483647"));
	assert_int_equal(config_set(&c, "buffer_size", "4g", err,
	    sizeof(err)), -1);
	assert_int_equal(config_set(&c, "buffer_size", "2047m", err,
	    sizeof(err)), 0);
	assert_int_equal(c.buffer_size, 2047ULL * 1024 * 1024);
	assert_int_equal(config_set(&c, "buffer_size", "2147483647", err,
	    sizeof(err)), 0);
	assert_int_equal(c.buffer_size, 2147483647ULL);
	/* reasm_depth reaches a uint32_t: 4g - 1 is its largest value. */
	assert_int_equal(config_set(&c, "reasm_depth", "4294967296", err,
	    sizeof(err)), -1);
	assert_int_equal(config_set(&c, "reasm_depth", "4294967295", err,
	    sizeof(err)), 0);
}

struct changes {
	char	 text[512];
	int	 n;
};

static void
record_change(void *arg, const struct config_change *ch)
{
	struct changes	*r = arg;
	size_t		 used = strlen(r->text);

	snprintf(r->text + used, sizeof(r->text) - used, "%s%s %s->%s%s",
	    r->n > 0 ? ", " : "", ch->name, ch->was, ch->now,
	    ch->restart ? " restart" : "");
	r->n++;
}

/*
 * A reload applies what it can and sets back what needs a restart, each
 * change reported once, in the table's order.
 */
static void
test_reload_classifies_changes(void **state)
{
	struct config	 run, next;
	struct changes	 r;
	char		 err[1200];

	(void)state;
	config_defaults(&run);
	config_defaults(&next);
	assert_int_equal(config_reload(&run, &next, NULL, NULL), 0);
	assert_int_equal(config_set(&next, "max_flows", "1024", err,
	    sizeof(err)), 0);
	assert_int_equal(config_set(&next, "flow_idle_timeout", "5", err,
	    sizeof(err)), 0);
	assert_int_equal(config_set(&next, "filter", "tcp port 25", err,
	    sizeof(err)), 0);
	assert_int_equal(config_set(&next, "alert_format", "rfc5424", err,
	    sizeof(err)), 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(config_reload(&run, &next, record_change, &r), 4);
	assert_string_equal(r.text, "filter \"tcp port 25 or tcp port 587 or "
	    "tcp port 2525 or tcp port 143 or tcp port 110\"->\"tcp port 25\" "
	    "restart, max_flows 131072->1024 "
	    "restart, flow_idle_timeout 600->5, alert_format \"plain\"->"
	    "\"rfc5424\"");
	assert_int_equal(next.max_flows, 131072);
	assert_string_equal(next.filter, run.filter);
	assert_int_equal(next.flow_idle_timeout, 5);
	assert_string_equal(next.alert_format, "rfc5424");
	assert_int_equal(config_needs_restart("workers"), 1);
	assert_int_equal(config_needs_restart("stats_interval"), 0);
	assert_int_equal(config_needs_restart("no_such_setting"), -1);
}

/*
 * The shipped file marks exactly the settings a reload cannot apply with
 * "[restart]" in the comment above them.
 */
static void
test_shipped_conf_marks_restart(void **state)
{
	char	 line[1200], block[8192], key[64], path[256];
	FILE	*fp;
	int	 marked, checked = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/conf/stripwatch.conf", TOP);
	assert_non_null(fp = fopen(path, "r"));
	block[0] = '\0';
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (line[0] == '\n') {
			block[0] = '\0';
			continue;
		}
		if (line[0] == '#') {
			if (strlen(block) + strlen(line) < sizeof(block))
				strcat(block, line);
			continue;
		}
		assert_int_equal(sscanf(line, "%63s", key), 1);
		marked = strstr(block, "[restart]") != NULL;
		if (marked != config_needs_restart(key))
			fail_msg("%s: %s is %smarked [restart]", path, key,
			    marked ? "" : "not ");
		checked++;
	}
	fclose(fp);
	assert_true(checked > 20);
}

/* The README's list of the settings a reload cannot apply is the table's. */
static void
test_readme_lists_restart(void **state)
{
	static const char marker[] = "[restart] in conf/stripwatch.conf):";
	struct config	 def;
	struct keys	 keys;
	char		 path[256], *text, *list, *end, *name;
	FILE		*fp;
	long		 len;
	int		 i, listed = 0, restart = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/README", TOP);
	assert_non_null(fp = fopen(path, "r"));
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	assert_true((len = ftell(fp)) > 0);
	rewind(fp);
	assert_non_null(text = calloc(1, (size_t)len + 1));
	assert_int_equal(fread(text, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	assert_non_null(list = strstr(text, marker));
	list += strlen(marker);
	assert_non_null(end = strchr(list, '.'));
	*end = '\0';
	for (name = strtok(list, ", \n"); name != NULL;
	    name = strtok(NULL, ", \n")) {
		if (config_needs_restart(name) != 1)
			fail_msg("README lists %s as needing a restart", name);
		listed++;
	}
	free(text);
	config_defaults(&def);
	memset(&keys, 0, sizeof(keys));
	config_dump(&def, collect, &keys);
	for (i = 0; i < keys.n; i++)
		restart += config_needs_restart(keys.names[i]) == 1;
	assert_int_equal(listed, restart);
}

/* Names that need no escaping anywhere, and the target's two shapes. */
static void
test_sensor_and_target(void **state)
{
	char		 host[64], longname[CONFIG_SENSOR_MAX + 1];
	uint16_t	 port = 0;

	(void)state;
	assert_true(config_sensor_ok("mx-tap1.example.net"));
	assert_true(config_sensor_ok("S_2"));
	assert_false(config_sensor_ok(""));
	assert_false(config_sensor_ok(".x"));
	assert_false(config_sensor_ok("a b"));
	assert_false(config_sensor_ok("a\"b"));
	assert_false(config_sensor_ok("caf\xc3\xa9"));
	memset(longname, 'a', sizeof(longname));
	longname[CONFIG_SENSOR_MAX - 1] = '\0';
	assert_true(config_sensor_ok(longname));
	longname[CONFIG_SENSOR_MAX - 1] = 'a';
	longname[CONFIG_SENSOR_MAX] = '\0';
	assert_false(config_sensor_ok(longname));

	assert_int_equal(config_target("logs.example.net:6514", host,
	    sizeof(host), &port), 0);
	assert_string_equal(host, "logs.example.net");
	assert_int_equal(port, 6514);
	assert_int_equal(config_target("[2001:db8::1]:514", host,
	    sizeof(host), &port), 0);
	assert_string_equal(host, "2001:db8::1");
	assert_int_equal(port, 514);
	assert_int_equal(config_target(":514", host, sizeof(host), &port), -1);
	assert_int_equal(config_target("[]:514", host, sizeof(host), &port),
	    -1);
	assert_int_equal(config_target("h:51x", host, sizeof(host), &port), -1);
	assert_int_equal(config_target("h:", host, sizeof(host), &port), -1);
	assert_int_equal(config_target("h:+5", host, sizeof(host), &port), -1);
	assert_int_equal(config_target("verylonghostname:1", host, 8, &port),
	    -1);
}

static void
test_missing_file(void **state)
{
	struct config	 c;
	char		 err[1200];

	(void)state;
	config_defaults(&c);
	assert_int_equal(config_load(&c, "/nonexistent/sw.conf", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/sw.conf"));
}

static void
test_set_overrides(void **state)
{
	struct config	 c;
	char		 err[1200];
	char		 longv[CONFIG_STR_MAX + 10];

	(void)state;
	config_defaults(&c);
	assert_int_equal(config_set(&c, "database", "/tmp/x.db", err,
	    sizeof(err)), 0);
	assert_string_equal(c.database, "/tmp/x.db");
	memset(longv, 'a', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	assert_int_equal(config_set(&c, "filter", longv, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "too long"));
	assert_string_equal(c.filter,
	    "tcp port 25 or tcp port 587 or tcp port 2525 or tcp port 143 or "
	    "tcp port 110");
	assert_true(config_facility("local3") > 0);
	assert_int_equal(config_facility("nope"), -1);
}

/*
 * A comment after a value is not part of it, quoted or not: read as part
 * of the interface name it passed -n and failed at start. A "#" inside a
 * word or inside quotes stays.
 */
static void
test_inline_comments(void **state)
{
	struct config	 c;
	char		 err[1200];
	const char	*p;

	(void)state;
	config_defaults(&c);
	p = write_conf("interface = \"eth1\"  # the SPAN port\n"
	    "max_flows = 1000\t# more than the default\n"
	    "user = sw # not root\n"
	    "database = /var/lib/a#b.db  # a hash in a word stays\n"
	    "filter = \"tcp port 25 # and no more\"#closing\n");
	assert_int_equal(config_load(&c, p, err, sizeof(err)), 0);
	unlink(p);
	assert_string_equal(c.interface, "eth1");
	assert_int_equal(c.max_flows, 1000);
	assert_string_equal(c.user, "sw");
	assert_string_equal(c.database, "/var/lib/a#b.db");
	assert_string_equal(c.filter, "tcp port 25 # and no more");
	p = write_conf("interface = # none yet\n");
	assert_int_equal(config_load(&c, p, err, sizeof(err)), 0);
	unlink(p);
	assert_string_equal(c.interface, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_conf_matches_defaults),
		cmocka_unit_test(test_manual_matches_defaults),
		cmocka_unit_test(test_values_and_units),
		cmocka_unit_test(test_inline_comments),
		cmocka_unit_test(test_errors_have_file_line),
		cmocka_unit_test(test_binary_input),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_crlf_and_tabs),
		cmocka_unit_test(test_not_a_regular_file),
		cmocka_unit_test(test_oversized_file),
		cmocka_unit_test(test_ranges_fit_their_calls),
		cmocka_unit_test(test_reload_classifies_changes),
		cmocka_unit_test(test_shipped_conf_marks_restart),
		cmocka_unit_test(test_readme_lists_restart),
		cmocka_unit_test(test_sensor_and_target),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_set_overrides),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
