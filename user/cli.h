/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * What every sluice command shares: exit codes, usage errors that name
 * the bad value, help handling and opening the pinned state.
 */
#ifndef SLUICE_CLI_H
#define SLUICE_CLI_H

#include <stdbool.h>
#include "maps.h"

#define EXIT_OK 0
#define EXIT_FAIL 1 /* the command was right; the system said no */
#define EXIT_USAGE 2 /* bad input: nothing was changed */

struct cli_cmd {
	const char *name; /* "backend add" */
	const char *usage; /* full --help text */
};

/* Print "sluice CMD: MESSAGE" and a hint to stderr; returns EXIT_USAGE. */
int cli_usage(const struct cli_cmd *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print "sluice CMD: MESSAGE" to stderr; returns EXIT_FAIL. */
int cli_fail(const struct cli_cmd *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* True (after printing usage to stdout) if argv asks for help. */
bool cli_wants_help(const struct cli_cmd *c, int argc, char **argv);

/*
 * Check root and bpffs, take the state lock when changing state, and
 * open the pinned maps. Returns EXIT_OK, or an exit code after printing
 * why. *lock_fd is -1 when no lock was taken.
 */
int cli_open(const struct cli_cmd *c, struct sluice_maps *m, bool change,
	     int *lock_fd);
void cli_close(struct sluice_maps *m, int lock_fd);

/* Turn a state.h error into a message about `what`; returns exit code. */
int cli_state_error(const struct cli_cmd *c, int err, const char *what);

/* getopt_long state reset between commands in one process (tests). */
void cli_reset_getopt(void);

#endif /* SLUICE_CLI_H */
