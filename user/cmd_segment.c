// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* sluice segment add | del | list: pin source prefixes to a colour. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "parse.h"
#include "state.h"

#define LIST_MAX 4096

static const struct cli_cmd segment_cmd = {
	"segment",
	"Usage: sluice segment add SERVICE PREFIX blue|green\n"
	"       sluice segment del SERVICE PREFIX\n"
	"       sluice segment list SERVICE\n"
	"\n"
	"A segment pins new flows from a source prefix to one colour whatever\n"
	"the split: beta testers, an office network. The longest matching\n"
	"prefix wins. Established flows keep their backend.\n"
	"\n"
	"Example: sluice segment add web 198.18.7.0/24 green\n",
};

static int segment_list(struct sluice_maps *m, __u32 id)
{
	static struct sluice_segment segs[LIST_MAX];
	char a[SLUICE_ADDR_STRLEN];
	int n, i;

	n = sluice_segment_list(m, id, segs, LIST_MAX);
	if (n < 0)
		return cli_fail(&segment_cmd, "cannot list: %s", strerror(-n));
	if (!n)
		printf("no segments\n");
	for (i = 0; i < n; i++) {
		bool v4 = sluice_addr_is_v4(segs[i].addr);

		printf("%s/%u %s\n",
		       sluice_format_addr(segs[i].addr, a, sizeof(a)),
		       v4 ? segs[i].plen128 - 96 : segs[i].plen128,
		       sluice_colour_name(segs[i].colour));
	}
	return EXIT_OK;
}

int cmd_segment(int argc, char **argv)
{
	struct sluice_maps m;
	__u8 addr[16], colour = 0;
	__u32 plen, id;
	char what[96];
	int rc, lock, err, want;
	bool add, del, list;

	if (cli_wants_help(&segment_cmd, argc, argv))
		return EXIT_OK;
	if (argc < 2)
		return cli_usage(&segment_cmd, "add, del or list?");
	add = !strcmp(argv[1], "add");
	del = !strcmp(argv[1], "del");
	list = !strcmp(argv[1], "list");
	if (!add && !del && !list)
		return cli_usage(&segment_cmd, "unknown subcommand '%s'",
				 argv[1]);
	want = add ? 5 : del ? 4 : 3;
	if (argc != want)
		return cli_usage(&segment_cmd, "segment %s: want %s", argv[1],
				 add ? "SERVICE PREFIX blue|green" :
				 del ? "SERVICE PREFIX" :
				       "SERVICE");
	if (!list && sluice_parse_prefix(argv[3], addr, &plen, NULL))
		return cli_usage(&segment_cmd,
				 "prefix '%s': want ADDR/LEN with no host bits set, "
				 "e.g. 198.18.7.0/24 or fd00:7::/48",
				 argv[3]);
	if (add && sluice_parse_colour(argv[4], &colour))
		return cli_usage(&segment_cmd, "colour '%s': use blue or green",
				 argv[4]);
	rc = cli_open(&segment_cmd, &m, !list, &lock);
	if (rc)
		return rc;
	err = sluice_service_find(&m, argv[2], &id, NULL);
	if (err) {
		snprintf(what, sizeof(what), "service '%s'", argv[2]);
		rc = cli_state_error(&segment_cmd, err, what);
		goto out;
	}
	if (list) {
		rc = segment_list(&m, id);
		goto out;
	}
	snprintf(what, sizeof(what), "segment %s of '%s'", argv[3], argv[2]);
	err = add ? sluice_segment_add(&m, id, addr, plen, colour) :
		    sluice_segment_del(&m, id, addr, plen);
	if (err == -E2BIG || err == -ENOSPC)
		rc = cli_usage(&segment_cmd, "cannot add %s: all %d segments "
				"are in use", what, SLUICE_MAX_SEGMENTS);
	else if (err)
		rc = cli_state_error(&segment_cmd, err, what);
	else if (add)
		printf("%s pinned to %s\n", what, argv[4]);
	else
		printf("%s deleted\n", what);
out:
	cli_close(&m, lock);
	return rc;
}
