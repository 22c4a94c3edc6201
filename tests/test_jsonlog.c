/*
 * test_jsonlog.c: the json_log file: whole lines through a rename and a
 * reopen, two processes appending at once, a full disk (dropped and
 * counted, said once), a line the disk took only in part, and the sink.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonlog.h"

static char	 dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/swjsonlog.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char	 cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

/* The file's lines into lines[] (at most max, each < width), counted. */
static size_t
read_file_lines(const char *path, char *lines, size_t width, size_t max)
{
	FILE	*f;
	size_t	 n = 0;

	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (n < max && fgets(lines + n * width, (int)width, f) != NULL)
		n++;
	fclose(f);
	return n;
}

static void
test_rename_and_reopen(void **state)
{
	static char	 lines[8][64];
	struct jsonlog	*j;
	char		 p[128], old[128], err[256];

	(void)state;
	path_of(p, sizeof(p), "eve.json");
	path_of(old, sizeof(old), "eve.json.1");
	assert_non_null(j = jsonlog_new("s"));
	assert_int_equal(jsonlog_write(j, "{\"n\":0}", 7), 0);	/* closed */
	assert_int_equal(jsonlog_get_stats(j)->written, 0);
	assert_int_equal(jsonlog_open(j, p, err, sizeof(err)), 0);
	assert_string_equal(jsonlog_path(j), p);
	jsonlog_write(j, "{\"n\":1}", 7);
	assert_int_equal(rename(p, old), 0);	/* logrotate */
	jsonlog_write(j, "{\"n\":2}", 7);	/* still the old file */
	assert_int_equal(jsonlog_open(j, p, err, sizeof(err)), 0); /* HUP */
	jsonlog_write(j, "{\"n\":3}", 7);
	assert_int_equal(read_file_lines(old, &lines[0][0], 64, 8), 2);
	assert_string_equal(lines[0], "{\"n\":1}\n");
	assert_string_equal(lines[1], "{\"n\":2}\n");
	assert_int_equal(read_file_lines(p, &lines[0][0], 64, 8), 1);
	assert_string_equal(lines[0], "{\"n\":3}\n");
	assert_int_equal(jsonlog_get_stats(j)->written, 3);
	assert_int_equal(jsonlog_get_stats(j)->dropped, 0);

	/* A path that cannot be opened keeps the file open so far. */
	assert_int_equal(jsonlog_open(j, "/nonexistent/x.json", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/x.json"));
	assert_string_equal(jsonlog_path(j), p);
	jsonlog_write(j, "{\"n\":4}", 7);
	assert_int_equal(read_file_lines(p, &lines[0][0], 64, 8), 2);
	/* "" closes. */
	assert_int_equal(jsonlog_open(j, "", err, sizeof(err)), 0);
	assert_string_equal(jsonlog_path(j), "");
	jsonlog_free(j);
}

/* Two processes, long lines, one file: every line comes out whole. */
static void
test_two_writers(void **state)
{
	enum { LINES = 500, LEN = 6000 };
	static char	 line[LEN + 1], got[LEN + 64];
	struct jsonlog	*j;
	char		 p[128], err[256];
	pid_t		 pid[2];
	FILE		*f;
	int		 w, i, status, count[2] = { 0, 0 };

	(void)state;
	path_of(p, sizeof(p), "two.json");
	for (w = 0; w < 2; w++) {
		if ((pid[w] = fork()) == 0) {
			j = jsonlog_new("s");
			if (j == NULL || jsonlog_open(j, p, err,
			    sizeof(err)) == -1)
				_exit(1);
			memset(line, 'a' + w, LEN);
			for (i = 0; i < LINES; i++)
				if (jsonlog_write(j, line, LEN) == -1)
					_exit(1);
			jsonlog_free(j);
			_exit(0);
		}
		assert_true(pid[w] > 0);
	}
	for (w = 0; w < 2; w++) {
		assert_int_equal(waitpid(pid[w], &status, 0), pid[w]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_non_null(f = fopen(p, "r"));
	while (fgets(got, sizeof(got), f) != NULL) {
		assert_int_equal(strlen(got), LEN + 1);
		assert_true(got[0] == 'a' || got[0] == 'b');
		assert_int_equal(strspn(got, got[0] == 'a' ? "a" : "b"), LEN);
		count[got[0] - 'a']++;
	}
	fclose(f);
	assert_int_equal(count[0], LINES);
	assert_int_equal(count[1], LINES);
}

/* A full disk: lines dropped and counted, said once, then recovery. */
static void
test_disk_full(void **state)
{
	struct jsonlog	*j;
	char		 p[128], err[256];
	const char	*news;

	(void)state;
	assert_non_null(j = jsonlog_new("s"));
	assert_int_equal(jsonlog_open(j, "/dev/full", err, sizeof(err)), 0);
	assert_int_equal(jsonlog_write(j, "{}", 2), -1);
	assert_int_equal(jsonlog_write(j, "{}", 2), -1);
	assert_int_equal(jsonlog_get_stats(j)->dropped, 2);
	assert_non_null(news = jsonlog_news(j));
	assert_non_null(strstr(news, "/dev/full: No space left on device"));
	assert_null(jsonlog_news(j));
	path_of(p, sizeof(p), "after.json");
	assert_int_equal(jsonlog_open(j, p, err, sizeof(err)), 0);
	assert_int_equal(jsonlog_write(j, "{}", 2), 0);
	assert_non_null(news = jsonlog_news(j));
	assert_non_null(strstr(news, "writing again"));
	assert_null(jsonlog_news(j));
	assert_int_equal(jsonlog_get_stats(j)->written, 1);
	jsonlog_free(j);
}

/*
 * The file may grow by 10 more bytes only (RLIMIT_FSIZE): a 16-byte line
 * goes out in part. Once there is room again, the next line starts on a
 * line of its own.
 */
static void
test_cut_line(void **state)
{
	static char	 lines[8][64];
	struct rlimit	 old, rl;
	struct jsonlog	*j;
	char		 p[128], err[256];

	(void)state;
	signal(SIGXFSZ, SIG_IGN);
	path_of(p, sizeof(p), "cut.json");
	assert_non_null(j = jsonlog_new("s"));
	assert_int_equal(jsonlog_open(j, p, err, sizeof(err)), 0);
	assert_int_equal(jsonlog_write(j, "{\"a\":1}", 7), 0);	/* 8 bytes */
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	rl = old;
	rl.rlim_cur = 18;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
	assert_int_equal(jsonlog_write(j, "{\"b\":\"123456789\"}", 17), -1);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(jsonlog_write(j, "{\"c\":3}", 7), 0);
	assert_int_equal(read_file_lines(p, &lines[0][0], 64, 8), 3);
	assert_string_equal(lines[0], "{\"a\":1}\n");
	assert_string_equal(lines[1], "{\"b\":\"1234\n"); /* spoilt */
	assert_string_equal(lines[2], "{\"c\":3}\n");
	assert_int_equal(jsonlog_get_stats(j)->dropped, 1);
	assert_int_equal(jsonlog_get_stats(j)->written, 2);
	jsonlog_free(j);
	signal(SIGXFSZ, SIG_DFL);
}

/* The sink writes json_alert() and json_session() lines. */
static void
test_sink(void **state)
{
	static char	 lines[4][JSON_LINE_MAX], want[JSON_LINE_MAX];
	struct detect_event ev;
	struct detect_session s;
	struct detect_sink sink;
	struct jsonlog	*j;
	char		 p[128], err[256];
	size_t		 n;

	(void)state;
	memset(&ev, 0, sizeof(ev));
	memset(&s, 0, sizeof(s));
	ev.tuple.client.family = ev.tuple.server.family = 4;
	inet_pton(AF_INET, "192.0.2.1", ev.tuple.client.bytes);
	inet_pton(AF_INET, "192.0.2.2", ev.tuple.server.bytes);
	ev.session_id = 3;
	snprintf(ev.evidence, sizeof(ev.evidence), "250-XXXXXXXA");
	s.tuple = ev.tuple;
	s.id = 3;
	s.outcome = DETECT_OUTCOME_STRIPPED;
	s.close_reason = "fin";
	path_of(p, sizeof(p), "sink.json");
	assert_non_null(j = jsonlog_new("sensor-1"));
	jsonlog_sink(j, &sink);
	sink.event(sink.arg, &ev);		/* closed: nothing */
	assert_int_equal(jsonlog_open(j, p, err, sizeof(err)), 0);
	sink.event(sink.arg, &ev);
	sink.session(sink.arg, &s);
	jsonlog_set_sensor(j, "renamed");
	sink.event(sink.arg, &ev);
	assert_null(sink.server);
	assert_int_equal(read_file_lines(p, &lines[0][0], JSON_LINE_MAX, 4),
	    3);
	n = json_alert(&ev, "sensor-1", want, sizeof(want));
	want[n] = '\n';
	want[n + 1] = '\0';
	assert_string_equal(lines[0], want);
	n = json_session(&s, "sensor-1", want, sizeof(want));
	want[n] = '\n';
	want[n + 1] = '\0';
	assert_string_equal(lines[1], want);
	assert_non_null(strstr(lines[2], "\"sensor\":\"renamed\""));
	jsonlog_free(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rename_and_reopen),
		cmocka_unit_test(test_two_writers),
		cmocka_unit_test(test_disk_full),
		cmocka_unit_test(test_cut_line),
		cmocka_unit_test(test_sink),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
