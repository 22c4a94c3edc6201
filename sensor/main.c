/*
 * main.c: the stripwatch program's lifecycle: options and configuration,
 * opening the database and the sinks, then either reading capture files
 * (offline) or running the live loop, and an orderly finish that writes
 * every open session.
 */
#include <sys/stat.h>

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
#include "sensor.h"

#define MAX_FILES	1024	/* -r given at most this often */

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: stripwatch [-hnVv] [-c file] [-d db] [-f filter] "
	    "[-u user]\n"
	    "                  [--syslog | --no-syslog] -i interface | "
	    "-r file ...\n"
	    "  -i IFACE       capture live on IFACE (promiscuous)\n"
	    "  -r FILE        read a pcap or pcapng file (repeatable)\n"
	    "  -f FILTER      BPF filter (default: \"tcp port 25 or tcp "
	    "port 587 or tcp port 2525\")\n"
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
	    "  --syslog, --no-syslog\n"
	    "                 send alerts to syslog or not (default: live "
	    "yes, offline no)\n"
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
	pc->flow.idle_timeout_us = c->flow_idle_timeout * 1000000ULL;
	pc->flow.linger_us = c->flow_linger * 1000000ULL;
	pc->frag.memcap = (size_t)c->frag_memcap;
	pc->frag.max_datagrams = (uint32_t)c->frag_max_datagrams;
	pc->frag.timeout_us = c->frag_timeout * 1000000ULL;
	pc->history.max_servers = (uint32_t)c->history_max_servers;
	pc->history.vanished_after = (uint32_t)c->vanished_after;
	pc->reasm.memcap = (size_t)c->reasm_memcap;
	pc->reasm.ooo_max = (uint32_t)c->reasm_ooo_max;
	pc->reasm.depth = (uint32_t)c->reasm_depth;
	pc->reasm.conflict_window = (uint32_t)c->reasm_conflict_window;
	pc->smtp.max_line = (uint32_t)c->smtp_max_line;
	pc->smtp.max_pipeline = (uint32_t)c->smtp_max_pipeline;
	pc->smtp.tls_max_bytes = (uint32_t)c->tls_max_bytes;
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

void
sensor_alert_config(const struct sensor *s, struct alert_config *ac)
{
	memset(ac, 0, sizeof(*ac));
	ac->use_syslog = use_syslog(s);
	ac->facility = config_facility(s->cfg.syslog_facility);
	ac->stream = s->live ? NULL : stdout;
	ac->rate_limit = (uint32_t)s->cfg.alert_rate_limit;
	ac->rate_interval_s = (uint32_t)s->cfg.alert_rate_interval;
	ac->format = strcmp(s->cfg.alert_format, "rfc5424") == 0 ?
	    ALERT_FORMAT_RFC5424 : ALERT_FORMAT_PLAIN;
}

/* Housekeeping by packet time: expiry, and database writes. */
static void
housekeeping(struct sensor *s, uint64_t now_us)
{
	if (now_us >= s->next_tick_us) {
		pipeline_tick(s->pipe, now_us);
		s->next_tick_us = now_us + SENSOR_TICK_US;
	}
	if (now_us >= s->next_flush_us) {
		pipeline_flush(s->pipe);
		if (store_flush_async(s->store) == -1)
			log_warnx("database: %s", store_error(s->store));
		s->next_flush_us = now_us + s->cfg.db_flush_interval_ms * 1000;
	}
}

void
sensor_frame(struct sensor *s, const struct pcap_pkthdr *h,
    const uint8_t *bytes)
{
	uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000ULL +
	    (uint64_t)h->ts.tv_usec;

	s->frames++;
	pipeline_frame(s->pipe, s->linktype, ts, bytes, h->caplen);
	if (ts >= s->next_tick_us || ts >= s->next_flush_us)
		housekeeping(s, ts);
}

/* Read one capture file through the pipeline; -1 on a read error. */
static int
read_file(struct sensor *s, const char *path)
{
	struct pcap_pkthdr *h;
	const u_char	*bytes;
	char		 err[PCAP_ERRBUF_SIZE + CONFIG_STR_MAX];
	int		 rc;

	if ((s->pcap = capture_open_file(path, s->filebuf,
	    CAPTURE_FILE_BUFFER, err, sizeof(err))) == NULL) {
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
	if (capture_set_filter(s->pcap, s->cfg.filter,
	    (int)s->cfg.filter_encapsulated, err, sizeof(err)) == -1) {
		log_warnx("%s: %s", path, err);
		pcap_close(s->pcap);
		s->pcap = NULL;
		return -1;
	}
	while ((rc = pcap_next_ex(s->pcap, &h, &bytes)) == 1)
		sensor_frame(s, h, bytes);
	if (rc == PCAP_ERROR)
		log_warnx("%s: %s (after %" PRIu64 " frames; what was read "
		    "is kept)", path, pcap_geterr(s->pcap), s->frames);
	pcap_close(s->pcap);
	s->pcap = NULL;
	return rc == PCAP_ERROR ? -1 : 0;
}

static int
run_offline(struct sensor *s, char **files, size_t nfiles)
{
	size_t	 i;

	/* Without it the files are read through stdio's small default. */
	if ((s->filebuf = malloc(CAPTURE_FILE_BUFFER)) == NULL)
		log_warn("file buffer");
	for (i = 0; i < nfiles; i++)
		if (read_file(s, files[i]) == -1)
			s->errors++;
	pipeline_finish(s->pipe);
	free(s->filebuf);
	s->filebuf = NULL;
	return 0;
}

static void
load_server(void *arg, const struct history_server *rec)
{
	history_load(arg, rec);
}

/* The database path (by mode when unset) and its store settings. */
void
sensor_store_config(struct sensor *s, struct store_config *sc)
{
	if (s->cfg.database[0] == '\0')
		snprintf(s->cfg.database, sizeof(s->cfg.database), "%s",
		    s->live ? SENSOR_DB_LIVE : SENSOR_DB_OFFLINE);
	memset(sc, 0, sizeof(*sc));
	sc->queue_max = (uint32_t)s->cfg.db_queue_max;
	sc->busy_timeout_ms = (uint32_t)s->cfg.db_busy_timeout_ms;
	sc->worker = (uint32_t)s->worker;
	sc->wait_when_full = !s->live;
}

void
sensor_open_outputs(struct sensor *s)
{
	struct store_config sc;
	struct alert_config ac;
	struct pipeline_config pc;
	char		 err[CONFIG_STR_MAX + 256];

	sensor_store_config(s, &sc);
	if ((s->store = store_open(s->cfg.database, &sc, err,
	    sizeof(err))) == NULL)
		fatalx("%s", err);
	sensor_alert_config(s, &ac);
	if ((s->alert = alert_new(&ac)) == NULL)
		fatal("alert_new");
	store_sink(s->store, &s->sinks[0]);
	alert_sink(s->alert, &s->sinks[1]);
	sensor_pipeline_config(&s->cfg, &pc);
	/* Workers share the database: each takes every nworkers-th id. */
	pc.first_session_id = store_next_session_id(s->store) +
	    (uint64_t)s->worker;
	pc.session_id_stride = (uint32_t)s->nworkers;
	if ((s->pipe = pipeline_new(&pc, s->sinks, 2)) == NULL)
		fatal("pipeline_new");
	if (store_load_servers(s->store, (uint32_t)s->cfg.history_max_servers,
	    load_server, pipeline_history(s->pipe)) == -1)
		log_warnx("database %s: cannot read server history: %s",
		    s->cfg.database, store_error(s->store));
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

/* Every session is finished by now (pipeline_finish): write, report, free. */
void
sensor_close_outputs(struct sensor *s)
{
	if (final_flush(s) == -1)
		s->errors++;
	if (s->verbose)
		sensor_log_stats(s);
	pipeline_free(s->pipe);
	s->pipe = NULL;
	store_close(s->store);
	alert_free(s->alert);
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

	if (file != NULL)
		p = capture_open_file(file, NULL, 0, err, sizeof(err));
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

static void
set_or_die(struct config *c, const char *key, const char *val)
{
	char	 err[CONFIG_STR_MAX + 128];

	if (config_set(c, key, val, err, sizeof(err)) == -1) {
		fprintf(stderr, "stripwatch: %s\n", err);
		exit(2);
	}
}

/* What the command line asked for, before it is applied to the config. */
struct options {
	char		*files[MAX_FILES];	/* -r, in order */
	size_t		 nfiles;
	const char	*db, *filter, *iface, *user;
	int		 check_only;		/* -n */
	int		 print_filter;		/* --print-filter */
};

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
		{ NULL, 0, NULL, 0 }
	};
	int	 ch;

	while ((ch = getopt_long(argc, argv, "c:d:f:hi:nr:u:vV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c': s->config_path = optarg; break;
		case 'd': o->db = optarg; break;
		case 'f': o->filter = optarg; break;
		case 'i': o->iface = optarg; break;
		case 'n': o->check_only = 1; break;
		case 'r':
			if (o->nfiles == MAX_FILES)
				fatalx("too many -r files (max %d)", MAX_FILES);
			o->files[o->nfiles++] = optarg;
			break;
		case 'u': o->user = optarg; break;
		case 'v': s->verbose++; break;
		case 'S': s->syslog_forced = 1; break;
		case 'N': s->syslog_forced = 0; break;
		case 'P': o->print_filter = 1; break;
		case 'V':
			printf("stripwatch %s\n", STRIPWATCH_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "stripwatch: unexpected argument \"%s\"\n",
		    argv[optind]);
		usage(stderr);
		return 2;
	}
	return -1;
}

/* The configuration file, then what the command line overrides. */
static int
load_config(struct sensor *s, const struct options *o)
{
	char	 err[CONFIG_STR_MAX + 256];

	if (s->config_path != NULL &&
	    config_load(&s->cfg, s->config_path, err, sizeof(err)) == -1) {
		fprintf(stderr, "stripwatch: %s\n", err);
		return 1;
	}
	if (o->db != NULL)
		set_or_die(&s->cfg, "database", o->db);
	if (o->filter != NULL)
		set_or_die(&s->cfg, "filter", o->filter);
	if (o->iface != NULL)
		set_or_die(&s->cfg, "interface", o->iface);
	if (o->user != NULL)
		set_or_die(&s->cfg, "user", o->user);
	return 0;
}

int
main(int argc, char *argv[])
{
	static struct sensor s;
	static struct options o;
	int		 rc;

	s.syslog_forced = -1;
	s.nworkers = 1;
	s.ready_fd = -1;
	config_defaults(&s.cfg);
	if ((rc = parse_options(argc, argv, &o, &s)) >= 0)
		return rc;
	default_config(&s);
	if (load_config(&s, &o) != 0)
		return 1;
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
	/* A closed stdout (| head) must not kill the run before the
	 * database is written. */
	signal(SIGPIPE, SIG_IGN);
	if (s.live && s.cfg.workers > 1)
		return workers_run(&s);
	if (s.live)
		rc = live_run(&s);
	else {
		sensor_open_outputs(&s);
		rc = run_offline(&s, o.files, o.nfiles);
	}
	sensor_close_outputs(&s);
	return rc != 0 || s.errors != 0 ? 1 : 0;
}
