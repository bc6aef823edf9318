// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * sluice up / down: load the program, pin its maps, attach one XDP link
 * per interface and pin it, so traffic flows with no sluice process
 * running. `up` on a host that is already up reuses the pinned maps and
 * swaps the new program into the existing links (an in-place upgrade).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sluice.skel.h"
#include "cli.h"
#include "commands.h"
#include "parse.h"
#include "pins.h"

#define MAX_IFACES 16

static const struct cli_cmd up_cmd = {
	"up",
	"Usage: sluice up --iface IF [--iface IF ...] [--mode native|generic]\n"
	"                 [--seed HEX] [--flows N] [--sample-every N]\n"
	"\n"
	"Load the XDP program, pin its maps under " SLUICE_PIN_DIR_DEFAULT "\n"
	"and attach it to each interface with a pinned link. Traffic keeps\n"
	"flowing after this command exits.\n"
	"\n"
	"On a host that is already up, the pinned maps (services, pools,\n"
	"flows, counters) are kept and the program in every pinned link is\n"
	"replaced in place: established flows keep their backends.\n"
	"\n"
	"Options:\n"
	"  --iface IF     interface to attach to (repeatable, at least one)\n"
	"  --mode MODE    native (driver XDP, default) or generic (skb)\n"
	"  --seed HEX     per-host hash seed, fixed at the first 'up'; hosts\n"
	"                 with the same seed and config decide every flow\n"
	"                 alike (default: random)\n"
	"  --flows N      flow-table size, fixed at the first 'up'\n"
	"                 (default 262144; 'sluice down' to change)\n"
	"  --sample-every N  emit a new-flow event for 1 in N new flows\n"
	"                 (0 = none, the default; may change on any 'up')\n"
	"\n"
	"Environment: SLUICE_PIN_DIR overrides the pin directory.\n"
	"Example: sluice up --iface eth0 --iface eth1 --seed 5eed\n",
};

static const struct cli_cmd down_cmd = {
	"down",
	"Usage: sluice down\n"
	"\n"
	"Detach sluice from every interface and remove every pin: services,\n"
	"pools, flow state and counters are gone. Traffic to VIPs is no\n"
	"longer steered.\n",
};

static int pin_path(char *buf, size_t len, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", sluice_pin_dir(), name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static bool pinned(const char *name)
{
	char path[PATH_MAX];

	return !pin_path(path, sizeof(path), name) && !access(path, F_OK);
}

static int pinned_max_entries(const char *name, __u32 *max)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd, err = 0;

	if (pin_path(path, sizeof(path), name))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		err = -errno;
	else
		*max = info.max_entries;
	close(fd);
	return err;
}

static void remove_pins(void)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(sluice_pin_dir());

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (!pin_path(path, sizeof(path), de->d_name))
			unlink(path);
	}
	closedir(d);
	rmdir(sluice_pin_dir());
}

struct up_args {
	const char *ifaces[MAX_IFACES];
	int ifindex[MAX_IFACES];
	int n;
	__u32 xdp_flags;
	bool have_seed, have_flows, have_sample;
	__u32 seed, flows, sample;
};

static int parse_up(int argc, char **argv, struct up_args *a)
{
	static const struct option opts[] = {
		{ "iface", required_argument, NULL, 'i' },
		{ "mode", required_argument, NULL, 'm' },
		{ "seed", required_argument, NULL, 's' },
		{ "flows", required_argument, NULL, 'f' },
		{ "sample-every", required_argument, NULL, 'S' },
		{ 0 },
	};
	char *end;
	int o, i;

	memset(a, 0, sizeof(*a));
	a->xdp_flags = XDP_FLAGS_DRV_MODE;
	cli_reset_getopt();
	while ((o = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (o) {
		case 'i':
			if (a->n == MAX_IFACES)
				return cli_usage(&up_cmd,
						 "at most %d interfaces",
						 MAX_IFACES);
			if (strlen(optarg) >= IFNAMSIZ)
				return cli_usage(&up_cmd,
						 "interface name '%s' is too long",
						 optarg);
			for (i = 0; i < a->n; i++)
				if (!strcmp(a->ifaces[i], optarg))
					return cli_usage(&up_cmd,
							 "interface '%s' given twice",
							 optarg);
			a->ifaces[a->n++] = optarg;
			break;
		case 'm':
			if (!strcmp(optarg, "native"))
				a->xdp_flags = XDP_FLAGS_DRV_MODE;
			else if (!strcmp(optarg, "generic"))
				a->xdp_flags = XDP_FLAGS_SKB_MODE;
			else
				return cli_usage(&up_cmd,
						 "mode '%s': use native or generic",
						 optarg);
			break;
		case 's':
			errno = 0;
			a->seed = strtoul(optarg, &end, 16);
			if (!*optarg || *end || errno ||
			    strtoull(optarg, NULL, 16) > 0xffffffffull)
				return cli_usage(&up_cmd,
						 "seed '%s': want up to 8 hex digits",
						 optarg);
			a->have_seed = true;
			break;
		case 'f':
			if (sluice_parse_u32(optarg, 1024, 1u << 26, &a->flows))
				return cli_usage(&up_cmd,
						 "flows '%s': want a number from 1024 to 67108864",
						 optarg);
			a->have_flows = true;
			break;
		case 'S':
			if (sluice_parse_u32(optarg, 0, 1u << 30, &a->sample))
				return cli_usage(&up_cmd,
						 "sample-every '%s': want a number, 0 for none",
						 optarg);
			a->have_sample = true;
			break;
		case ':':
			return cli_usage(&up_cmd, "option '%s' needs a value",
					 argv[optind - 1]);
		default:
			return cli_usage(&up_cmd, "unknown option '%s'",
					 argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage(&up_cmd, "unexpected argument '%s'",
				 argv[optind]);
	if (!a->n)
		return cli_usage(&up_cmd, "at least one --iface is required");
	for (i = 0; i < a->n; i++) {
		a->ifindex[i] = if_nametoindex(a->ifaces[i]);
		if (!a->ifindex[i])
			return cli_usage(&up_cmd, "no interface '%s'",
					 a->ifaces[i]);
	}
	return EXIT_OK;
}

static int libbpf_print_quiet(enum libbpf_print_level level, const char *fmt,
			      va_list ap)
{
	if (level == LIBBPF_WARN && getenv("SLUICE_DEBUG"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

/* Attach or upgrade one interface; *created says a new link was pinned. */
static int attach_one(const struct up_args *a, int i, int prog_fd,
		      bool *created)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = a->xdp_flags);
	char name[64], path[PATH_MAX];
	int fd, err;

	*created = false;
	snprintf(name, sizeof(name), SLUICE_LINK_PREFIX "%s", a->ifaces[i]);
	if (pin_path(path, sizeof(path), name))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		err = bpf_link_update(fd, prog_fd, NULL) ? -errno : 0;
		close(fd);
		if (!err)
			printf("%s: program replaced in place\n", a->ifaces[i]);
		return err;
	}
	fd = bpf_link_create(prog_fd, a->ifindex[i], BPF_XDP, &opts);
	if (fd < 0)
		return -errno;
	err = bpf_obj_pin(fd, path) ? -errno : 0;
	close(fd);
	if (!err) {
		*created = true;
		printf("%s: attached (%s)\n", a->ifaces[i],
		       a->xdp_flags == XDP_FLAGS_SKB_MODE ? "generic" :
							    "native");
	}
	return err;
}

static void detach_created(const struct up_args *a, const bool *created)
{
	char name[64], path[PATH_MAX];
	int i;

	for (i = 0; i < a->n; i++) {
		if (!created[i])
			continue;
		snprintf(name, sizeof(name), SLUICE_LINK_PREFIX "%s",
			 a->ifaces[i]);
		if (!pin_path(path, sizeof(path), name))
			unlink(path);
	}
}

int cmd_up(int argc, char **argv)
{
	struct sluice_config cfg = {};
	struct sluice_bpf *skel = NULL;
	struct sluice_maps m;
	bool created[MAX_IFACES] = {}, fresh;
	struct up_args a;
	char why[512], path[PATH_MAX];
	size_t k;
	int rc, lock = -1, i, err;
	__u32 cur = SLUICE_FLOWS_DEFAULT;

	if (cli_wants_help(&up_cmd, argc, argv))
		return EXIT_OK;
	rc = parse_up(argc, argv, &a);
	if (rc)
		return rc;
	if (geteuid() != 0)
		return cli_usage(&up_cmd, "must run as root");
	if (sluice_check_bpffs(sluice_pin_dir(), why, sizeof(why)))
		return cli_usage(&up_cmd, "%s", why);
	lock = sluice_lock();
	if (lock < 0)
		return cli_fail(&up_cmd, "cannot take the state lock: %s",
				strerror(-lock));
	libbpf_set_print(libbpf_print_quiet);

	fresh = !pinned("services");
	if (!fresh) {
		if (pinned_max_entries("flows", &cur) == 0 && a.have_flows &&
		    cur != a.flows) {
			rc = cli_usage(&up_cmd,
				       "the flow table has %u entries; run "
				       "'sluice down' first to resize it",
				       cur);
			goto out;
		}
		a.flows = cur;
		a.have_flows = true;
	}
	if (mkdir(sluice_pin_dir(), 0700) && errno != EEXIST) {
		rc = cli_fail(&up_cmd, "mkdir %s: %s", sluice_pin_dir(),
			      strerror(errno));
		goto out;
	}
	skel = sluice_bpf__open();
	if (!skel) {
		rc = cli_fail(&up_cmd, "cannot open the BPF object: %s",
			      strerror(errno));
		goto out;
	}
	if (a.have_flows) {
		bpf_map__set_max_entries(skel->maps.flows, a.flows);
		bpf_map__set_max_entries(skel->maps.nat, a.flows);
	}
	for (k = 0; k < sluice_map_pins_n; k++) {
		struct bpf_map *map = bpf_object__find_map_by_name(
			skel->obj, sluice_map_pins[k].name);

		if (!map || pin_path(path, sizeof(path),
				     sluice_map_pins[k].name) ||
		    bpf_map__set_pin_path(map, path)) {
			rc = cli_fail(&up_cmd, "cannot set pin path for %s",
				      sluice_map_pins[k].name);
			goto out;
		}
	}
	err = sluice_bpf__load(skel);
	if (err) {
		rc = cli_fail(&up_cmd,
			      "cannot load the XDP program: %s%s",
			      strerror(-err),
			      fresh ? "" :
				      " (pinned maps from an incompatible "
				      "version? 'sluice down' clears them)");
		if (fresh)
			remove_pins();
		goto out;
	}

	m.config = bpf_map__fd(skel->maps.config);
	if (fresh) {
		cfg.seed = a.seed;
		cfg.sample_every = a.sample;
		if (!a.have_seed &&
		    getrandom(&cfg.seed, sizeof(cfg.seed), 0) != sizeof(cfg.seed))
			cfg.seed = (__u32)getpid() ^ (__u32)time(NULL);
		err = sluice_config_write(&m, &cfg);
		if (err) {
			rc = cli_fail(&up_cmd, "cannot write config: %s",
				      strerror(-err));
			remove_pins();
			goto out;
		}
	} else if (!sluice_config_read(&m, &cfg) && a.have_seed &&
		   cfg.seed != a.seed) {
		rc = cli_usage(&up_cmd,
			       "the seed is %08x since the first 'up'; run "
			       "'sluice down' first to change it",
			       cfg.seed);
		goto out;
	} else if (a.have_sample) {
		cfg.sample_every = a.sample;
		err = sluice_config_write(&m, &cfg);
		if (err) {
			rc = cli_fail(&up_cmd, "cannot write config: %s",
				      strerror(-err));
			goto out;
		}
	}

	for (i = 0; i < a.n; i++) {
		err = attach_one(&a, i, bpf_program__fd(skel->progs.sluice_xdp),
				 &created[i]);
		if (err) {
			if (err == -EBUSY || err == -EEXIST)
				rc = cli_fail(&up_cmd,
					      "%s: another XDP program is "
					      "attached; detach it first",
					      a.ifaces[i]);
			else
				rc = cli_fail(&up_cmd, "%s: cannot attach: %s",
					      a.ifaces[i], strerror(-err));
			/* Nothing half-applied: undo this run's links. */
			detach_created(&a, created);
			if (fresh)
				remove_pins();
			goto out;
		}
	}
	printf("sluice is up: maps in %s, seed %08x, flow table %u\n",
	       sluice_pin_dir(), cfg.seed, bpf_map__max_entries(skel->maps.flows));
	rc = EXIT_OK;
out:
	sluice_bpf__destroy(skel);
	sluice_unlock(lock);
	return rc;
}

int cmd_down(int argc, char **argv)
{
	struct dirent *de;
	char why[512];
	int lock, n = 0;
	DIR *d;

	if (cli_wants_help(&down_cmd, argc, argv))
		return EXIT_OK;
	if (argc > 1)
		return cli_usage(&down_cmd, "unexpected argument '%s'",
				 argv[1]);
	if (geteuid() != 0)
		return cli_usage(&down_cmd, "must run as root");
	if (sluice_check_bpffs(sluice_pin_dir(), why, sizeof(why)))
		return cli_usage(&down_cmd, "%s", why);
	lock = sluice_lock();
	if (lock < 0)
		return cli_fail(&down_cmd, "cannot take the state lock: %s",
				strerror(-lock));
	d = opendir(sluice_pin_dir());
	if (!d) {
		sluice_unlock(lock);
		printf("sluice is not up (nothing pinned at %s)\n",
		       sluice_pin_dir());
		return EXIT_OK;
	}
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, SLUICE_LINK_PREFIX,
			     strlen(SLUICE_LINK_PREFIX))) {
			printf("%s: detached\n",
			       de->d_name + strlen(SLUICE_LINK_PREFIX));
			n++;
		}
	closedir(d);
	remove_pins();
	sluice_unlock(lock);
	printf("sluice is down (%d interface%s)\n", n, n == 1 ? "" : "s");
	return EXIT_OK;
}
