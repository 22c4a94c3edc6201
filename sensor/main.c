/*
 * main.c: the stripwatch program's lifecycle: options and configuration,
 * opening the database and the sinks, then either reading capture files
 * (offline) or running the live loop, and an orderly finish that writes
 * every open session.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "report.h"
#include "sensor.h"

#define MAX_FILES	1024	/* -r given at most this often */

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: stripwatch [-hnVv] [-c file] [-d db] [-f filter] "
	    "[-u user]\n"
	    "                  [--json-log path] [--syslog | --no-syslog]\n"
	    "                  [--progress | --no-progress]\n"
	    "                  -i interface | -r file ...\n"
	    "       stripwatch report [-d db] ... [--since time] [--json]\n"
	    "  -i IFACE       capture live on IFACE (promiscuous)\n"
	    "  -r FILE        read a pcap or pcapng file (repeatable)\n"
	    "  -f FILTER      BPF filter (default:\n"
	    "                 \"" MAIL_PORTS_FILTER "\")\n"
	    "  -d, --db PATH  SQLite database (default %s offline,\n"
	    "                 %s live)\n"
	    "  -c FILE        configuration file (default %s,\n"
	    "                 when it exists)\n"
	    "  -n             check the configuration and exit\n"
	    "  --print-filter print the BPF expression installed (for the "
	    "link type\n"
	    "                 of the first -r file, else Ethernet) and exit\n"
	    "  -u USER        user to run as after opening the capture "
	    "(default stripwatch)\n"
	    "  --json-log PATH\n"
	    "                 also write alerts, sessions and counters as "
	    "JSON lines to PATH\n"
	    "  --syslog, --no-syslog\n"
	    "                 send alerts to syslog or not (default: live "
	    "yes, offline no)\n"
	    "  --progress, --no-progress\n"
	    "                 show how far the reading of files is, or not "
	    "(default:\n"
	    "                 when stderr is a terminal)\n"
	    "  -v             verbose diagnostics\n"
	    "  -V, --version  print the version\n"
	    "  -h, --help     this help\n",
	    SENSOR_DB_OFFLINE, SENSOR_DB_LIVE, SENSOR_CONFIG_FILE);
}

/*
 * Without -c, the installed file is read when there is one, so a start by
 * hand, -n and the service see the same settings. One that is there but
 * cannot be read is an error (config_load says why), not a silent default.
 */
static void
default_config(struct sensor *s)
{
	struct stat	 st;

	if (s->config_path == NULL && (stat(SENSOR_CONFIG_FILE, &st) == 0 ||
	    errno != ENOENT))
		s->config_path = SENSOR_CONFIG_FILE;
}

void
sensor_pipeline_config(const struct config *c, struct pipeline_config *pc)
{
	memset(pc, 0, sizeof(*pc));
	pc->flow.max_flows = (uint32_t)c->max_flows;
	pc->flow.no_data_max = (uint32_t)c->flow_no_data_max;
	pc->flow.idle_timeout_us = c->flow_idle_timeout * 1000000ULL;
	pc->flow.linger_us = c->flow_linger * 1000000ULL;
	pc->flow.resume_max = (uint32_t)c->flow_resume_max;
	pc->frag.memcap = (size_t)c->frag_memcap;
	pc->frag.max_datagrams = (uint32_t)c->frag_max_datagrams;
	pc->frag.timeout_us = c->frag_timeout * 1000000ULL;
	pc->history.max_servers = (uint32_t)c->history_max_servers;
	pc->history.vanished_after = (uint32_t)c->vanished_after;
	pc->reasm.memcap = (size_t)c->reasm_memcap;
	pc->reasm.ooo_max = (uint32_t)c->reasm_ooo_max;
	pc->reasm.depth = (uint32_t)c->reasm_depth;
	pc->reasm.conflict_window = (uint32_t)c->reasm_conflict_window;
	pc->reasm.ack_grace_us = c->reasm_ack_grace_ms * 1000;
	pc->tcp.checksum = tcp_checksum_mode_parse(c->checksum_validation);
	pc->mail.max_line = (uint32_t)c->smtp_max_line;
	pc->mail.max_pipeline = (uint32_t)c->smtp_max_pipeline;
	pc->mail.tls_max_bytes = (uint32_t)c->tls_max_bytes;
	pc->tls_cert_cache = (uint32_t)c->tls_cert_cache;
	pc->smtp_memcap = (size_t)c->smtp_memcap;
	pc->mail_ports_only = strcmp(c->filter, MAIL_PORTS_FILTER) == 0;
}

static int
use_syslog(const struct sensor *s)
{
	if (s->syslog_forced >= 0)
		return s->syslog_forced;
	if (strcmp(s->cfg.syslog, "auto") == 0)
		return s->live;
	return strcmp(s->cfg.syslog, "yes") == 0;
}

/* Whether syslog(3) or the forwarder would find /dev/log to send to. */
static int
devlog_usable(void)
{
	struct sockaddr_un sun;
	int		 fd, ok = 0, types[] = { SOCK_DGRAM, SOCK_STREAM };
	size_t		 i;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
	    SENSOR_SYSLOG_SOCKET);
	for (i = 0; i < 2 && !ok; i++) {
		if ((fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0)) == -1)
			continue;
		ok = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
		close(fd);
	}
	return ok;
}

/*
 * A live run started on a terminal whose alerts would reach no one (no
 * syslog, or nothing listening on /dev/log) shows them on stderr, and
 * says why once. Decided at start; a reload keeps it.
 */
void
sensor_foreground_alerts(struct sensor *s)
{
	const char	*why = NULL;

	if (!s->live || !isatty(STDERR_FILENO))
		return;
	if (!use_syslog(s))
		why = "syslog is off (--no-syslog or syslog = no)";
	else if (s->cfg.syslog_target[0] == '\0' && !devlog_usable())
		why = "nothing listens on " SENSOR_SYSLOG_SOCKET " and "
		    "syslog_target is not set";
	if (why == NULL)
		return;
	s->alerts_to_stderr = 1;
	log_warnx("alerts are shown here on stderr: %s", why);
}

void
sensor_alert_config(const struct sensor *s, struct alert_config *ac)
{
	memset(ac, 0, sizeof(*ac));
	ac->use_syslog = use_syslog(s);
	ac->facility = config_facility(s->cfg.syslog_facility);
	ac->stream = s->live ? (s->alerts_to_stderr ? stderr : NULL) : stdout;
	ac->rate_limit = (uint32_t)s->cfg.alert_rate_limit;
	ac->rate_interval_s = (uint32_t)s->cfg.alert_rate_interval;
	ac->format = strcmp(s->cfg.alert_format, "rfc5424") == 0 ?
	    ALERT_FORMAT_RFC5424 : strcmp(s->cfg.alert_format, "json") == 0 ?
	    ALERT_FORMAT_JSON : ALERT_FORMAT_PLAIN;
	ac->sensor = s->name;
	ac->enterprise = (uint32_t)s->cfg.syslog_enterprise;
	ac->procid = (int)getpid();
	ac->fwd = s->fwd;
}

/*
 * The sensor's name: sensor_name, else the host name, its bytes outside
 * config_sensor_ok()'s set made '_' (a host name rarely has any).
 */
void
sensor_set_name(struct sensor *s)
{
	char	 host[256];
	size_t	 i;

	if (s->cfg.sensor_name[0] != '\0') {
		snprintf(s->name, sizeof(s->name), "%s", s->cfg.sensor_name);
		return;
	}
	if (gethostname(host, sizeof(host)) == -1)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	for (i = 0; host[i] != '\0' && i < sizeof(s->name) - 1; i++)
		s->name[i] = isalnum((unsigned char)host[i]) ||
		    strchr("._-", host[i]) != NULL ? host[i] : '_';
	s->name[i] = '\0';
	if (!config_sensor_ok(s->name))
		snprintf(s->name, sizeof(s->name), "stripwatch");
}

/* Open (or reopen: SIGHUP after logrotate) json_log; "" closes it. */
int
sensor_open_json(struct sensor *s, char *err, size_t errlen)
{
	if (s->jsonlog == NULL && (s->jsonlog = jsonlog_new(s->name)) == NULL)
		fatal("jsonlog_new");
	jsonlog_set_sensor(s->jsonlog, s->name);
	return jsonlog_open(s->jsonlog, s->cfg.json_log, err, errlen);
}

/*
 * stripwatch writes syslog messages itself for alert_format = rfc5424 and
 * for syslog_target; syslog(3) does otherwise. Made once, when first
 * needed (its target and queue need a restart to change).
 */
int
sensor_open_fwd(struct sensor *s, char *err, size_t errlen)
{
	struct logfwd_config fc;
	char		 host[CONFIG_STR_MAX];

	if (s->fwd != NULL || !use_syslog(s) ||
	    (strcmp(s->cfg.alert_format, "rfc5424") != 0 &&
	    s->cfg.syslog_target[0] == '\0'))
		return 0;
	memset(&fc, 0, sizeof(fc));
	fc.path = SENSOR_SYSLOG_SOCKET;
	fc.queue_max = (size_t)s->cfg.syslog_queue_max;
	if (s->cfg.syslog_target[0] != '\0') {
		if (config_target(s->cfg.syslog_target, host, sizeof(host),
		    &fc.port) == -1) {
			snprintf(err, errlen, "syslog_target \"%s\" malformed",
			    s->cfg.syslog_target);
			return -1;
		}
		fc.host = host;
	}
	if ((s->fwd = logfwd_new(&fc, err, errlen)) == NULL)
		return -1;
	if (strcmp(s->cfg.alert_format, "rfc5424") == 0 &&
	    s->cfg.syslog_enterprise == ALERT_ENTERPRISE_DOC)
		log_info("alert_format rfc5424: SD-ID stripwatch@%d uses the "
		    "documentation enterprise number (RFC 5612); set "
		    "syslog_enterprise to your organisation's",
		    ALERT_ENTERPRISE_DOC);
	return 0;
}

/* What changed for json_log and the syslog sender, said once. */
void
sensor_outputs_news(struct sensor *s)
{
	const char	*m;

	if (s->jsonlog != NULL && (m = jsonlog_news(s->jsonlog)) != NULL)
		log_warnx("json_log %s", m);
	if (s->fwd != NULL) {
		logfwd_poll(s->fwd);
		if ((m = logfwd_news(s->fwd)) != NULL)
			log_warnx("syslog %s", m);
	}
}

/*
 * checksum_validation = auto accepts, unverified, the segments of senders
 * it takes to offload checksums: say so, at most once a minute of packet
 * time, so the operator knows what is not checked.
 */
static void
checksum_notice(struct sensor *s, uint64_t now_us)
{
	const struct tcp_stats *ts = &pipeline_get_stats(s->pipe)->tcp;

	if (ts->offloading_senders == s->offload_told ||
	    now_us < s->offload_next_us)
		return;
	log_warnx("checksum_validation: %" PRIu64 " more senders taken to "
	    "offload checksums (wrong from their first segment on, or only "
	    "the pseudo-header sum: a capture on the sending host, or a "
	    "rewritten capture): such segments are accepted unverified "
	    "(checksum_offloaded=%" PRIu64 "; checksum_validation = yes "
	    "drops them)",
	    ts->offloading_senders - s->offload_told, ts->checksum_offloaded);
	s->offload_told = ts->offloading_senders;
	s->offload_next_us = now_us + SENSOR_NOTICE_US;
}

/* Housekeeping by packet time: expiry, and database writes. */
static void
housekeeping(struct sensor *s, uint64_t now_us)
{
	if (now_us >= s->next_tick_us) {
		checksum_notice(s, now_us);
		pipeline_tick(s->pipe, now_us);
		sensor_outputs_news(s);
		limits_check(s, now_us);
		s->next_tick_us = now_us + SENSOR_TICK_US;
	}
	if (now_us >= s->next_flush_us) {
		pipeline_flush(s->pipe);
		(void)store_flush_async(s->store);	/* it logs failures */
		s->next_flush_us = now_us + s->cfg.db_flush_interval_ms * 1000;
	}
}

/* One frame, its time as the capture gave it. */
static inline void
frame_input(struct sensor *s, int64_t sec, int64_t usec,
    const uint8_t *bytes, uint32_t caplen)
{
	uint64_t	 ts;

	/*
	 * A damaged capture's timestamp can be before 1970 (libpcap reads
	 * the 32-bit field as signed) or have a microsecond part past a
	 * second: such a frame keeps the time of the one before it, so
	 * expiry and every time written stay sane. Counted.
	 */
	if (sec < 0 || usec < 0 || usec >= 1000000) {
		s->bad_timestamps++;
		ts = pipeline_now(s->pipe);
	} else
		ts = (uint64_t)sec * 1000000ULL + (uint64_t)usec;
	s->frames++;
	if (pipeline_frame(s->pipe, s->linktype, ts, bytes, caplen) &&
	    (ts >= s->next_tick_us || ts >= s->next_flush_us))
		housekeeping(s, ts);
}

void
sensor_frame(struct sensor *s, const struct pcap_pkthdr *h,
    const uint8_t *bytes)
{
	frame_input(s, h->ts.tv_sec, h->ts.tv_usec, bytes, h->caplen);
}

/*
 * Offline, a signal only sets a flag, looked at between packets. SIGINT,
 * SIGTERM and SIGHUP (the terminal went away) stop the reading: the open
 * sessions are finished and everything is written, as at the end of the
 * input. SIGUSR1 logs the counters.
 */
static volatile sig_atomic_t offline_stop;	/* the stopping signal, or 0 */
static volatile sig_atomic_t offline_usr1;

static void
on_offline_signal(int sig)
{
	if (sig == SIGUSR1)
		offline_usr1 = 1;
	else if (offline_stop == 0)
		offline_stop = sig;
}

/*
 * The stopping signals come without SA_RESTART, so that a read blocked on
 * a pipe (-r -) returns at once; after SIGUSR1 the read goes on. A SIGHUP
 * that nohup ignores stays ignored. The database writer thread blocks every
 * signal: they reach this thread.
 */
static void
offline_signals(void)
{
	static const int stops[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa, old;
	size_t		 i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_offline_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(stops) / sizeof(stops[0]); i++) {
		if (stops[i] == SIGHUP && sigaction(SIGHUP, NULL, &old) == 0 &&
		    old.sa_handler == SIG_IGN)
			continue;
		if (sigaction(stops[i], &sa, NULL) == -1)
			fatal("sigaction");
	}
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGUSR1, &sa, NULL) == -1)
		fatal("sigaction");
}

/*
 * The next record of the file being read, with pcap_next_ex()'s contract
 * (1, PCAP_ERROR_BREAK at the end, PCAP_ERROR). Both readers' records
 * come as the direct reader's, which needs no conversion.
 */
static int
next_record(struct sensor *s, struct pcapfile_rec *r)
{
	struct pcap_pkthdr *h;
	const u_char	*bytes;
	int		 rc;

	if (s->file_direct) {
		if ((rc = pcapfile_next(&s->file, r)) != 1)
			return rc == 0 ? PCAP_ERROR_BREAK : PCAP_ERROR;
		return 1;
	}
	if ((rc = pcap_next_ex(s->pcap, &h, &bytes)) != 1)
		return rc;
	r->ts_sec = h->ts.tv_sec;
	r->ts_usec = h->ts.tv_usec;
	r->caplen = h->caplen;
	r->len = h->len;
	r->data = bytes;
	return 1;
}

/* Read one capture file through the pipeline; -1 on a read error. */
static int
read_file(struct sensor *s, const char *path, uint32_t index,
    uint32_t nfiles)
{
	struct pcapfile_rec r;
	char		 err[PCAP_ERRBUF_SIZE + CONFIG_STR_MAX];
	int		 rc = 0, bpf;

	bpf = capture_file_needs_bpf(&s->cfg);
	/* libpcap applies a BPF program as it reads: then it reads. */
	if ((s->pcap = capture_open_file(path, s->filebuf,
	    s->filebuf != NULL ? CAPTURE_FILE_BUFFER : 0,
	    bpf ? NULL : &s->file, &s->file_direct, err,
	    sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return -1;
	}
	s->linktype = pcap_datalink(s->pcap);
	if (!decode_link_supported(s->linktype)) {
		log_warnx("%s: unsupported link type %d (%s)", path,
		    s->linktype, pcap_datalink_val_to_name(s->linktype) ?
		    pcap_datalink_val_to_name(s->linktype) : "unknown");
		pcap_close(s->pcap);
		s->pcap = NULL;
		return -1;
	}
	if (bpf && capture_set_filter(s->pcap, s->cfg.filter,
	    (int)s->cfg.filter_encapsulated, err, sizeof(err)) == -1) {
		log_warnx("%s: %s", path, err);
		pcap_close(s->pcap);
		s->pcap = NULL;
		return -1;
	}
	s->file_frames = 0;
	progress_file(&s->progress, path, s->file_direct ? s->file.fd :
	    fileno(pcap_file(s->pcap)), index, nfiles);
	while (offline_stop == 0 &&
	    (rc = next_record(s, &r)) == 1) {
		if (offline_usr1) {
			offline_usr1 = 0;
			sensor_log_stats(s);
		}
		frame_input(s, r.ts_sec, r.ts_usec, r.data, r.caplen);
		if ((++s->file_frames & (PROGRESS_FRAMES - 1)) == 0)
			progress_update(&s->progress, progress_position(s),
			    s->file_frames);
	}
	progress_end(&s->progress);
	/* A stopping signal interrupts a blocked read: not a file error. */
	if (offline_stop != 0)
		rc = 0;
	if (rc == PCAP_ERROR)
		log_warnx("%s: %s (after %" PRIu64 " frames; what was read "
		    "is kept)", path, s->file_direct ? s->file.err :
		    pcap_geterr(s->pcap), s->file_frames);
	pcap_close(s->pcap);
	s->pcap = NULL;
	return rc == PCAP_ERROR ? -1 : 0;
}

/*
 * The sessions of files[i] name it as their source. Reading a file into a
 * database again doubles its sessions: say so, once per file. Standard
 * input may be another capture each time: no warning for "-".
 */
static void
offline_source(struct sensor *s, char **files, size_t i)
{
	const char	*name;
	size_t		 j;
	int		 seen;

	if ((name = pipeline_set_source(s->pipe, files[i])) == NULL)
		fatal("pipeline_set_source");
	if (strcmp(files[i], "-") == 0)
		return;
	for (j = 0, seen = 0; j < i && !seen; j++)
		seen = strcmp(files[j], files[i]) == 0;
	if (!seen && (seen = store_source_seen(s->store, name)) == -1)
		log_warnx("database %s: %s", s->cfg.database,
		    store_error(s->store));
	if (seen == 1)
		log_warnx("%s: already read into %s: its sessions will be "
		    "there twice", name, s->cfg.database);
}

/* 0 once every file is read, 128 + n when signal n stopped the reading. */
static int
run_offline(struct sensor *s, char **files, size_t nfiles)
{
	size_t	 i;

	offline_signals();
	progress_init(&s->progress, s->progress_forced);
	/* Without it the files are read through stdio's small default. */
	if ((s->filebuf = malloc(CAPTURE_FILE_BUFFER)) == NULL)
		log_warn("file buffer");
	for (i = 0; i < nfiles && offline_stop == 0; i++) {
		s->summary.files++;
		offline_source(s, files, i);
		if (read_file(s, files[i], (uint32_t)i + 1,
		    (uint32_t)nfiles) == -1) {
			s->errors++;
			s->summary.files_failed++;
		}
	}
	if (offline_stop != 0)
		log_info("signal %d: stopped reading after %" PRIu64 " frames; "
		    "finishing open sessions", (int)offline_stop, s->frames);
	pipeline_finish(s->pipe);
	free(s->filebuf);
	s->filebuf = NULL;
	return offline_stop != 0 ? 128 + offline_stop : 0;
}

static void
load_server(void *arg, const struct history_server *rec)
{
	history_load(arg, rec);
}

/* An unset database path: the default of the mode. */
void
sensor_default_database(const struct sensor *s, struct config *c)
{
	if (c->database[0] == '\0')
		snprintf(c->database, sizeof(c->database), "%s",
		    s->live ? SENSOR_DB_LIVE : SENSOR_DB_OFFLINE);
}

/* The database path (by mode when unset) and its store settings. */
void
sensor_store_config(struct sensor *s, struct store_config *sc)
{
	sensor_default_database(s, &s->cfg);
	memset(sc, 0, sizeof(*sc));
	sc->queue_memcap = s->cfg.db_queue_memcap;
	sc->queue_max = (uint32_t)s->cfg.db_queue_max;
	sc->busy_timeout_ms = (uint32_t)s->cfg.db_busy_timeout_ms;
	sc->worker = (uint32_t)s->worker;
	sc->wait_when_full = !s->live;
	sc->fail_wait_ms = (uint32_t)(s->cfg.db_final_timeout * 1000);
	sc->wal_warn = s->cfg.db_wal_warn;
	sc->stop_waiting = s->live ? NULL : &offline_stop;
}

/* Open the database and record the sensor's name in it; NULL and err. */
struct store *
sensor_store_open(struct sensor *s, char *err, size_t errlen)
{
	struct store_config sc;
	struct store	*st;

	sensor_store_config(s, &sc);
	if ((st = store_open(s->cfg.database, &sc, err, errlen)) == NULL)
		return NULL;
	if (store_set_sensor(st, s->name) == -1) {
		snprintf(err, errlen, "%s: %s", s->cfg.database,
		    store_error(st));
		store_close(st);
		return NULL;
	}
	return st;
}

void
sensor_open_outputs(struct sensor *s)
{
	struct alert_config ac;
	struct pipeline_config pc;
	char		 err[CONFIG_STR_MAX + 256];

	if ((s->store = sensor_store_open(s, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if (sensor_open_json(s, err, sizeof(err)) == -1)
		fatalx("json_log %s", err);
	if (sensor_open_fwd(s, err, sizeof(err)) == -1)
		fatalx("syslog %s", err);
	sensor_alert_config(s, &ac);
	if ((s->alert = alert_new(&ac)) == NULL)
		fatal("alert_new");
	store_sink(s->store, &s->sinks[0]);
	alert_sink(s->alert, &s->sinks[1]);
	jsonlog_sink(s->jsonlog, &s->sinks[2]);
	summary_sink(&s->summary, &s->sinks[3]);
	sensor_pipeline_config(&s->cfg, &pc);
	/* Workers share the database: each takes every nworkers-th id. */
	pc.first_session_id = store_next_session_id(s->store) +
	    (uint64_t)s->worker;
	pc.session_id_stride = (uint32_t)s->nworkers;
	if ((s->pipe = pipeline_new(&pc, s->sinks, SENSOR_NSINKS)) == NULL ||
	    (s->live && pipeline_set_source(s->pipe, s->cfg.interface) == NULL))
		fatal("pipeline_new");
	if (store_load_servers(s->store, (uint32_t)s->cfg.history_max_servers,
	    load_server, pipeline_history(s->pipe)) == -1)
		log_warnx("database %s: cannot read server history: %s",
		    s->cfg.database, store_error(s->store));
	limits_init(s);
}

/*
 * The last write waits out a reader's lock for up to db_final_timeout:
 * rows still queued then are lost, and said so.
 */
static int
final_flush(struct sensor *s)
{
	struct timespec	 pause = { 0, 100 * 1000 * 1000 };
	uint64_t	 waited_ms = 0;

	while (store_flush(s->store) == -1) {
		if (waited_ms >= s->cfg.db_final_timeout * 1000) {
			log_warnx("database %s: %s; %" PRIu64 " rows not "
			    "written", s->cfg.database, store_error(s->store),
			    store_discard(s->store));
			return -1;
		}
		if (waited_ms == 0)
			log_warnx("database %s: %s; retrying for up to %" PRIu64
			    "s", s->cfg.database, store_error(s->store),
			    s->cfg.db_final_timeout);
		nanosleep(&pause, NULL);
		waited_ms += 100;
	}
	return 0;
}

/*
 * Syslog messages still waiting get up to syslog_final_timeout to go;
 * the rest are given up, counted and said.
 */
static void
final_syslog(struct sensor *s)
{
	struct timespec	 pause = { 0, 50 * 1000 * 1000 };
	uint64_t	 waited_ms = 0, n;

	if (s->fwd == NULL)
		return;
	logfwd_hurry(s->fwd);
	logfwd_poll(s->fwd);
	while (logfwd_get_stats(s->fwd)->queued > 0 &&
	    waited_ms < s->cfg.syslog_final_timeout * 1000) {
		nanosleep(&pause, NULL);
		waited_ms += 50;
		logfwd_poll(s->fwd);
	}
	sensor_outputs_news(s);
	if ((n = logfwd_discard(s->fwd)) > 0)
		log_warnx("syslog %s: %" PRIu64 " messages not sent within "
		    "syslog_final_timeout (%" PRIu64 "s)", logfwd_name(s->fwd),
		    n, s->cfg.syslog_final_timeout);
}

static uint64_t
wall_now_us(void)
{
	struct timeval	 tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000000ULL + (uint64_t)tv.tv_usec;
}

/* JSON lines or syslog messages lost during the run: exit status 1. */
static void
check_lost(struct sensor *s)
{
	uint64_t	 j = s->jsonlog != NULL ?
			    jsonlog_get_stats(s->jsonlog)->dropped : 0;
	uint64_t	 m = s->fwd != NULL ? logfwd_get_stats(s->fwd)->dropped :
			    0;

	if (j == 0 && m == 0)
		return;
	log_warnx("lost %" PRIu64 " JSON lines (json_dropped) and %" PRIu64
	    " syslog messages (syslog_dropped)", j, m);
	s->errors++;
}

/*
 * The last line of a run that lost rows: how many did not reach the
 * database, and why. 1 when any did (the exit status says so), else 0.
 */
static int
report_losses(const struct sensor *s, const struct store_stats *ss)
{
	if (ss->dropped == 0 && ss->rejected == 0)
		return 0;
	log_warnx("database %s: %" PRIu64 " rows not written: %" PRIu64
	    " dropped with the queue full (db_queue_max, db_queue_memcap), %"
	    PRIu64 " given up at exit (db_final_timeout), %" PRIu64 " without "
	    "memory, %" PRIu64 " refused by the database", s->cfg.database,
	    ss->dropped + ss->rejected, ss->queue_full, ss->given_up,
	    ss->no_memory, ss->rejected);
	return 1;
}

/* Every session is finished by now (pipeline_finish): write, report, free. */
void
sensor_close_outputs(struct sensor *s)
{
	struct store_stats ss;
	uint64_t	 n;

	checksum_notice(s, UINT64_MAX);
	if (final_flush(s) == -1)
		s->errors++;
	limits_flush(s, pipeline_now(s->pipe));
	counters_json(s, wall_now_us());
	if (s->verbose)
		sensor_log_stats(s);
	pipeline_free(s->pipe);
	s->pipe = NULL;
	ss = *store_get_stats(s->store);
	n = store_close(s->store);	/* nothing, after final_flush */
	ss.given_up += n;
	ss.dropped += n;
	alert_free(s->alert);
	final_syslog(s);
	sensor_outputs_news(s);
	check_lost(s);
	jsonlog_free(s->jsonlog);
	s->jsonlog = NULL;
	logfwd_free(s->fwd);
	s->fwd = NULL;
	if (!s->live)
		summary_print(&s->summary, s, &ss);
	if (report_losses(s, &ss))
		s->errors++;
}

/*
 * --print-filter: the BPF expression stripwatch installs, for the link
 * type of the first -r file (or of -i's interface, which needs no root:
 * the handle is not activated for this).
 */
static int
show_filter(struct sensor *s, const char *file)
{
	char	 err[PCAP_ERRBUF_SIZE + CONFIG_STR_MAX], expr[CAPTURE_EXPR_MAX];
	pcap_t	*p;
	int	 direct;

	if (file != NULL)
		p = capture_open_file(file, NULL, 0, NULL, &direct, err,
		    sizeof(err));
	else
		p = pcap_open_dead(DLT_EN10MB, (int)s->cfg.snaplen);
	if (p == NULL) {
		fprintf(stderr, "stripwatch: %s\n", err);
		return 1;
	}
	if (capture_filter_expr(p, s->cfg.filter,
	    (int)s->cfg.filter_encapsulated, expr, sizeof(expr), err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "stripwatch: %s\n", err);
		pcap_close(p);
		return 1;
	}
	printf("%s\n", expr);
	pcap_close(p);
	return 0;
}

static void
print_line(void *arg, const char *line)
{
	fprintf(arg, "%s\n", line);
}

/* -n: the settings parsed, and what the start will need is there. */
static int
check_config(struct sensor *s, char *const files[], size_t nfiles)
{
	if (preflight_check(s, files, nfiles) == -1)
		return 1;
	if (s->verbose)
		config_dump(&s->cfg, print_line, stdout);
	printf("configuration OK\n");
	return 0;
}

/* What the command line asked for, before it is applied to the config. */
struct options {
	char		*files[MAX_FILES];	/* -r, in order */
	size_t		 nfiles;
	const char	*db, *filter, *iface, *user, *json_log;
	int		 check_only;		/* -n */
	int		 print_filter;		/* --print-filter */
};

/*
 * An option that takes one value may be given once: with two, which one
 * should win is a guess (the last silently did).
 */
static int
set_once(const char **slot, const char *value, int ch)
{
	if (*slot != NULL) {
		fprintf(stderr, "stripwatch: -%c given twice\n", ch);
		return -1;
	}
	*slot = value;
	return 0;
}

/* --syslog and --no-syslog (--progress and --no-progress) contradict each
 * other; name is the option without "--". */
static int
set_switch(int *slot, int on, const char *name)
{
	if (*slot >= 0 && *slot != on) {
		fprintf(stderr, "stripwatch: --%s and --no-%s are exclusive\n",
		    name, name);
		return -1;
	}
	*slot = on;
	return 0;
}

/* -d, -f, -i, -u, --json-log as settings over the file; -1 if one is
 * not valid. */
static int
set_overrides(struct sensor *s, const struct options *o)
{
	const struct sensor_override all[SENSOR_OVERRIDES_MAX] = {
		{ "database", o->db }, { "filter", o->filter },
		{ "interface", o->iface }, { "user", o->user },
		{ "json_log", o->json_log },
	};
	struct config	 scratch;
	char		 err[CONFIG_STR_MAX + 128];
	size_t		 i;

	config_defaults(&scratch);
	for (i = 0; i < SENSOR_OVERRIDES_MAX; i++) {
		if (all[i].value == NULL)
			continue;
		if (config_set(&scratch, all[i].key, all[i].value, err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "stripwatch: %s\n", err);
			return -1;
		}
		s->overrides[s->noverrides++] = all[i];
	}
	return 0;
}

/* One option of parse_options(); -1 on a usage error. */
static int
parse_option(int ch, struct options *o, struct sensor *s)
{
	switch (ch) {
	case 'c': return set_once(&s->config_path, optarg, 'c');
	case 'd': return set_once(&o->db, optarg, 'd');
	case 'f': return set_once(&o->filter, optarg, 'f');
	case 'i': return set_once(&o->iface, optarg, 'i');
	case 'u': return set_once(&o->user, optarg, 'u');
	case 'n': o->check_only = 1; return 0;
	case 'r':
		if (o->nfiles == MAX_FILES)
			fatalx("too many -r files (max %d)", MAX_FILES);
		o->files[o->nfiles++] = optarg;
		return 0;
	case 'v': s->verbose++; return 0;
	case 'S': return set_switch(&s->syslog_forced, 1, "syslog");
	case 'N': return set_switch(&s->syslog_forced, 0, "syslog");
	case 'P': o->print_filter = 1; return 0;
	case 'G': return set_switch(&s->progress_forced, 1, "progress");
	case 'g': return set_switch(&s->progress_forced, 0, "progress");
	case 'J':
		if (o->json_log != NULL) {
			fprintf(stderr, "stripwatch: --json-log given twice\n");
			return -1;
		}
		o->json_log = optarg;
		return 0;
	default: return -1;
	}
}

/* Parse argv into *o and s; returns -1 to go on, else an exit status. */
static int
parse_options(int argc, char *argv[], struct options *o, struct sensor *s)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "syslog", no_argument, NULL, 'S' },
		{ "no-syslog", no_argument, NULL, 'N' },
		{ "print-filter", no_argument, NULL, 'P' },
		{ "json-log", required_argument, NULL, 'J' },
		{ "progress", no_argument, NULL, 'G' },
		{ "no-progress", no_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 }
	};
	int	 ch;

	while ((ch = getopt_long(argc, argv, "c:d:f:hi:nr:u:vV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'V':
			printf("stripwatch %s\n", STRIPWATCH_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			if (parse_option(ch, o, s) == -1) {
				usage(stderr);
				return 2;
			}
		}
	}
	if (optind != argc) {
		fprintf(stderr, "stripwatch: unexpected argument \"%s\"\n",
		    argv[optind]);
		usage(stderr);
		return 2;
	}
	return set_overrides(s, o) == -1 ? 2 : -1;
}

/*
 * The settings as the sensor runs them: defaults, the file, then what the
 * command line overrides. A reload reads them again the same way.
 */
int
sensor_read_config(const struct sensor *s, struct config *c, char *err,
    size_t len)
{
	size_t	 i;

	config_defaults(c);
	if (s->config_path != NULL &&
	    config_load(c, s->config_path, err, len) == -1)
		return -1;
	for (i = 0; i < s->noverrides; i++)
		if (config_set(c, s->overrides[i].key, s->overrides[i].value,
		    err, len) == -1)
			return -1;
	return 0;
}

int
main(int argc, char *argv[])
{
	static struct sensor s;
	static struct options o;
	char		 err[CONFIG_STR_MAX + 256];
	int		 rc;

	if (argc > 1 && strcmp(argv[1], "report") == 0)
		return report_main(argc - 1, argv + 1);
	s.syslog_forced = -1;
	s.progress_forced = -1;
	s.nworkers = 1;
	s.ready_fd = -1;
	if ((rc = parse_options(argc, argv, &o, &s)) >= 0)
		return rc;
	default_config(&s);
	if (sensor_read_config(&s, &s.cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "stripwatch: %s\n", err);
		return 1;
	}
	if (o.check_only)
		return check_config(&s, o.files, o.nfiles);
	if (o.print_filter)
		return show_filter(&s, o.nfiles > 0 ? o.files[0] : NULL);
	if (o.nfiles > 0 && o.iface != NULL) {
		fprintf(stderr, "stripwatch: -i and -r are exclusive\n");
		return 2;
	}
	s.live = o.nfiles == 0;
	if (s.live && s.cfg.interface[0] == '\0') {
		fprintf(stderr, "stripwatch: nothing to do: give -i IFACE "
		    "or -r FILE\n");
		usage(stderr);
		return 2;
	}
	log_init(0, s.verbose, "stripwatch");
	sensor_set_name(&s);
	/* A closed stdout (| head) must not kill the run before the
	 * database is written. */
	signal(SIGPIPE, SIG_IGN);
	sensor_foreground_alerts(&s);
	if (s.live && s.cfg.workers > 1)
		return workers_run(&s);
	if (s.live)
		rc = live_run(&s);
	else {
		summary_start(&s.summary);
		sensor_open_outputs(&s);
		rc = run_offline(&s, o.files, o.nfiles);
	}
	sensor_close_outputs(&s);
	if (rc > 128)		/* stopped by signal n: 128 + n, as shells say */
		return rc;
	return rc != 0 || s.errors != 0 ? 1 : 0;
}
