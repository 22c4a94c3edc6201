/*
 * live.c: live capture. A libevent loop around the pcap selectable fd, read
 * with a per-wakeup budget; timers for housekeeping, database flushes and
 * stats; signals for reload (HUP), counters (USR1) and orderly stop
 * (TERM, INT); readiness and watchdog through $NOTIFY_SOCKET.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sensor.h"

struct live {
	struct sensor	*s;
	struct event_base *base;
	struct event	*ev_pcap;
	struct event	*ev_tick;
	struct event	*ev_flush;
	struct event	*ev_stats;
	struct event	*ev_watchdog;
	struct event	*ev_sig[4];
};

/* Send one message to systemd's notify socket, if there is one. */
void
live_notify(const char *msg)
{
	struct sockaddr_un sun;
	const char	*path = getenv("NOTIFY_SOCKET");
	socklen_t	 len;
	int		 fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (path[0] == '@')
		sun.sun_path[0] = '\0';	/* abstract namespace */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	(void)sendto(fd, msg, strlen(msg), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len);
	close(fd);
}

static void
on_packet(u_char *arg, const struct pcap_pkthdr *h, const u_char *bytes)
{
	sensor_frame((struct sensor *)arg, h, bytes);
}

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct live	*l = arg;
	int		 n;

	(void)fd;
	(void)what;
	n = pcap_dispatch(l->s->pcap, (int)l->s->cfg.dispatch_budget,
	    on_packet, (u_char *)l->s);
	if (n == PCAP_ERROR) {
		log_warnx("capture: %s", pcap_geterr(l->s->pcap));
		l->s->errors++;
		event_base_loopbreak(l->base);
	}
}

static uint64_t
wall_us(void)
{
	struct timeval	 tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000000ULL + (uint64_t)tv.tv_usec;
}

/*
 * Idle expiry live: packet time stands still when no packet comes, so use
 * the later of packet time and the clock (live packet stamps are clock).
 */
static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct live	*l = arg;
	uint64_t	 now = pipeline_now(l->s->pipe), w = wall_us();

	(void)fd;
	(void)what;
	pipeline_tick(l->s->pipe, w > now ? w : now);
	sensor_outputs_news(l->s);
	limits_check(l->s, w > now ? w : now);
}

/* The store says itself when the database fails and when it is back. */
static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct live	*l = arg;

	(void)fd;
	(void)what;
	pipeline_flush(l->s->pipe);
	(void)store_flush_async(l->s->store);
}

/* Counters wrap at 32 bits in some libpcap versions: take deltas. */
static uint64_t
delta32(u_int now, u_int before)
{
	return (uint64_t)(uint32_t)(now - before);
}

static void
record_stats(struct live *l)
{
	struct sensor	*s = l->s;
	struct counter	 c[COUNTERS_MAX];
	struct pcap_stat st;
	uint64_t	 now = wall_us(), drop = 0, ifdrop = 0;
	size_t		 i, n;

	if (pcap_stats(s->pcap, &st) == 0) {
		drop = delta32(st.ps_drop, s->last_ps.ps_drop);
		ifdrop = delta32(st.ps_ifdrop, s->last_ps.ps_ifdrop);
		s->last_ps = st;
		s->kernel_drops += drop;
		s->if_drops += ifdrop;
	}
	if (drop > 0 || ifdrop > 0)
		log_warnx("capture on %s dropped %" PRIu64 " packets in the "
		    "kernel and %" PRIu64 " at the interface in the last %"
		    PRIu64 "s: detections may be missed", s->cfg.interface,
		    drop, ifdrop, s->cfg.stats_interval);
	/* Drops per interval (they matter per interval); the rest as
	 * running totals, like the log line. */
	store_stat(s->store, now, "kernel_drops", (int64_t)drop);
	store_stat(s->store, now, "if_drops", (int64_t)ifdrop);
	n = counters_collect(s, c, COUNTERS_MAX);
	for (i = 0; i < n; i++)
		if (strcmp(c[i].name, "kernel_drops") != 0 &&
		    strcmp(c[i].name, "if_drops") != 0)
			store_stat(s->store, now, c[i].name,
			    (int64_t)c[i].value);
}

static void
on_stats(evutil_socket_t fd, short what, void *arg)
{
	struct live	*l = arg;
	char		 status[128];

	(void)fd;
	(void)what;
	record_stats(l);
	counters_json(l->s, wall_us());
	/* Retention and checkpoint run on the database writer thread, after
	 * the next flush; the store logs what goes wrong. */
	store_maintain(l->s->store, wall_us(),
	    (uint32_t)l->s->cfg.retention_days);
	snprintf(status, sizeof(status), "STATUS=%" PRIu64 " frames, %"
	    PRIu64 " sessions, %" PRIu64 " kernel drops",
	    pipeline_get_stats(l->s->pipe)->decode.frames,
	    pipeline_get_stats(l->s->pipe)->sessions, l->s->kernel_drops);
	live_notify(status);
}

static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	live_notify("WATCHDOG=1");
}

static struct timeval
ms_timeval(uint64_t ms)
{
	struct timeval	 tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	return tv;
}

/*
 * A timer whose period is a setting, after a reload: re-armed only when
 * the period changed, so a burst of reloads never postpones it.
 */
static void
rearm(struct event *ev, uint64_t ms, uint64_t was_ms)
{
	struct timeval	 tv = ms_timeval(ms);

	if (ms != was_ms && event_add(ev, &tv) == -1)
		log_warnx("reload: cannot re-arm a timer of %" PRIu64 " ms",
		    ms);
}

static void
log_change(void *arg, const struct config_change *ch)
{
	int	*restart = arg;

	if (ch->restart) {
		log_warnx("%s changed: needs a restart; still %s", ch->name,
		    ch->was);
		(*restart)++;
	} else
		log_info("%s changed: now %s, was %s", ch->name, ch->now,
		    ch->was);
}

/*
 * The settings side of SIGHUP: read the file and the command line again,
 * keep (and log) what needs a restart, apply the rest: limits, timeouts,
 * timers, alert settings; what is read where it is used (retention,
 * dispatch_budget, db_final_timeout) follows by itself. -1 if the file is
 * unusable: the running settings stay.
 */
static int
reload_settings(struct live *l)
{
	struct sensor	*s = l->s;
	struct config	 nc, was;
	struct pipeline_config pc;
	struct alert_config ac;
	char		 err[CONFIG_STR_MAX + 256];
	int		 changed, restart = 0;

	if (sensor_read_config(s, &nc, err, sizeof(err)) == -1) {
		log_warnx("reload: %s; keeping the running configuration",
		    err);
		return -1;
	}
	sensor_default_database(s, &nc);
	changed = config_reload(&s->cfg, &nc, log_change, &restart);
	was = s->cfg;
	s->cfg = nc;
	sensor_set_name(s);
	if (sensor_open_fwd(s, err, sizeof(err)) == -1)
		log_warnx("reload: syslog %s; alerts go through syslog(3)",
		    err);
	sensor_pipeline_config(&s->cfg, &pc);
	pipeline_set_limits(s->pipe, &pc);
	sensor_alert_config(s, &ac);
	alert_set_config(s->alert, &ac);
	rearm(l->ev_flush, s->cfg.db_flush_interval_ms,
	    was.db_flush_interval_ms);
	rearm(l->ev_stats, s->cfg.stats_interval * 1000,
	    was.stats_interval * 1000);
	limits_reload(s);
	log_info("reload: %d settings changed, %d of them need a restart",
	    changed, restart);
	return 0;
}

/*
 * json_log is reopened at every SIGHUP, even one whose configuration is
 * refused: logrotate has renamed the file and waits for the new one.
 */
static void
reopen_json(struct sensor *s)
{
	char	 err[CONFIG_STR_MAX + 256];

	if (sensor_open_json(s, err, sizeof(err)) == -1)
		log_warnx("reload: json_log %s; still writing to \"%s\"", err,
		    jsonlog_path(s->jsonlog));
}

/*
 * SIGHUP: re-read the configuration (reload_settings) and reopen json_log
 * (logrotate); reopen the database (it may have been moved away by the
 * operator). The store stays, with its queue and counters: the writer
 * opens the path anew before its next batch, once the rows it was given
 * are in the old file.
 */
static void
reload(struct live *l)
{
	struct sensor	*s = l->s;
	struct store_config sc;

	live_notify("RELOADING=1");
	if (reload_settings(l) == -1) {
		reopen_json(s);
		live_notify("READY=1");
		return;
	}
	reopen_json(s);
	sensor_store_config(s, &sc);
	store_set_config(s->store, &sc);
	if (store_set_sensor(s->store, s->name) == -1)
		log_warnx("reload: database %s: %s", s->cfg.database,
		    store_error(s->store));
	store_reopen(s->store);
	pipeline_flush(s->pipe);
	(void)store_flush_async(s->store);
	log_info("configuration reloaded");
	live_notify("READY=1");
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct live	*l = arg;

	(void)what;
	switch (sig) {
	case SIGHUP:
		reload(l);
		break;
	case SIGUSR1:
		sensor_log_stats(l->s);
		break;
	default:
		log_info("signal %d: finishing open sessions", (int)sig);
		live_notify("STOPPING=1");
		event_base_loopbreak(l->base);
		break;
	}
}

static struct event *
timer(struct live *l, uint64_t ms, event_callback_fn fn)
{
	struct timeval	 tv = ms_timeval(ms);
	struct event	*ev;

	if ((ev = event_new(l->base, -1, EV_PERSIST, fn, l)) == NULL ||
	    event_add(ev, &tv) == -1)
		fatalx("cannot add timer");
	return ev;
}

static void
setup_events(struct live *l)
{
	static const int sigs[4] = { SIGHUP, SIGUSR1, SIGTERM, SIGINT };
	const char	*wd;
	uint64_t	 wd_us;
	int		 fd, i;

	if ((l->base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	if ((fd = pcap_get_selectable_fd(l->s->pcap)) == -1)
		fatalx("%s: no selectable descriptor", l->s->cfg.interface);
	l->ev_pcap = event_new(l->base, fd, EV_READ | EV_PERSIST,
	    on_readable, l);
	if (l->ev_pcap == NULL || event_add(l->ev_pcap, NULL) == -1)
		fatalx("cannot watch the capture descriptor");
	/* The ring is only handed over on timeout: poll it as often. */
	l->ev_tick = timer(l, SENSOR_TICK_US / 1000, on_tick);
	l->ev_flush = timer(l, l->s->cfg.db_flush_interval_ms, on_flush);
	l->ev_stats = timer(l, l->s->cfg.stats_interval * 1000, on_stats);
	if ((wd = getenv("WATCHDOG_USEC")) != NULL &&
	    (wd_us = strtoull(wd, NULL, 10)) > 0)
		l->ev_watchdog = timer(l, wd_us / 2000 > 0 ? wd_us / 2000 : 1,
		    on_watchdog);
	for (i = 0; i < 4; i++) {
		l->ev_sig[i] = evsignal_new(l->base, sigs[i], on_signal, l);
		if (l->ev_sig[i] == NULL || event_add(l->ev_sig[i], NULL) == -1)
			fatalx("cannot watch signal %d", sigs[i]);
	}
}

static void
free_events(struct live *l)
{
	struct event	*evs[] = { l->ev_pcap, l->ev_tick, l->ev_flush,
	    l->ev_stats, l->ev_watchdog, l->ev_sig[0], l->ev_sig[1],
	    l->ev_sig[2], l->ev_sig[3] };
	size_t		 i;

	for (i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (evs[i] != NULL)
			event_free(evs[i]);
	event_base_free(l->base);
}

/* Give the database files and json_log (a regular file, not a FIFO or
 * /dev/stdout) to the user we are about to become, so a reopen (SIGHUP)
 * and a later start work without root. */
static void
chown_database(const struct sensor *s)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	struct passwd	*pw;
	struct stat	 sb;
	char		 path[CONFIG_STR_MAX + 8];
	size_t		 i;

	if (geteuid() != 0 || (pw = getpwnam(s->cfg.user)) == NULL)
		return;
	for (i = 0; i < 4; i++) {
		if (i < 3)
			snprintf(path, sizeof(path), "%s%s", s->cfg.database,
			    suffix[i]);
		else
			snprintf(path, sizeof(path), "%s", s->cfg.json_log);
		if (i == 3 && (path[0] == '\0' || lstat(path, &sb) == -1 ||
		    !S_ISREG(sb.st_mode)))
			break;
		if (chown(path, pw->pw_uid, pw->pw_gid) == -1 &&
		    errno != ENOENT)
			log_warn("chown %s", path);
	}
}

/*
 * Orderly stop: read what the kernel still holds. With TPACKET_V3 the
 * packets of the current block only become readable when the block times
 * out, so wait one capture timeout first, then read until nothing is left.
 */
static void
drain(struct sensor *s)
{
	struct timespec	 ts;
	uint64_t	 ns = (s->cfg.capture_timeout_ms + 20) * 1000000ULL;
	int		 n, rounds = 0;

	ts.tv_sec = (time_t)(ns / 1000000000ULL);
	ts.tv_nsec = (long)(ns % 1000000000ULL);
	nanosleep(&ts, NULL);
	do {
		n = pcap_dispatch(s->pcap, -1, on_packet, (u_char *)s);
	} while (n > 0 && ++rounds < 1000);
}

int
live_run(struct sensor *s)
{
	struct live	 l;
	char		 err[PCAP_ERRBUF_SIZE + CONFIG_STR_MAX];

	memset(&l, 0, sizeof(l));
	l.s = s;
	log_set_syslog(1);
	if ((s->pcap = capture_open_live(&s->cfg, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if (s->nworkers > 1 && capture_join_fanout(s->pcap, s->fanout_group,
	    s->fanout_key, err, sizeof(err)) == -1)
		fatalx("%s: %s", s->cfg.interface, err);
	s->linktype = pcap_datalink(s->pcap);
	if (!decode_link_supported(s->linktype))
		fatalx("%s: unsupported link type %d", s->cfg.interface,
		    s->linktype);
	if (capture_set_filter(s->pcap, s->cfg.filter,
	    (int)s->cfg.filter_encapsulated, err, sizeof(err)) == -1)
		fatalx("%s", err);
	sensor_open_outputs(s);
	chown_database(s);
	priv_drop(s->cfg.user);
	setup_events(&l);
	log_info("capturing on %s (filter \"%s\"), database %s%s",
	    s->cfg.interface, s->cfg.filter, s->cfg.database,
	    s->nworkers > 1 ? ", as one of several workers" : "");
	if (s->ready_fd >= 0) {
		if (write(s->ready_fd, "r", 1) != 1)
			log_warn("telling the supervisor");
		close(s->ready_fd);
		s->ready_fd = -1;
	} else
		live_notify("READY=1");
	event_base_dispatch(l.base);
	drain(s);
	pipeline_finish(s->pipe);
	record_stats(&l);
	free_events(&l);
	pcap_close(s->pcap);
	s->pcap = NULL;
	return 0;
}
