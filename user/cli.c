// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "pins.h"

static void vsay(const struct cli_cmd *c, const char *fmt, va_list ap)
{
	fprintf(stderr, "sluice %s: ", c->name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int cli_usage(const struct cli_cmd *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(c, fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try 'sluice %s --help'.\n", c->name);
	return EXIT_USAGE;
}

int cli_fail(const struct cli_cmd *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(c, fmt, ap);
	va_end(ap);
	return EXIT_FAIL;
}

bool cli_wants_help(const struct cli_cmd *c, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(c->usage, stdout);
			return true;
		}
	}
	return false;
}

void cli_reset_getopt(void)
{
	optind = 0;
	opterr = 0;
}

int cli_open(const struct cli_cmd *c, struct sluice_maps *m, bool change,
	     int *lock_fd)
{
	char why[512];
	int err;

	*lock_fd = -1;
	if (geteuid() != 0)
		return cli_usage(c, "must run as root (BPF maps are root-only)");
	if (sluice_check_bpffs(sluice_pin_dir(), why, sizeof(why)))
		return cli_usage(c, "%s", why);
	if (change) {
		*lock_fd = sluice_lock();
		if (*lock_fd < 0)
			return cli_fail(c, "cannot take the state lock: %s",
					strerror(-*lock_fd));
	}
	err = sluice_maps_open(m);
	if (err) {
		sluice_unlock(*lock_fd);
		*lock_fd = -1;
		if (err == -ENOENT)
			return cli_usage(c,
					 "sluice is not up (nothing pinned at "
					 "%s); run 'sluice up --iface IF'",
					 sluice_pin_dir());
		if (err == -EPROTO)
			return cli_fail(c,
					"the maps pinned in %s are from another "
					"version of sluice: run 'sluice down' "
					"and 'sluice up' with this one",
					sluice_pin_dir());
		return cli_fail(c, "cannot open pinned maps in %s: %s",
				sluice_pin_dir(), strerror(-err));
	}
	return EXIT_OK;
}

void cli_close(struct sluice_maps *m, int lock_fd)
{
	sluice_maps_close(m);
	sluice_unlock(lock_fd);
}

int cli_state_error(const struct cli_cmd *c, int err, const char *what)
{
	switch (err) {
	case -ENOENT:
		return cli_usage(c, "%s does not exist", what);
	case -EEXIST:
		return cli_usage(c, "%s already exists", what);
	case -ENOSPC:
		return cli_usage(c, "%s: limit reached", what);
	case -EINVAL:
		return cli_usage(c, "%s: invalid argument", what);
	default:
		return cli_fail(c, "%s: %s", what, strerror(-err));
	}
}
