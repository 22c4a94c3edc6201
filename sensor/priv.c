/*
 * priv.c: gives up root once the capture and the database are open. The
 * sensor parses hostile bytes; it must not do so with privileges.
 */
#define _GNU_SOURCE		/* setresuid, setresgid */
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <linux/capability.h>

#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sensor.h"

/* Clear every capability (e.g. CAP_NET_RAW given by systemd). */
static void
caps_clear(void)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct data[2];

	memset(&hdr, 0, sizeof(hdr));
	memset(data, 0, sizeof(data));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (syscall(SYS_capset, &hdr, data) == -1)
		fatal("capset");
}

void
priv_drop(const char *user)
{
	struct passwd	*pw;

	if (getuid() != 0 && geteuid() != 0) {
		/* Started unprivileged with capabilities: shed them. */
		caps_clear();
		return;
	}
	if ((pw = getpwnam(user)) == NULL)
		fatalx("unknown user \"%s\" (set with -u or \"user\"); "
		    "refusing to run as root", user);
	if (pw->pw_uid == 0)
		fatalx("user \"%s\" is root; refusing to run as root", user);
	if (setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		fatal("cannot drop privileges to \"%s\"", user);
	if (setuid(0) != -1 || geteuid() == 0)
		fatalx("still root after dropping privileges");
	caps_clear();
	(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	log_debug("running as %s (uid %u)", user, (unsigned)pw->pw_uid);
}
