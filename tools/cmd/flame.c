/*
 * flame.c - shmstat flame: the sampled stacks of a segment as folded
 * stacks or a flame-graph SVG.
 *
 * The stacks come from the segment's stack table (shmstat_profile.h);
 * their addresses are named with the module maps the writers published,
 * through libdwfl (symbolize.c), and merged into a tree (flame.c).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmstat.h"
#include "shmstat_profile.h"
#include "cli.h"
#include "cmd.h"
#include "flame.h"
#include "symbolize.h"

const char cmd_flame_usage[] =
	"usage: shmstat flame [--latency] [--metric NAME] [--by samples|weight]\n"
	"                     [--pid PID] [--per-process] [--addresses]\n"
	"                     [--svg FILE] [--title TEXT] NAME\n"
	"  Print the stacks sampled in segment NAME as folded stacks, one\n"
	"  line per stack: 'outer;...;inner COUNT' (what flamegraph.pl,\n"
	"  inferno and speedscope read), all processes merged. By default\n"
	"  the CPU samples of the profiler (shmstat_profiler_start), counted\n"
	"  in samples; --by weight counts nanoseconds of CPU instead (each\n"
	"  sample weighs its thread's CPU since its previous sample).\n"
	"  --latency: the stacks of timed sections (shmstat_profiler_latency),\n"
	"  weighted by the time they measured, under a root frame per\n"
	"  histogram; --metric NAME keeps one histogram (name or\n"
	"  name{labels}), --by samples counts sections instead.\n"
	"  --pid PID: one process; --per-process: a root frame per process,\n"
	"  'comm (pid N)'. A frame without a symbol shows as [module];\n"
	"  --addresses: no symbols at all, module+0xOFFSET frames.\n"
	"  --svg FILE: write a flame-graph SVG to FILE ('-': stdout) instead\n"
	"  of the folded stacks; --title sets its title.\n";

struct flame_args {
	int latency, by_weight, per_process, addresses;
	const char *metric, *svg, *title;
	long pid;
};

/* The name of address @pc (a return address less 1), module-relative,
 * in module @m (-1: none). */
static const char *addr_name(const shmstat_profile *p, long m, uint64_t pc, char *buf, size_t n)
{
	struct shmstat_module_info mi;
	const char *base;

	if (m < 0 || shmstat_profile_module(p, (size_t)m, &mi) != 0) {
		snprintf(buf, n, "0x%llx", (unsigned long long)pc);
		return buf;
	}
	base = strrchr(mi.path, '/');
	snprintf(buf, n, "%s+0x%llx", base ? base + 1 : (mi.path[0] ? mi.path : "[module]"),
		 (unsigned long long)(pc - mi.base));
	return buf;
}

/*
 * A frame the symbolizer could not name comes as "module+0xOFFSET": one
 * frame per address, which splits a flame graph into slivers. Without
 * --addresses it is shown as "[module]", as perf does.
 */
static const char *module_only(const char *name, char *buf, size_t n)
{
	const char *plus = strstr(name, "+0x");

	if (plus == NULL || name[0] == '[')
		return name;
	snprintf(buf, n, "[%.*s]", (int)(plus - name), name);
	return buf;
}

static int metric_matches(const char *metric, const char *want)
{
	size_t n = strlen(want);

	if (strcmp(metric, want) == 0)
		return 1;
	/* a bare name matches every label set of it */
	return strchr(want, '{') == NULL && strncmp(metric, want, n) == 0 && metric[n] == '{';
}

/* Declare every process's modules to the symbolizer: the modules
 * grouped by process in one counting pass, not one scan per process.
 * @decl[k]: module k's place among its process's (symbolizer_name_in). */
static int load_symbols(struct symbolizer *sym, const shmstat_profile *p, size_t *decl)
{
	size_t nmod = shmstat_profile_modules(p), nproc = shmstat_profile_procs(p);
	struct sym_module *mods = calloc(nmod + 1, sizeof(*mods));
	size_t *first = calloc(nproc + 2, sizeof(*first));   /* group starts */
	int err = 0;

	if (mods == NULL || first == NULL) {
		err = ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < nmod; k++) {
		struct shmstat_module_info mi;

		shmstat_profile_module(p, k, &mi);
		first[mi.proc + 2]++;
	}
	for (size_t j = 2; j < nproc + 2; j++)
		first[j] += first[j - 1];
	/* first[j + 1]: the next free place in group j */
	for (size_t k = 0; k < nmod; k++) {
		struct shmstat_module_info mi;
		struct sym_module *m;

		shmstat_profile_module(p, k, &mi);
		decl[k] = first[mi.proc + 1] - first[mi.proc];
		m = &mods[first[mi.proc + 1]++];
		m->base = mi.base;
		m->lo = mi.lo;
		m->hi = mi.hi;
		m->path = mi.path;
		m->build_id = mi.build_id;
		m->build_id_len = mi.build_id_len;
	}
	/* now group j is mods[first[j] .. first[j + 1]) */
	for (size_t j = 0; j < nproc && !err; j++) {
		struct shmstat_profile_proc pp;
		char who[64];

		shmstat_profile_proc(p, j, &pp);
		snprintf(who, sizeof(who), "pid %d (%s)", (int)pp.pid, pp.comm[0] ? pp.comm : "?");
		if (symbolizer_add_proc(sym, j, who, mods + first[j], first[j + 1] - first[j]) != 0)
			err = ENOMEM;
	}
out:
	free(first);
	free(mods);
	return err;
}

/* Add the stacks @a asks for to @f; *@kept receives their number,
 * *@nproc the number of processes they come from (@seen: one byte per
 * process of @p, zeroed). */
static int build(struct flame *f, const shmstat_profile *p, struct symbolizer *sym,
		 const size_t *decl, const struct flame_args *a, size_t *kept,
		 unsigned char *seen, size_t *nproc)
{
	const char *frames[SHMSTAT_STACK_FRAMES + 4];
	char addr[SHMSTAT_STACK_FRAMES][96];
	char root[64];

	*kept = 0;
	*nproc = 0;
	for (size_t k = 0; k < shmstat_profile_stacks(p); k++) {
		struct shmstat_stack_info si;
		struct shmstat_profile_proc pp;
		size_t n = 0;
		uint64_t v;

		shmstat_profile_stack(p, k, &si);
		shmstat_profile_proc(p, si.proc, &pp);
		if ((si.kind == SHMSTAT_STACK_LATENCY) != a->latency)
			continue;
		if (a->pid >= 0 && pp.pid != (pid_t)a->pid)
			continue;
		if (a->metric && !metric_matches(si.metric, a->metric))
			continue;
		if (a->latency && !a->metric)
			frames[n++] = si.metric[0] ? si.metric : "[unknown histogram]";
		if (a->per_process) {
			snprintf(root, sizeof(root), "%s (pid %d)", pp.comm[0] ? pp.comm : "?",
				 (int)pp.pid);
			frames[n++] = root;
		}
		if (si.truncated)
			frames[n++] = "[truncated]";
		for (uint32_t i = si.depth; i-- > 0;) {
			int leaf = i == 0 && !si.leaf_return;
			/* the module loaded when the stack was sampled */
			long m = shmstat_profile_frame_module(p, k, i);

			frames[n++] = a->addresses || sym == NULL
				? addr_name(p, m, si.pcs[i] - (leaf ? 0 : 1), addr[i], sizeof(addr[i]))
				: module_only(symbolizer_name_in(sym, si.proc, m < 0 ? SIZE_MAX : decl[m],
								 si.pcs[i], leaf),
					      addr[i], sizeof(addr[i]));
		}
		v = a->by_weight ? si.weight : si.samples;
		if (v == 0)
			continue;
		if (flame_add(f, frames, n, v) != 0)
			return ENOMEM;
		(*kept)++;
		if (si.proc < shmstat_profile_procs(p) && !seen[si.proc]) {
			seen[si.proc] = 1;
			(*nproc)++;
		}
	}
	return 0;
}

static int parse(int argc, char **argv, struct flame_args *a)
{
	static const char shortopts[] = ":";
	char bad[64];
	static const struct option opts[] = {
		{ "latency", no_argument, NULL, 'l' },
		{ "metric", required_argument, NULL, 'm' },
		{ "by", required_argument, NULL, 'b' },
		{ "pid", required_argument, NULL, 'p' },
		{ "per-process", no_argument, NULL, 'P' },
		{ "addresses", no_argument, NULL, 'a' },
		{ "svg", required_argument, NULL, 's' },
		{ "title", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	int c, by = -1;
	char *end;

	memset(a, 0, sizeof(*a));
	a->pid = -1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			a->latency = 1;
			break;
		case 'm':
			if (*optarg == '\0')
				return usage_error(cmd_flame_usage, "metric name is empty");
			a->metric = optarg;
			a->latency = 1;
			break;
		case 'b':
			if (strcmp(optarg, "samples") == 0)
				by = 0;
			else if (strcmp(optarg, "weight") == 0)
				by = 1;
			else
				return usage_error(cmd_flame_usage,
						   "order '%s' is unknown (samples or weight)", optarg);
			break;
		case 'p':
			errno = 0;
			a->pid = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end || errno || a->pid < 1 || a->pid > 0x7fffffffL)
				return usage_error(cmd_flame_usage, "pid '%s' is not a process id",
						   optarg);
			break;
		case 'P':
			a->per_process = 1;
			break;
		case 'a':
			a->addresses = 1;
			break;
		case 's':
			if (*optarg == '\0')
				return usage_error(cmd_flame_usage, "svg file name is empty");
			a->svg = optarg;
			break;
		case 't':
			a->title = optarg;
			break;
		case ':':
			return usage_error(cmd_flame_usage, "option '%s' needs a value", refused_option(bad, sizeof(bad), argv, shortopts, opts));
		default:
			return usage_error(cmd_flame_usage, "unknown option '%s'", refused_option(bad, sizeof(bad), argv, shortopts, opts));
		}
	}
	if (argc - optind != 1)
		return usage_error(cmd_flame_usage, argc - optind < 1 ? "segment name is missing"
								   : "too many arguments");
	a->by_weight = by < 0 ? a->latency : by;
	return EXIT_OK;
}

static int write_svg(const struct flame *f, const struct flame_args *a, const char *name,
		     size_t nproc)
{
	struct flame_svg_opts o;
	char title[256], sub[128];
	FILE *out = stdout;
	int err;

	snprintf(title, sizeof(title), "%s", a->title ? a->title : "");
	if (!a->title)
		snprintf(title, sizeof(title), "shmstat flame %s", name);
	snprintf(sub, sizeof(sub), "%s, by %s, %zu process%s%s%s",
		 a->latency ? "timed sections" : "cpu samples",
		 a->by_weight ? "nanoseconds" : (a->latency ? "sections" : "samples"),
		 nproc, nproc == 1 ? "" : "es", a->metric ? ", " : "", a->metric ? a->metric : "");
	memset(&o, 0, sizeof(o));
	o.title = title;
	o.subtitle = sub;
	o.unit = a->by_weight ? "ns" : "samples";
	if (strcmp(a->svg, "-") != 0) {
		char why[128];

		out = open_out_file(a->svg, why, sizeof(why));
		if (out == NULL)
			return die(EXIT_ERR, "cannot write svg file '%s': %s", a->svg, why);
	}
	err = flame_write_svg(f, &o, out);
	if (out == stdout) {
		if (fflush(out) != 0 && err == 0)
			err = errno;
	} else if (fclose(out) != 0 && err == 0) {
		err = errno;
	}
	if (err)
		return die(EXIT_ERR, "cannot write svg file '%s': %s", a->svg, strerror(err));
	return EXIT_OK;
}

/* Whether segment snapshot @s has a histogram --metric @want names */
static int has_histogram(const shmstat_snap *s, const char *want)
{
	for (size_t i = 0; i < shmstat_snap_metrics(s); i++) {
		struct shmstat_metric_info m;
		char key[1024];

		shmstat_snap_metric(s, i, &m);
		snprintf(key, sizeof(key), "%s%s%s%s", m.name, m.labels[0] ? "{" : "", m.labels,
			 m.labels[0] ? "}" : "");
		if (m.type == SHMSTAT_HISTOGRAM && metric_matches(key, want))
			return 1;
	}
	return 0;
}

int cmd_flame(int argc, char **argv)
{
	struct flame_args a;
	struct shmstat_profile_stats st;
	struct symbolizer *sym = NULL;
	size_t *decl = NULL, nproc = 0;
	unsigned char *seen = NULL;
	shmstat_profile *p = NULL;
	struct flame *f = NULL;
	shmstat_reader *r;
	shmstat_snap *s;
	const char *name;
	size_t kept;
	int rc, err;

	rc = parse(argc, argv, &a);
	if (rc != EXIT_OK)
		return rc;
	name = argv[optind];
	if (open_snapshot(name, &r, &s) != EXIT_OK)
		return EXIT_ERR;
	err = shmstat_snap_profile(r, s, &p);
	if (err) {
		rc = die(EXIT_ERR, "%s", shmstat_last_error());
		goto out;
	}
	shmstat_profile_stats(p, &st);
	if (st.capacity == 0) {
		rc = die(EXIT_ERR, "segment '%s' has no stack table (created with max_stacks 0, or by an older version)",
			 name);
		goto out;
	}
	if (!a.addresses) {
		/* names come from local files only: no wait on a debuginfod
		 * server (elfutils asks one when DEBUGINFOD_URLS is set) */
		unsetenv("DEBUGINFOD_URLS");
		sym = symbolizer_new("shmstat", stderr);
		decl = calloc(shmstat_profile_modules(p) + 1, sizeof(*decl));
		if (sym == NULL || decl == NULL || load_symbols(sym, p, decl) != 0) {
			rc = die(EXIT_ERR, "out of memory loading the symbols of the profile");
			goto out;
		}
	}
	f = flame_new();
	/* the subtitle's processes: those of the stacks drawn, not every
	 * process of the profile (--pid, --latency, --metric) */
	seen = calloc(shmstat_profile_procs(p) + 1, 1);
	if (f == NULL || seen == NULL || build(f, p, sym, decl, &a, &kept, seen, &nproc) != 0) {
		rc = die(EXIT_ERR, "out of memory building the flame graph");
		goto out;
	}
	if (st.dropped_samples)
		fprintf(stderr, "shmstat: %llu samples were not kept: the stack table of segment '%s' is full (%u entries)\n",
			(unsigned long long)st.dropped_samples, name, st.capacity);
	if (st.dropped_modules)
		fprintf(stderr, "shmstat: %llu module records were not kept: the module table of segment '%s' is full; frames in those modules show as addresses\n",
			(unsigned long long)st.dropped_modules, name);
	if (st.bad)
		fprintf(stderr, "shmstat: %u profile entries of segment '%s' failed validation and were left out\n",
			st.bad, name);
	if (kept == 0 && a.metric && !has_histogram(s, a.metric)) {
		/* a typo is an error, not "no stacks matching the filters" */
		rc = die(EXIT_ERR, "segment '%s' has no histogram '%s'", name, a.metric);
		goto out;
	}
	if (kept == 0)
		fprintf(stderr, "shmstat: segment '%s' has no %s stacks%s\n", name,
			a.latency ? "latency" : "cpu",
			a.pid >= 0 || a.metric ? " matching the filters" : "");
	if (a.svg) {
		rc = write_svg(f, &a, name, nproc);
	} else {
		err = flame_write_folded(f, stdout);
		if (err == 0 && fflush(stdout) != 0)
			err = errno;
		stdout_error_said = err != 0;
		rc = err ? die(EXIT_ERR, "cannot write the folded stacks: %s", strerror(err)) : EXIT_OK;
	}
out:
	flame_free(f);
	symbolizer_free(sym);
	free(seen);
	free(decl);
	shmstat_profile_free(p);
	shmstat_snap_free(s);
	shmstat_reader_close(r);
	return rc;
}
