// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * sluice: the command-line entry point. Commands are a table; each one
 * parses its own options and prints its own usage.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
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
	{ "up", cmd_up, "load, attach to interfaces and pin the data path" },
	{ "down", cmd_down, "detach and remove every pin" },
	{ "service", cmd_service, "add, del or list services (VIP:port/proto)" },
	{ "backend", cmd_backend, "add, del or list a service's backends" },
	{ "split", cmd_split, "set the candidate pool's share of new flows" },
	{ "flip", cmd_flip, "blue/green switch: candidate takes all new flows" },
	{ "segment", cmd_segment, "pin source prefixes to a colour" },
	{ "status", cmd_status, "configured and observed split, counters" },
	{ "explain", cmd_explain, "which colour and backend a client gets, and why" },
	{ "top", cmd_top, "live view: rates, errors, latency, rollout step" },
	{ "events", cmd_events, "drops, errors and sampled flows as they happen" },
	{ "apply", cmd_apply, "make services and pools what a YAML file says" },
	{ "rollout", cmd_rollout, "start, watch and steer automated rollouts" },
	{ "agent", cmd_agent, "run rollouts; serve the control socket" },
	{ "help", do_help, "list the commands" },
	{ "version", do_version, "print the version" },
};

static int do_help(int argc, char **argv)
{
	size_t i;

	(void)argc;
	(void)argv;
	printf("Usage: sluice COMMAND [ARGS]\n\n"
	       "XDP traffic steerer for progressive delivery: splits each\n"
	       "service's new flows between a blue and a green backend pool.\n\n"
	       "Commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %-10s %s\n", commands[i].name, commands[i].summary);
	printf("\n'sluice COMMAND --help' explains a command.\n"
	       "Exit status: 0 ok, 1 the system refused, 2 bad input "
	       "(nothing changed).\n");
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
