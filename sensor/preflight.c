/*
 * preflight.c: -n, what a start with the same options, by the same user,
 * would need, checked without starting: the filter compiles; live, the
 * interface is set and exists, the capture is permitted, the user to run
 * as exists, and the database directory is there for that user to write;
 * offline, the capture files open and the database directory is writable.
 * Each failure is one line on stderr saying what to change.
 */
#define _GNU_SOURCE		/* setresuid, setresgid */
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/capability.h>
#include <net/if.h>

#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sensor.h"

#define PREFLIGHT_CANNOT_BECOME	126	/* child exit: setresuid failed */

static void	 failed(int *nfail, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

static void
failed(int *nfail, const char *fmt, ...)
{
	va_list	 ap;

	fputs("stripwatch: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	(*nfail)++;
}

/* The file the settings came from, for "set it in ...". */
static const char *
config_name(const struct sensor *s)
{
	return s->config_path != NULL ? s->config_path : SENSOR_CONFIG_FILE;
}

/* The filter as it will be installed must compile (for Ethernet). */
static void
check_filter(const struct sensor *s, int *nfail)
{
	char	 err[PCAP_ERRBUF_SIZE + CONFIG_STR_MAX], expr[CAPTURE_EXPR_MAX];
	pcap_t	*p;

	if ((p = pcap_open_dead(DLT_EN10MB, (int)s->cfg.snaplen)) == NULL) {
		failed(nfail, "pcap_open_dead failed");
		return;
	}
	if (capture_filter_expr(p, s->cfg.filter,
	    (int)s->cfg.filter_encapsulated, expr, sizeof(expr), err,
	    sizeof(err)) == -1)
		failed(nfail, "%s%s%s", s->config_path != NULL ?
		    s->config_path : "", s->config_path != NULL ? ": " : "",
		    err);
	pcap_close(p);
}

/* A network interface, or a device only libpcap knows ("any"). */
static int
interface_exists(const char *name)
{
	char		 err[PCAP_ERRBUF_SIZE];
	pcap_if_t	*all, *d;
	int		 found = 0;

	if (if_nametoindex(name) != 0)
		return 1;
	if (pcap_findalldevs(&all, err) == -1)
		return 0;
	for (d = all; d != NULL && !found; d = d->next)
		found = strcmp(d->name, name) == 0;
	pcap_freealldevs(all);
	return found;
}

/* Opening a packet socket takes root or CAP_NET_RAW (the unit's). */
static int
may_capture(void)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct data[2];

	if (geteuid() == 0)
		return 1;
	memset(&hdr, 0, sizeof(hdr));
	memset(data, 0, sizeof(data));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	if (syscall(SYS_capget, &hdr, data) == -1)
		return 1;	/* cannot tell: the start will say */
	return (data[CAP_NET_RAW / 32].effective >> (CAP_NET_RAW % 32)) & 1;
}

static void
check_interface(const struct sensor *s, int *nfail)
{
	const char	*ifname = s->cfg.interface;

	if (ifname[0] == '\0') {
		failed(nfail, "interface is not set: set \"interface\" in %s%s, "
		    "or give -i IFACE (or -r FILE to read a capture)",
		    config_name(s), s->config_path != NULL ? "" :
		    " (there is none)");
		return;
	}
	if (!interface_exists(ifname))
		failed(nfail, "interface \"%s\": no such device (see ip link)",
		    ifname);
	else if (!may_capture())
		failed(nfail, "capturing on %s needs root or CAP_NET_RAW",
		    ifname);
}

/*
 * Started as root, stripwatch opens what it needs and then becomes the
 * user: it must exist and not be root (priv_drop refuses both). NULL when
 * the start keeps the current user (started unprivileged).
 */
static const struct passwd *
check_user(const struct sensor *s, int *nfail)
{
	const struct passwd *pw;

	if (geteuid() != 0)
		return NULL;
	if ((pw = getpwnam(s->cfg.user)) == NULL) {
		failed(nfail, "user \"%s\" does not exist: create it (for "
		    "\"stripwatch\": systemd-sysusers stripwatch.conf), set "
		    "\"user\" in %s, or give -u USER", s->cfg.user,
		    config_name(s));
		return NULL;
	}
	if (pw->pw_uid == 0) {
		failed(nfail, "user \"%s\" is root: stripwatch refuses to run "
		    "as root; set another \"user\"", s->cfg.user);
		return NULL;
	}
	return pw;
}

/*
 * access(2) as pw would see it, asked of the kernel by a child that takes
 * pw's ids as priv_drop() does (primary group only), so permissions, ACLs
 * and read-only mounts all count. 0, or the errno of the refusal.
 */
static int
access_as(const struct passwd *pw, const char *path, int mode)
{
	pid_t	 pid;
	int	 status;

	if (pw == NULL)
		return access(path, mode) == 0 ? 0 : errno;
	if ((pid = fork()) == -1)
		return errno;
	if (pid == 0) {
		if (setgroups(1, &pw->pw_gid) == -1 ||
		    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
			_exit(PREFLIGHT_CANNOT_BECOME);
		_exit(access(path, mode) == 0 ? 0 :
		    errno < PREFLIGHT_CANNOT_BECOME ? errno : EACCES);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status) ==
	    PREFLIGHT_CANNOT_BECOME)
		return EPERM;
	return WEXITSTATUS(status);
}

/*
 * The database's directory must be there: the start creates the file, not
 * the directory (the unit's StateDirectory= and the tmpfiles.d file create
 * /var/lib/stripwatch). The user writes the file and its -wal and -shm
 * beside it; started as root, stripwatch gives an existing file to the
 * user itself.
 */
static void
check_database(const struct sensor *s, int live, const struct passwd *pw,
    int *nfail)
{
	const char	*db = s->cfg.database[0] != '\0' ? s->cfg.database :
			    live ? SENSOR_DB_LIVE : SENSOR_DB_OFFLINE;
	const struct passwd *self;
	const char	*who;
	char		 buf[CONFIG_STR_MAX], live_dir[] = SENSOR_DB_LIVE, *dir;
	struct stat	 st;
	int		 e;

	snprintf(buf, sizeof(buf), "%s", db);
	dir = dirname(buf);
	if (stat(dir, &st) == -1) {
		if (errno != ENOENT)
			failed(nfail, "database %s: directory %s: %s", db, dir,
			    strerror(errno));
		else
			failed(nfail, "database %s: directory %s does not "
			    "exist; create it%s, or set \"database\"", db, dir,
			    strcmp(dir, dirname(live_dir)) == 0 ? " (systemd-"
			    "tmpfiles --create stripwatch.conf does)" : "");
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		failed(nfail, "database %s: %s is not a directory", db, dir);
		return;
	}
	/* getpwuid() only without pw: it may reuse the storage pw is in. */
	if (pw != NULL)
		who = pw->pw_name;
	else
		who = (self = getpwuid(geteuid())) != NULL ? self->pw_name :
		    "this user";
	if ((e = access_as(pw, dir, W_OK | X_OK)) != 0)
		failed(nfail, "database %s: directory %s is not writable by %s "
		    "(%s)", db, dir, who, strerror(e));
	else if (pw == NULL && access(db, F_OK) == 0 &&
	    (e = access_as(NULL, db, R_OK | W_OK)) != 0)
		failed(nfail, "database %s: not writable by %s (%s)", db, who,
		    strerror(e));
}

static void
check_files(char *const files[], size_t nfiles, int *nfail)
{
	char	 err[PCAP_ERRBUF_SIZE + CONFIG_STR_MAX];
	pcap_t	*p;
	size_t	 i;
	int	 direct;

	for (i = 0; i < nfiles; i++) {
		if (strcmp(files[i], "-") == 0)
			continue;	/* reading stdin would consume it */
		if ((p = capture_open_file(files[i], NULL, 0, NULL, &direct,
		    err, sizeof(err))) == NULL)
			failed(nfail, "%s", err);
		else
			pcap_close(p);
	}
}

int
preflight_check(const struct sensor *s, char *const files[], size_t nfiles)
{
	const struct passwd *pw = NULL;
	int		 nfail = 0, live = nfiles == 0;

	check_filter(s, &nfail);
	if (live) {
		check_interface(s, &nfail);
		pw = check_user(s, &nfail);
	} else
		check_files(files, nfiles, &nfail);
	check_database(s, live, pw, &nfail);
	return nfail == 0 ? 0 : -1;
}
