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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#ifndef TOP
#define TOP "."
#endif

static char	 tmpfile_path[64];

static const char *
write_conf(const char *text)
{
	FILE	*fp;
	int	 fd;

	snprintf(tmpfile_path, sizeof(tmpfile_path), "/tmp/swconfXXXXXX");
	fd = mkstemp(tmpfile_path);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return tmpfile_path;
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
expect_error(const char *text, const char *want)
{
	struct config	 c;
	char		 err[1200];
	const char	*p;

	config_defaults(&c);
	p = write_conf(text);
	assert_int_equal(config_load(&c, p, err, sizeof(err)), -1);
	unlink(p);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
	/* file:line: message */
	assert_non_null(strstr(err, p));
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
	expect_error("alert_format = json\n", ":1: alert_format must be");
	expect_error("syslog_facility = kern\n", ":1: unknown syslog");
	expect_error("filter = \"tcp port 25\n", ":1: filter: missing closing "
	    "quote");
	expect_error("interface = \"eth1\" the SPAN port\n", ":1: interface: "
	    "text after the closing quote");
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
	    "tcp port 25 or tcp port 587 or tcp port 2525");
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
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_set_overrides),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
