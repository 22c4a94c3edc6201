/*
 * workers.c: live capture with several processes. The supervisor prepares
 * the database, forks one capture worker per core (each a whole pipeline,
 * joined to the others with PACKET_FANOUT so each mail server, and so each
 * flow, has one owner: lib/fanout.h), tells systemd when all capture,
 * forwards signals, and stops everything when one worker dies, so systemd
 * can restart the sensor whole.
 */
#include <sys/random.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sensor.h"

#define WORKERS_MAX		64	/* the config's upper bound */
#define WORKERS_READY_TIMEOUT_MS 30000	/* all must capture by then */

struct workers {
	pid_t		 pid[WORKERS_MAX];
	int		 n;
	int		 alive;
};

/* Create and migrate the schema once, before several writers race. */
static void
prepare_database(struct sensor *s)
{
	struct store	*st;
	char		 err[CONFIG_STR_MAX + 256];

	if ((st = sensor_store_open(s, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	store_close(st);
}

/* The signals the supervisor waits for, blocked while it waits. */
static void
supervised(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGCHLD);
}

static void
signal_all(struct workers *w, int sig)
{
	int	 i;

	for (i = 0; i < w->n; i++)
		if (w->pid[i] > 0)
			(void)kill(w->pid[i], sig);
}

/* Reap exited workers; returns how many failed (non-zero or signalled). */
static int
reap(struct workers *w, int block)
{
	pid_t	 pid;
	int	 status, i, failed = 0;

	while ((pid = waitpid(-1, &status, block ? 0 : WNOHANG)) > 0) {
		for (i = 0; i < w->n; i++)
			if (w->pid[i] == pid) {
				w->pid[i] = -1;
				w->alive--;
			}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			log_warnx("capture worker %d %s %d", (int)pid,
			    WIFEXITED(status) ? "exited with" : "killed by",
			    WIFEXITED(status) ? WEXITSTATUS(status) :
			    WTERMSIG(status));
			failed++;
		}
		if (block && w->alive == 0)
			break;
	}
	return failed;
}

static void
spawn(struct sensor *s, struct workers *w, int ready_wr, int ready_rd,
    const sigset_t *blocked)
{
	pid_t	 pid;
	int	 i, rc;

	for (i = 0; i < s->nworkers; i++) {
		if ((pid = fork()) == -1)
			fatal("fork");
		if (pid == 0) {
			close(ready_rd);
			/* Only the supervisor talks to systemd. */
			unsetenv("NOTIFY_SOCKET");
			unsetenv("WATCHDOG_USEC");
			(void)sigprocmask(SIG_UNBLOCK, blocked, NULL);
			s->worker = i;
			s->ready_fd = ready_wr;
			rc = live_run(s);
			sensor_close_outputs(s);
			_exit(rc == 0 && s->errors == 0 ? 0 : 1);
		}
		w->pid[w->n++] = pid;
		w->alive++;
	}
}

/* Wait until every worker said it captures; 0, or -1 if one did not. */
static int
wait_ready(struct workers *w, int fd)
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	char		 c;
	int		 ready = 0, waited = 0;

	while (ready < w->n && waited < WORKERS_READY_TIMEOUT_MS) {
		if (poll(&pfd, 1, 100) == 1) {
			if (read(fd, &c, 1) != 1)
				return -1;	/* all write ends closed */
			ready++;
		} else
			waited += 100;
		if (reap(w, 0) > 0)
			return -1;
	}
	return ready == w->n ? 0 : -1;
}

static uint64_t
watchdog_ms(void)
{
	const char	*wd = getenv("WATCHDOG_USEC");
	uint64_t	 us;

	if (wd == NULL || (us = strtoull(wd, NULL, 10)) == 0)
		return 0;
	return us / 2000 > 0 ? us / 2000 : 1;
}

/* Forward HUP and USR1, stop on TERM/INT or when a worker dies. */
static int
supervise(struct workers *w)
{
	struct timespec	 tick;
	sigset_t	 set;
	uint64_t	 wd = watchdog_ms();
	int		 sig;

	supervised(&set);
	tick.tv_sec = wd > 0 ? (time_t)(wd / 1000) : 1;
	tick.tv_nsec = wd > 0 ? (long)(wd % 1000) * 1000000L : 0;
	for (;;) {
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig == -1) {
			if (wd > 0)
				live_notify("WATCHDOG=1");
			continue;
		}
		switch (sig) {
		case SIGHUP:
		case SIGUSR1:
			signal_all(w, sig);
			break;
		case SIGCHLD:
			if (reap(w, 0) > 0 || w->alive < w->n) {
				log_warnx("a capture worker stopped: stopping "
				    "the others");
				live_notify("STOPPING=1");
				signal_all(w, SIGTERM);
				reap(w, 1);
				return 1;
			}
			break;
		default:
			log_info("signal %d: stopping %d capture workers", sig,
			    w->alive);
			live_notify("STOPPING=1");
			signal_all(w, SIGTERM);
			return reap(w, 1) > 0 ? 1 : 0;
		}
	}
}

int
workers_run(struct sensor *s)
{
	struct workers	 w;
	sigset_t	 set;
	int		 fds[2];

	memset(&w, 0, sizeof(w));
	log_set_syslog(1);
	prepare_database(s);
	s->nworkers = (int)s->cfg.workers;
	s->fanout_group = (uint16_t)(getpid() & 0xffff);
	/* One key for the group, drawn before the workers fork. */
	if (getrandom(&s->fanout_key, sizeof(s->fanout_key), 0) !=
	    (ssize_t)sizeof(s->fanout_key))
		fatal("getrandom");
	/* Block the signals the supervisor waits for; workers unblock them
	 * and install libevent's handlers anew. */
	supervised(&set);
	if (pipe(fds) == -1)
		fatal("pipe");
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		fatal("sigprocmask");
	spawn(s, &w, fds[1], fds[0], &set);
	close(fds[1]);
	/* The supervisor parses nothing; it needs no privilege either. */
	priv_drop(s->cfg.user);
	if (wait_ready(&w, fds[0]) == -1) {
		log_warnx("capture workers did not all start; stopping");
		signal_all(&w, SIGTERM);
		reap(&w, 1);
		return 1;
	}
	close(fds[0]);
	log_info("%d capture workers on %s", w.n, s->cfg.interface);
	live_notify("READY=1");
	return supervise(&w);
}
