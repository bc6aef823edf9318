// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * sluice top [--interval 1s] [SERVICE]: a live view for a terminal.
 * The numbers and lines come from top_model.c; this file only samples
 * the maps, lays the lines out on the screen and reads keys.
 */
#include <curses.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "agent.h"
#include "cli.h"
#include "commands.h"
#include "names.h"
#include "parse.h"
#include "pins.h"
#include "state.h"
#include "store.h"
#include "top_model.h"

static const struct cli_cmd top_cmd = {
	"top",
	"Usage: sluice top [--interval DURATION] [SERVICE]\n"
	"\n"
	"A live view of the services for a terminal. For each service and\n"
	"each colour (blue, green): its role (stable or candidate), the\n"
	"configured split and the split observed in new flows, new flows per\n"
	"second, the error ratio, p50 and p99 first-byte times, and the\n"
	"rollout's state and step when the service has a rollout.\n"
	"\n"
	"Apart from the configured split, every figure covers the last\n"
	"interval only: the difference of the kernel's cumulative counters\n"
	"between two refreshes, over the time between them.\n"
	"  SPLIT     the colour's configured share of new flows\n"
	"  OBSERVED  the colour's share of the interval's new flows\n"
	"  FLOWS/S   new flows (connections) per second\n"
	"  ERRORS    backend RSTs + ICMP errors + SYN retries + HTTP 5xx +\n"
	"            drops (not too-big answers), per new flow: the error\n"
	"            ratio the rollout agent judges\n"
	"  P50 FB, P99 FB  client's first byte to the backend's first byte,\n"
	"            from the kernel's log2 histogram (nat mode only)\n"
	"A '-' means the interval had nothing to measure: no new flow, no\n"
	"reply, a counter reset, or the first refresh.\n"
	"\n"
	"  -i, --interval DURATION  time between refreshes, 100ms to 1h\n"
	"                           (default 1s)\n"
	"  SERVICE                  show only this service\n"
	"\n"
	"Keys: q quits, Ctrl-L redraws. Fits 80x24, over ssh too; a smaller\n"
	"terminal shows what fits and says what is cut. It needs a terminal:\n"
	"for scripts and pipes use 'sluice status' or 'sluice status --json'.\n"
	"\n"
	"It changes nothing and takes no lock. Like every command it needs\n"
	"root and a data path that is up ('sluice up'); rollouts are read from\n"
	"their state files (SLUICE_STATE_DIR, default /var/lib/sluice). When\n"
	"the data path goes down it says so and waits for the next 'up'.\n"
	"\n"
	"Exit status: 0 after q or Ctrl-C, 1 when the system refused, 2 on bad\n"
	"input (an unknown option, value or service, or no terminal).\n"
	"\n"
	"Example: sluice top --interval 2s web\n",
};

#define INTERVAL_MIN_NS 100000000ull /* faster is noise, and costs CPU */
#define INTERVAL_MAX_NS 3600000000000ull
/* How often keys and signals are looked at while waiting for a refresh. */
#define POLL_MS 250
#define PAIR_BLUE 1
#define PAIR_GREEN 2
#define PAIR_ERRORS 3

/* One service, by id: its last sample and the interval it ended. */
struct top_svc {
	struct sluice_service_meta meta;
	struct sluice_service value; /* mode and affinity */
	bool have_prev;
	struct sluice_snapshot prev;
	__u64 prev_ns; /* CLOCK_MONOTONIC */
	bool have_iv;
	struct top_interval iv[SLUICE_COLOURS];
	double observed[SLUICE_COLOURS];
};

struct top {
	struct sluice_maps m;
	bool up; /* m is open on the pins in place */
	__u32 map_id; /* kernel id of the pinned service_meta map */
	const char *only; /* SERVICE, or NULL for every service */
	__u64 interval_ns;
	bool colours;
	time_t sampled; /* wall clock of the last refresh, for the title */
	int n; /* services present at the last refresh */
	__u32 ids[SLUICE_MAX_SERVICES];
	struct top_svc svcs[SLUICE_MAX_SERVICES];
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static __u64 clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

/* Kernel id of the map pinned as service_meta, or 0 when none is. */
static __u32 pinned_map_id(void)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/service_meta", sluice_pin_dir());
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.id = 0;
	close(fd);
	return info.id;
}

/*
 * Follow the pins: after 'sluice down' the maps we hold are orphans
 * whose counters never move again, and after a new 'up' they are not
 * the ones packets use. Either way, showing them would be a lie.
 */
static void follow_pins(struct top *t)
{
	__u32 id = pinned_map_id();
	int i;

	if (t->up && id == t->map_id)
		return;
	if (t->up) {
		sluice_maps_close(&t->m);
		t->up = false;
	}
	for (i = 0; i < SLUICE_MAX_SERVICES; i++)
		t->svcs[i].have_prev = t->svcs[i].have_iv = false;
	if (id && !sluice_maps_open(&t->m)) {
		t->up = true;
		t->map_id = id;
	}
}

/* How many service blocks could be on screen at most. */
static int max_visible(void)
{
	/* A block is at least three lines: service, blue, green. */
	return LINES / 3 + 1;
}

/*
 * Read the counters of the services on screen and turn the last two
 * samples into an interval. Only visible services are sampled: a
 * sample costs a name lookup and both pools, and the screen shows a
 * handful of the up to 1024 services.
 */
static void sample(struct top *t)
{
	struct sluice_service_meta meta;
	struct sluice_snapshot cur;
	int i, c, visible = max_visible();
	__u32 id;

	follow_pins(t);
	t->sampled = time(NULL);
	t->n = 0;
	if (!t->up)
		return;
	for (id = 0; id < SLUICE_MAX_SERVICES; id++) {
		struct top_svc *s = &t->svcs[id];

		if (sluice_meta_read(&t->m, id, &meta) ||
		    (t->only && strcmp(meta.name, t->only))) {
			s->have_prev = s->have_iv = false;
			continue;
		}
		/* A re-created service starts its counters afresh. */
		if (meta.created_ns != s->meta.created_ns)
			s->have_prev = s->have_iv = false;
		s->meta = meta;
		t->ids[t->n++] = id;
	}
	for (i = 0; i < t->n; i++) {
		struct top_svc *s = &t->svcs[t->ids[i]];
		__u64 now;

		if (i >= visible ||
		    sluice_service_value(&t->m, t->ids[i], &s->value) ||
		    sluice_agent_snapshot(&t->m, s->meta.name, &cur)) {
			s->have_prev = s->have_iv = false;
			continue;
		}
		now = clock_ns(CLOCK_MONOTONIC);
		s->have_iv = s->have_prev;
		/* The time really elapsed, not the nominal interval. */
		for (c = 0; s->have_iv && c < SLUICE_COLOURS; c++)
			if (top_interval(&s->prev, &cur, c,
					 (double)(now - s->prev_ns) / 1e9,
					 &s->iv[c]))
				s->have_iv = false;
		for (c = 0; s->have_iv && c < SLUICE_COLOURS; c++)
			s->observed[c] =
				top_share(s->iv[c].flows,
					  s->iv[0].flows + s->iv[1].flows);
		s->prev = cur;
		s->prev_ns = now;
		s->have_prev = true;
	}
}

static void put_line(int row, const char *text, attr_t attr)
{
	if (row < 0 || row >= LINES)
		return;
	attron(attr);
	mvaddnstr(row, 0, text, COLS);
	attroff(attr);
}

/* Paint one column of a row, clipped at the screen's edge. */
static void paint(struct top *t, int row, enum top_col col, attr_t attr,
		  short pair)
{
	int x, w;

	if (!t->colours)
		return;
	top_column(col, &x, &w);
	if (x >= COLS)
		return;
	mvchgat(row, x, w < COLS - x ? w : COLS - x, attr, pair, NULL);
}

/* The lines of one service block; returns how many. */
static int service_lines(const struct top_svc *s, char lines[2][TOP_LINE_MAX])
{
	char vip[SLUICE_ENDPOINT_STRLEN];
	struct sluice_rollout r;
	int n = 0;

	sluice_format_endpoint(s->meta.key.vip, ntohs(s->meta.key.port), vip,
			       sizeof(vip));
	top_service_line(s->meta.name, vip,
			 s->meta.key.proto == IPPROTO_TCP ? "tcp" : "udp",
			 sluice_mode_names[s->value.mode & 1],
			 sluice_affinity_names[s->value.affinity % 3],
			 lines[n++], TOP_LINE_MAX);
	/* A rollout of an earlier service of the same name is not this one's. */
	if (!sluice_store_load(s->meta.name, &r) &&
	    (!r.service_created_ns ||
	     r.service_created_ns == s->meta.created_ns))
		top_rollout_line(&r, clock_ns(CLOCK_REALTIME), lines[n++],
				 TOP_LINE_MAX);
	return n;
}

static void draw_colours(struct top *t, struct top_svc *s, int row)
{
	__u32 green = sluice_green_ppm(&s->meta);
	char line[TOP_LINE_MAX];
	int c;

	for (c = 0; c < SLUICE_COLOURS && row + c < LINES; c++) {
		top_colour_row(c, s->meta.candidate == c,
			       c == SLUICE_GREEN ? green : SLUICE_PPM - green,
			       s->have_iv ? &s->iv[c] : NULL, s->observed[c],
			       line, sizeof(line));
		put_line(row + c, line, 0);
		paint(t, row + c, TOP_COL_COLOUR, A_BOLD,
		      c == SLUICE_GREEN ? PAIR_GREEN : PAIR_BLUE);
		if (s->have_iv && s->iv[c].errors)
			paint(t, row + c, TOP_COL_ERRORS, A_BOLD, PAIR_ERRORS);
	}
}

static void draw(struct top *t)
{
	char line[TOP_LINE_MAX], clock[16], hint[TOP_LINE_MAX];
	char lines[2][TOP_LINE_MAX];
	bool narrow = COLS < TOP_WIDTH, measuring = false, more, fits;
	bool short_rows = LINES < 3;
	int i, k, n, row = 2, hidden = 0, off = 0;
	int bottom = LINES - narrow; /* the narrow hint owns the last line */
	struct tm tm;

	/* When the numbers were read: a redraw on resize does not read. */
	localtime_r(&t->sampled, &tm);
	strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	for (i = 0; i < t->n && i < max_visible(); i++)
		measuring |= !t->svcs[t->ids[i]].have_iv;
	erase();
	put_line(0,
		 top_title_line(t->interval_ns, t->n, measuring, clock, line,
				sizeof(line)),
		 A_BOLD);
	put_line(1, top_header_row(line, sizeof(line)), A_REVERSE);
	if (!t->up) {
		snprintf(line, sizeof(line),
			 "sluice is down: nothing pinned at %s; waiting for "
			 "'sluice up'",
			 sluice_pin_dir());
		put_line(row, line, 0);
	} else if (!t->n) {
		if (t->only)
			snprintf(line, sizeof(line),
				 "service '%s' does not exist (any more)",
				 t->only);
		else
			snprintf(line, sizeof(line), "no services");
		put_line(row, line, 0);
	}
	for (i = 0; i < t->n; i++) {
		struct top_svc *s = &t->svcs[t->ids[i]];

		n = service_lines(s, lines);
		/*
		 * Whole blocks only, and while more services follow, a line
		 * is kept for the hint that says so. Only the first block is
		 * drawn cut, when the terminal cannot hold even that.
		 */
		more = i < t->n - 1;
		fits = row + (i > 0) + n + 2 + (more && !narrow) <= bottom;
		if (!fits && i > 0) {
			hidden = t->n - i;
			break;
		}
		row += i > 0;
		for (k = 0; k < n; k++)
			put_line(row++, lines[k], k ? 0 : A_BOLD);
		draw_colours(t, s, row);
		row += 2;
		if (!fits) {
			short_rows |= row > bottom;
			hidden = t->n - 1;
			break;
		}
	}
	if (!hidden && !narrow && !short_rows) {
		refresh();
		return;
	}
	hint[0] = 0;
	if (hidden)
		off = snprintf(hint, sizeof(hint),
			       "%d more service%s: a taller terminal or "
			       "'sluice top SERVICE' shows %s",
			       hidden, hidden == 1 ? "" : "s",
			       hidden == 1 ? "it" : "them");
	if (narrow || short_rows)
		snprintf(hint + off, sizeof(hint) - off,
			 "%sterminal %dx%d cuts the view: %dx%d shows it all",
			 off ? "; " : "", COLS, LINES, TOP_WIDTH, TOP_HEIGHT);
	put_line(LINES - 1, hint, A_REVERSE);
	refresh();
}

static void setup_colours(struct top *t)
{
	short bg = COLOR_BLACK;

	t->colours = has_colors() && start_color() == OK;
	if (!t->colours)
		return;
	/* Keep the user's background; -1 is "default" once this works. */
	if (use_default_colors() == OK)
		bg = -1;
	init_pair(PAIR_BLUE, COLOR_BLUE, bg);
	init_pair(PAIR_GREEN, COLOR_GREEN, bg);
	init_pair(PAIR_ERRORS, COLOR_RED, bg);
}

/* The refresh loop; returns the exit code. */
static int run(struct top *t)
{
	__u64 next, now;
	int ch;

	sample(t);
	draw(t);
	next = clock_ns(CLOCK_MONOTONIC) + t->interval_ns;
	while (!stop_signal) {
		now = clock_ns(CLOCK_MONOTONIC);
		if (now >= next) {
			sample(t);
			draw(t);
			/* Keep the cadence; after a stall, start over from now. */
			next += t->interval_ns;
			if (next <= now)
				next = now + t->interval_ns;
			continue;
		}
		timeout((next - now) / 1000000 < POLL_MS ?
				(int)((next - now) / 1000000) + 1 :
				POLL_MS);
		ch = getch();
		if (ch == 'q' || ch == 'Q')
			return EXIT_OK;
		if (ch == KEY_RESIZE) {
			draw(t);
		} else if (ch == 0x0c) { /* Ctrl-L: repaint a garbled screen */
			clearok(curscr, TRUE);
			draw(t);
		}
	}
	return stop_signal == SIGINT ? EXIT_OK : 128 + stop_signal;
}

static int parse_args(int argc, char **argv, struct top *t)
{
	static const struct option opts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ 0 },
	};
	int o;

	t->interval_ns = 1000000000ull;
	cli_reset_getopt();
	while ((o = getopt_long(argc, argv, ":i:", opts, NULL)) != -1) {
		switch (o) {
		case 'i':
			if (sluice_parse_duration(optarg, &t->interval_ns) ||
			    t->interval_ns < INTERVAL_MIN_NS ||
			    t->interval_ns > INTERVAL_MAX_NS)
				return cli_usage(
					&top_cmd,
					"interval '%s': want a duration "
					"from 100ms to 1h, like 1s or "
					"500ms",
					optarg);
			break;
		case ':':
			return cli_usage(&top_cmd, "option '%s' needs a value",
					 argv[optind - 1]);
		default:
			return cli_usage(&top_cmd, "unknown option '%s'",
					 argv[optind - 1]);
		}
	}
	if (optind < argc)
		t->only = argv[optind++];
	if (optind < argc)
		return cli_usage(&top_cmd, "unexpected argument '%s'",
				 argv[optind]);
	return EXIT_OK;
}

int cmd_top(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	SCREEN *screen;
	struct top *t;
	int rc, lock;
	size_t i;

	if (cli_wants_help(&top_cmd, argc, argv))
		return EXIT_OK;
	t = calloc(1, sizeof(*t));
	if (!t)
		return cli_fail(&top_cmd, "out of memory");
	rc = parse_args(argc, argv, t);
	if (rc)
		goto out;
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		rc = cli_usage(&top_cmd,
			       "needs a terminal (stdin and stdout are not "
			       "both a TTY); for scripts and pipes use 'sluice "
			       "status' or 'sluice status --json'");
		goto out;
	}
	rc = cli_open(&top_cmd, &t->m, false, &lock);
	if (rc)
		goto out;
	t->up = true;
	t->map_id = pinned_map_id();
	if (t->only && sluice_service_find(&t->m, t->only, NULL, NULL)) {
		rc = cli_usage(&top_cmd, "service '%s' does not exist",
			       t->only);
		goto out;
	}
	/*
	 * Our handlers before curses: ncurses leaves handlers that are not
	 * the default alone, and we want the loop to end and endwin() to
	 * restore the terminal, whatever the signal.
	 */
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	screen = newterm(NULL, stdout, stdin);
	if (!screen) {
		rc = cli_usage(&top_cmd,
			       "cannot drive terminal type '%s' (TERM); try "
			       "TERM=xterm, or use 'sluice status'",
			       getenv("TERM") ?: "");
		goto out;
	}
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	setup_colours(t);
	rc = run(t);
	endwin();
	delscreen(screen);
out:
	if (t->up)
		sluice_maps_close(&t->m);
	free(t);
	return rc;
}
