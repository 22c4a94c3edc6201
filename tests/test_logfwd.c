/*
 * test_logfwd.c: syslog messages over TCP with octet-counting framing
 * (RFC 6587 3.4.1) to a listener in this process; a receiver that closes
 * its end, one that is not there yet, a full queue, and what is given up
 * at exit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "logfwd.h"

/* A listener on 127.0.0.1; port 0 takes a free one. */
static int
listener(uint16_t *port)
{
	struct sockaddr_in sin;
	socklen_t	 len = sizeof(sin);
	int		 fd, one = 1;

	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(*port);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static void
sleep_ms(long ms)
{
	struct timespec	 ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Accept within a second, polling the forwarder meanwhile. */
static int
accept_polling(int lfd, struct logfwd *f)
{
	struct pollfd	 p = { lfd, POLLIN, 0 };
	int		 i;

	for (i = 0; i < 100; i++) {
		logfwd_poll(f);
		if (poll(&p, 1, 10) == 1)
			return accept(lfd, NULL, NULL);
	}
	return -1;
}

/* Read until want bytes came (or a second passed), polling f. */
static size_t
read_polling(int fd, struct logfwd *f, char *buf, size_t want)
{
	struct pollfd	 p = { fd, POLLIN, 0 };
	size_t		 got = 0;
	ssize_t		 n;
	int		 i;

	for (i = 0; i < 100 && got < want; i++) {
		logfwd_poll(f);
		if (poll(&p, 1, 10) == 1) {
			if ((n = read(fd, buf + got, want - got)) <= 0)
				break;
			got += (size_t)n;
		}
	}
	buf[got] = '\0';
	return got;
}

static struct logfwd *
tcp_fwd(uint16_t port, size_t queue_max)
{
	struct logfwd_config cfg = { "127.0.0.1", port, NULL, queue_max };
	struct logfwd	*f;
	char		 err[256];

	f = logfwd_new(&cfg, err, sizeof(err));
	if (f == NULL)
		fail_msg("logfwd_new: %s", err);
	return f;
}

/* Each message is "LEN SP MSG", LEN its octets in decimal, no trailer. */
static void
test_octet_counting(void **state)
{
	static const char want[] = "11 hello world"
	    "30 <14>1 - h app - - - caf\xc3\xa9 \"x\"\n" "1 x";
	struct logfwd	*f;
	char		 buf[256], name[32];
	uint16_t	 port = 0;
	int		 lfd, cfd;

	(void)state;
	lfd = listener(&port);
	f = tcp_fwd(port, 65536);
	snprintf(name, sizeof(name), "127.0.0.1:%u", (unsigned)port);
	assert_string_equal(logfwd_name(f), name);
	logfwd_send(f, "hello world", 11);
	logfwd_send(f, "<14>1 - h app - - - caf\xc3\xa9 \"x\"\n", 30);
	logfwd_send(f, "x", 1);
	assert_true((cfd = accept_polling(lfd, f)) >= 0);
	assert_int_equal(read_polling(cfd, f, buf, strlen(want)),
	    strlen(want));
	assert_string_equal(buf, want);
	assert_int_equal(logfwd_get_stats(f)->sent, 3);
	assert_int_equal(logfwd_get_stats(f)->queued, 0);
	assert_int_equal(logfwd_get_stats(f)->reconnects, 1);
	assert_null(logfwd_news(f));
	logfwd_free(f);
	close(cfd);
	close(lfd);
}

/*
 * The receiver closes its end (a collector restarting): the next message
 * is not written into the dead connection but waits, and goes whole over
 * a new one once the backoff has passed.
 */
static void
test_receiver_restart(void **state)
{
	struct logfwd	*f;
	char		 buf[256];
	uint16_t	 port = 0;
	int		 lfd, cfd;

	(void)state;
	lfd = listener(&port);
	f = tcp_fwd(port, 65536);
	logfwd_send(f, "one", 3);
	assert_true((cfd = accept_polling(lfd, f)) >= 0);
	assert_int_equal(read_polling(cfd, f, buf, 5), 5);
	assert_string_equal(buf, "3 one");
	close(cfd);
	sleep_ms(50);			/* the FIN arrives */
	logfwd_send(f, "two", 3);
	assert_int_equal(logfwd_get_stats(f)->queued, 1);
	assert_non_null(strstr(logfwd_news(f), "closed by the receiver"));
	logfwd_poll(f);			/* before the backoff: still down */
	assert_int_equal(logfwd_get_stats(f)->reconnects, 1);
	sleep_ms(1100);
	assert_true((cfd = accept_polling(lfd, f)) >= 0);
	assert_int_equal(read_polling(cfd, f, buf, 5), 5);
	assert_string_equal(buf, "3 two");
	assert_int_equal(logfwd_get_stats(f)->sent, 2);
	assert_int_equal(logfwd_get_stats(f)->reconnects, 2);
	assert_int_equal(logfwd_get_stats(f)->dropped, 0);
	assert_non_null(strstr(logfwd_news(f), "sending again"));
	assert_null(logfwd_news(f));
	logfwd_free(f);
	close(cfd);
	close(lfd);
}

/* No receiver at first: messages wait, and arrive in order later. */
static void
test_receiver_late(void **state)
{
	struct logfwd	*f;
	char		 buf[256];
	uint16_t	 port = 0;
	int		 lfd, cfd, i;

	(void)state;
	lfd = listener(&port);
	close(lfd);			/* a port nobody listens on */
	f = tcp_fwd(port, 65536);
	logfwd_send(f, "a", 1);
	logfwd_send(f, "bc", 2);
	assert_int_equal(logfwd_get_stats(f)->queued, 2);
	assert_non_null(strstr(logfwd_news(f), "refused"));
	lfd = listener(&port);
	logfwd_poll(f);			/* the backoff is not over */
	assert_int_equal(logfwd_get_stats(f)->reconnects, 0);
	logfwd_hurry(f);		/* at exit: try now */
	for (i = 0; i < 10 && logfwd_get_stats(f)->reconnects == 0; i++) {
		logfwd_poll(f);
		sleep_ms(10);
	}
	assert_int_equal(logfwd_get_stats(f)->reconnects, 1);
	assert_true((cfd = accept_polling(lfd, f)) >= 0);
	assert_int_equal(read_polling(cfd, f, buf, 7), 7);
	assert_string_equal(buf, "1 a2 bc");
	logfwd_free(f);
	close(cfd);
	close(lfd);
}

/* A full queue drops new messages and says so once; the rest go. */
static void
test_queue_full_and_discard(void **state)
{
	struct logfwd	*f;
	uint16_t	 port = 0;
	int		 lfd, i;

	(void)state;
	lfd = listener(&port);
	close(lfd);
	/* Each entry: 4 bytes of length, "10 " and 10 bytes. */
	f = tcp_fwd(port, 3 * 17 + 5);
	for (i = 0; i < 5; i++)
		logfwd_send(f, "0123456789", 10);
	assert_int_equal(logfwd_get_stats(f)->queued, 3);
	assert_int_equal(logfwd_get_stats(f)->dropped, 2);
	assert_non_null(logfwd_news(f));	/* refused */
	assert_non_null(strstr(logfwd_news(f), "queue full"));
	assert_null(logfwd_news(f));
	/* Longer than any message taken: dropped, not queued. */
	logfwd_send(f, "x", LOGFWD_MSG_MAX + 1);
	assert_int_equal(logfwd_get_stats(f)->dropped, 3);
	assert_int_equal(logfwd_discard(f), 3);
	assert_int_equal(logfwd_get_stats(f)->dropped, 6);
	assert_int_equal(logfwd_get_stats(f)->queued, 0);
	logfwd_free(f);
}

/* An unresolvable host or a socket path too long: a clear error. */
static void
test_bad_target(void **state)
{
	struct logfwd_config cfg = { "no-such-host.invalid", 514, NULL,
	    65536 };
	char		 err[256], path[200];

	(void)state;
	assert_null(logfwd_new(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "no-such-host.invalid:514"));
	memset(path, 'p', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	cfg.host = NULL;
	cfg.path = path;
	assert_null(logfwd_new(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "path too long"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_octet_counting),
		cmocka_unit_test(test_receiver_restart),
		cmocka_unit_test(test_receiver_late),
		cmocka_unit_test(test_queue_full_and_discard),
		cmocka_unit_test(test_bad_target),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
