// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * sluice: the command-line entry point. Commands are a table; each one
 * parses its own options and prints its own usage.
 */
#include <stdio.h>
#include <string.h>

#include "sluice_abi.h"

#define SLUICE_VERSION "0.1.0"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static int do_help(int argc, char **argv);

static int do_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("sluice %s\n", SLUICE_VERSION);
	return 0;
}

static const struct command commands[] = {
	{ "help", do_help, "list the commands" },
	{ "version", do_version, "print the version" },
};

static int do_help(int argc, char **argv)
{
	size_t i;

	(void)argc;
	(void)argv;
	printf("Usage: sluice COMMAND [ARGS]\n\n"
	       "XDP traffic steerer for progressive delivery.\n\n"
	       "Commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %-10s %s\n", commands[i].name, commands[i].summary);
	return 0;
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return do_help(argc, argv) ? 1 : (argc < 2 ? 2 : 0);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "sluice: unknown command '%s' (try 'sluice help')\n",
		argv[1]);
	return 2;
}
