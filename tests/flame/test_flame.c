/*
 * test_flame.c - the stack tree of tools/render/flame.c: equal stacks merge,
 * prefixes with a value of their own get a line, the folded order does not
 * depend on the order of the stacks, names are cleaned (';', control
 * characters, bad UTF-8), totals saturate, bad arguments are refused;
 * the SVG: widths proportional to values (a 75/25 split gives leaf boxes
 * 3:1), a percentage in every <title>, the root at the bottom, escaped
 * names, labels cut to fit, colors by name, min_width, the empty tree.
 *
 * With "--write-svg FILE" it writes a flame graph of a few hundred frames
 * (names that need escaping among them) to FILE instead, for render.sh.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "flame.h"

#define NFRAMES(a) (sizeof(a) / sizeof((a)[0]))
#define ADD(f, v, ...)                                                              \
	do {                                                                        \
		const char *const fr_[] = { __VA_ARGS__ };                          \
		assert_int_equal(flame_add((f), fr_, NFRAMES(fr_), (v)), 0);        \
	} while (0)

static char *folded(const struct flame *f)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(m);
	assert_int_equal(flame_write_folded(f, m), 0);
	assert_int_equal(fclose(m), 0);
	assert_non_null(buf);
	assert_int_equal(strlen(buf), len);
	return buf;
}

static char *svg(const struct flame *f, const struct flame_svg_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(m);
	assert_int_equal(flame_write_svg(f, o, m), 0);
	assert_int_equal(fclose(m), 0);
	assert_non_null(buf);
	assert_int_equal(strlen(buf), len);
	return buf;
}

static void expect_folded(const struct flame *f, const char *want)
{
	char *got = folded(f);

	assert_string_equal(got, want);
	free(got);
}

/* ------------------------------------------------------------- folded */

static void test_merge_equal(void **state)
{
	struct flame *f = flame_new();

	(void)state;
	assert_non_null(f);
	ADD(f, 3, "main", "run", "work");
	ADD(f, 4, "main", "run", "work");
	ADD(f, 1, "main", "run", "wait");
	ADD(f, 2, "main", "run", "work");
	expect_folded(f, "main;run;wait 1\nmain;run;work 9\n");
	assert_int_equal(flame_total(f), 10);
	flame_free(f);
}

static void test_prefix_own_value(void **state)
{
	struct flame *f = flame_new();

	(void)state;
	assert_non_null(f);
	ADD(f, 5, "main", "a", "b");
	ADD(f, 2, "main", "a");
	ADD(f, 1, "main");
	/* "main;x" is only a prefix: no line; a stack of value 0: none */
	ADD(f, 3, "main", "x", "y");
	ADD(f, 0, "main", "z");
	expect_folded(f, "main 1\nmain;a 2\nmain;a;b 5\nmain;x;y 3\n");
	assert_int_equal(flame_total(f), 11);
	flame_free(f);
}

static void test_order_deterministic(void **state)
{
	static const char *const stacks[][3] = {
		{ "b", NULL, NULL }, { "a", "z", NULL }, { "a", NULL, NULL },
		{ "c", "a", NULL }, { "a", "b", NULL }, { "a", "b", "c" },
		{ "B", NULL, NULL }, { "a", "a", NULL }, { "ab", NULL, NULL },
	};
	const size_t n = NFRAMES(stacks);
	struct flame *f = flame_new(), *g = flame_new();
	char *x, *y;

	(void)state;
	assert_non_null(f);
	assert_non_null(g);
	for (size_t k = 0; k < n; k++) {
		size_t d = 0;

		while (d < 3 && stacks[k][d])
			d++;
		assert_int_equal(flame_add(f, stacks[k], d, k + 1), 0);
		d = 0;
		while (d < 3 && stacks[n - 1 - k][d])
			d++;
		assert_int_equal(flame_add(g, stacks[n - 1 - k], d, n - k), 0);
	}
	x = folded(f);
	y = folded(g);
	assert_string_equal(x, y);
	assert_string_equal(x, "B 7\n"
			       "a 3\n"
			       "a;a 8\n"
			       "a;b 5\n"
			       "a;b;c 6\n"
			       "a;z 2\n"
			       "ab 9\n"
			       "b 1\n"
			       "c;a 4\n");
	free(x);
	free(y);
	flame_free(f);
	flame_free(g);
}

/* A few thousand siblings, added in a scrambled order: all there, sorted,
 * the values right. */
static void test_wide(void **state)
{
	enum { N = 5000 };
	struct flame *f = flame_new();
	char name[32], *out, *line, *save = NULL;
	size_t lines = 0;

	(void)state;
	assert_non_null(f);
	for (unsigned round = 0; round < 2; round++)
		for (unsigned k = 0; k < N; k++) {
			unsigned id = (k * 2999u) % N; /* a permutation: gcd(2999, N) = 1 */
			const char *fr[2] = { "main", name };

			snprintf(name, sizeof(name), "f%05u", id);
			assert_int_equal(flame_add(f, fr, 2, id + 1), 0);
		}
	out = folded(f);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char want[64];

		snprintf(want, sizeof(want), "main;f%05zu %zu", lines, 2 * (lines + 1));
		assert_string_equal(line, want);
		lines++;
	}
	assert_int_equal(lines, N);
	assert_int_equal(flame_total(f), (uint64_t)N * (N + 1));
	free(out);
	flame_free(f);
}

/* Every line of folded text is "FRAMES VALUE": the value after the last
 * space, digits only, no control character anywhere. */
static void assert_lines_parse(const char *text)
{
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		const char *sp = NULL;

		assert_non_null(nl);
		for (const char *q = p; q < nl; q++) {
			assert_true((unsigned char)*q >= 0x20 && *q != 0x7f);
			if (*q == ' ')
				sp = q;
		}
		assert_non_null(sp);
		assert_true(sp + 1 < nl);
		for (const char *q = sp + 1; q < nl; q++)
			assert_true(*q >= '0' && *q <= '9');
		p = nl + 1;
	}
}

static void test_sanitize(void **state)
{
	struct flame *f = flame_new();
	char *out;

	(void)state;
	assert_non_null(f);
	ADD(f, 1, "main", "a;b", "line\nbreak", "tab\there", "\x01x\x7f", "cr\r");
	/* "a;b" is written as "a:b": the same frame as "a:b" */
	ADD(f, 2, "main", "a:b", "line?break", "tab?here", "?x?", "cr?");
	/* bad UTF-8 and C1 controls are '?'; good UTF-8 stays */
	ADD(f, 4, "main", "bad\xff\xc3", "c1\xc2\x85", "gr\303\266\303\237e", "\xe6\x97\xa5");
	/* spaces are fine: the value is after the last one */
	ADD(f, 8, "main", "operator new(unsigned long)", "");
	out = folded(f);
	assert_string_equal(out, "main;a:b;line?break;tab?here;?x?;cr? 3\n"
				 "main;bad??;c1?;gr\xc3\xb6\xc3\x9f" "e;\xe6\x97\xa5 4\n"
				 "main;operator new(unsigned long); 8\n");
	assert_lines_parse(out);
	free(out);
	flame_free(f);
}

static void test_totals(void **state)
{
	struct flame *f = flame_new();
	const char *deep[FLAME_MAX_DEPTH + 1];
	const char *const withnull[] = { "main", NULL };

	(void)state;
	assert_non_null(f);
	assert_int_equal(flame_total(f), 0);
	expect_folded(f, "");
	/* an empty stack: counted, no line */
	assert_int_equal(flame_add(f, NULL, 0, 7), 0);
	assert_int_equal(flame_total(f), 7);
	expect_folded(f, "");
	ADD(f, 5, "main");
	assert_int_equal(flame_total(f), 12);
	/* saturation */
	ADD(f, UINT64_MAX - 10, "main", "big");
	assert_int_equal(flame_total(f), UINT64_MAX);
	ADD(f, 100, "main", "big");
	assert_int_equal(flame_total(f), UINT64_MAX);
	expect_folded(f, "main 5\nmain;big 18446744073709551615\n");
	/* bad arguments change nothing */
	for (size_t k = 0; k < NFRAMES(deep); k++)
		deep[k] = "d";
	assert_int_equal(flame_add(f, deep, FLAME_MAX_DEPTH + 1, 1), EINVAL);
	assert_int_equal(flame_add(f, withnull, 2, 1), EINVAL);
	assert_int_equal(flame_add(f, NULL, 1, 1), EINVAL);
	assert_int_equal(flame_add(NULL, deep, 1, 1), EINVAL);
	expect_folded(f, "main 5\nmain;big 18446744073709551615\n");
	assert_int_equal(flame_total(NULL), 0);
	assert_int_equal(flame_write_folded(NULL, stdout), EINVAL);
	assert_int_equal(flame_write_folded(f, NULL), EINVAL);
	assert_int_equal(flame_write_svg(NULL, NULL, stdout), EINVAL);
	flame_free(f);
	flame_free(NULL);
}

/* The deepest stack allowed: one line of FLAME_MAX_DEPTH frames; the SVG
 * draws them all. */
static void test_deep(void **state)
{
	struct flame *f = flame_new();
	const char *deep[FLAME_MAX_DEPTH];
	char *out, *s;
	size_t semis = 0, frames = 0;

	(void)state;
	assert_non_null(f);
	for (size_t k = 0; k < FLAME_MAX_DEPTH; k++)
		deep[k] = "d";
	assert_int_equal(flame_add(f, deep, FLAME_MAX_DEPTH, 3), 0);
	out = folded(f);
	for (const char *p = out; *p; p++)
		semis += *p == ';';
	assert_int_equal(semis, FLAME_MAX_DEPTH - 1);
	free(out);
	s = svg(f, NULL);
	for (const char *p = s; (p = strstr(p, "<g class=\"f\">")); p++)
		frames++;
	assert_int_equal(frames, FLAME_MAX_DEPTH + 1);
	free(s);
	flame_free(f);
}

/* A full stream: the write error comes back. */
static void test_write_error(void **state)
{
	struct flame *f = flame_new();
	char small[8];
	FILE *m;

	(void)state;
	assert_non_null(f);
	ADD(f, 1, "main", "a rather long frame name that does not fit");
	m = fmemopen(small, sizeof(small), "w");
	assert_non_null(m);
	assert_int_not_equal(flame_write_folded(f, m), 0);
	(void)fclose(m);
	m = fmemopen(small, sizeof(small), "w");
	assert_non_null(m);
	assert_int_not_equal(flame_write_svg(f, NULL, m), 0);
	(void)fclose(m);
	flame_free(f);
}

/* ---------------------------------------------------------------- svg */

struct frame {
	char title[256];
	double x, y, width;
	char fill[32];
	char text[256];
};

/* The attribute @name="..." of the tag starting at @tag, as a number. */
static double attr_num(const char *tag, const char *name)
{
	char key[32];
	const char *end = strchr(tag, '>');
	const char *p;

	snprintf(key, sizeof(key), " %s=\"", name);
	p = strstr(tag, key);
	assert_non_null(p);
	assert_true(p < end);
	return strtod(p + strlen(key), NULL);
}

static void copy_between(char *dst, size_t n, const char *from, const char *open, const char *close)
{
	const char *a = strstr(from, open), *b;

	assert_non_null(a);
	a += strlen(open);
	b = strstr(a, close);
	assert_non_null(b);
	assert_true((size_t)(b - a) < n);
	memcpy(dst, a, (size_t)(b - a));
	dst[b - a] = '\0';
}

/* The frames of an SVG, in document order; *@n of them. */
static struct frame *parse_frames(const char *doc, size_t *n)
{
	struct frame *fr = NULL;
	size_t cnt = 0;

	for (const char *p = doc; (p = strstr(p, "<g class=\"f\">")); p++) {
		const char *end = strstr(p, "</g>");
		const char *rect = strstr(p, "<rect ");
		struct frame *nf = realloc(fr, (cnt + 1) * sizeof(*fr));
		struct frame *f;

		assert_non_null(nf);
		fr = nf;
		f = &fr[cnt++];
		assert_non_null(end);
		assert_non_null(rect);
		assert_true(rect < end);
		copy_between(f->title, sizeof(f->title), p, "<title>", "</title>");
		f->x = attr_num(rect, "x");
		f->y = attr_num(rect, "y");
		f->width = attr_num(rect, "width");
		copy_between(f->fill, sizeof(f->fill), rect, "fill=\"", "\"");
		copy_between(f->text, sizeof(f->text), rect, "\">", "</text>");
	}
	*n = cnt;
	return fr;
}

/* The frame whose title starts with "@name (". */
static const struct frame *find(const struct frame *fr, size_t n, const char *name)
{
	size_t len = strlen(name);

	for (size_t k = 0; k < n; k++)
		if (strncmp(fr[k].title, name, len) == 0 && strncmp(fr[k].title + len, " (", 2) == 0)
			return &fr[k];
	fail_msg("no frame %s", name);
	return NULL;
}

/* "..., D.DD%)" at the end of @title. */
static int has_percent(const char *title)
{
	size_t len = strlen(title);
	const char *p;

	if (len < 7 || strcmp(title + len - 2, "%)") != 0)
		return 0;
	p = title + len - 2;
	if (!(p[-1] >= '0' && p[-1] <= '9' && p[-2] >= '0' && p[-2] <= '9' && p[-3] == '.'))
		return 0;
	p -= 4;
	if (!(*p >= '0' && *p <= '9'))
		return 0;
	while (p > title && *p >= '0' && *p <= '9')
		p--;
	return p > title && *p == ' ' && p[-1] == ',';
}

static void test_svg_ratio(void **state)
{
	struct flame *f = flame_new();
	struct flame_svg_opts o = { .title = "t", .unit = "samples" };
	const struct frame *a, *b, *m, *all;
	struct frame *fr;
	size_t n;
	char *s;

	(void)state;
	assert_non_null(f);
	ADD(f, 75, "main", "a");
	ADD(f, 25, "main", "b");
	s = svg(f, &o);
	fr = parse_frames(s, &n);
	assert_int_equal(n, 4);
	all = find(fr, n, "all");
	m = find(fr, n, "main");
	a = find(fr, n, "a");
	b = find(fr, n, "b");
	assert_true(a->width / b->width > 3.0 * 0.99 && a->width / b->width < 3.0 * 1.01);
	/* leaves side by side over main, main as wide as all: 1200 - 2 * 10 */
	assert_true(a->width + b->width > m->width - 0.02 && a->width + b->width < m->width + 0.02);
	assert_true(m->width > 1179.9 && m->width < 1180.1);
	assert_true(b->x > a->x + a->width - 0.02 && b->x < a->x + a->width + 0.02);
	/* the root at the bottom, 16 px a row */
	assert_true(all->y > m->y && m->y > a->y);
	assert_true(all->y - m->y == 16 && m->y - a->y == 16 && a->y == b->y);
	assert_string_equal(a->title, "a (75 samples, 75.00%)");
	assert_string_equal(b->title, "b (25 samples, 25.00%)");
	assert_string_equal(all->title, "all (100 samples, 100.00%)");
	assert_string_equal(a->text, "a");
	assert_non_null(strstr(s, "width=\"1200\""));
	free(fr);
	free(s);
	flame_free(f);
}

/* A bigger tree: every <title> in the document carries a percentage,
 * every frame is within the image and above its caller's row. */
static void test_svg_titles(void **state)
{
	struct flame *f = flame_new();
	struct flame_svg_opts o = { .title = "many", .subtitle = "sub", .unit = "ns",
				    .width = 800, .min_width = 0.5 };
	char a[16], b[16], c[16];
	size_t titles = 0, n;
	struct frame *fr;
	char *s;

	(void)state;
	assert_non_null(f);
	for (unsigned k = 0; k < 600; k++) {
		const char *st[4] = { "main", a, b, c };

		snprintf(a, sizeof(a), "mod%u", k % 5);
		snprintf(b, sizeof(b), "fn%u", k % 17);
		snprintf(c, sizeof(c), "leaf%u", k % 3);
		assert_int_equal(flame_add(f, st, 1 + k % 4, 1000 + k), 0);
	}
	s = svg(f, &o);
	for (const char *p = s; (p = strstr(p, "<title>")); p++) {
		char t[256];

		copy_between(t, sizeof(t), p, "<title>", "</title>");
		assert_true(has_percent(t));
		assert_non_null(strstr(t, " ns, "));
		titles++;
	}
	fr = parse_frames(s, &n);
	assert_int_equal(titles, n);
	assert_true(n > 100);
	for (size_t k = 0; k < n; k++) {
		assert_true(fr[k].x >= 10 - 0.01 && fr[k].x + fr[k].width <= 790 + 0.02);
		assert_true(fr[k].width >= 0.5);
		assert_true(fr[k].y >= 58);
	}
	assert_non_null(strstr(s, "width=\"800\""));
	assert_non_null(strstr(s, ">sub</text>"));
	free(fr);
	free(s);
	flame_free(f);
}

static void test_svg_escape(void **state)
{
	struct flame *f = flame_new();
	struct flame_svg_opts o = { .title = "t<&>\"'", .subtitle = "s&<\x01", .unit = "u<>" };
	size_t n;
	struct frame *fr;
	const char *script;
	char *s;

	(void)state;
	assert_non_null(f);
	ADD(f, 1, "main", "<&>\"'");
	ADD(f, 1, "main", "operator<<(std::ostream&, T const&)", "x]]>y");
	s = svg(f, &o);
	/* before the script (CDATA), every '&' starts an entity */
	script = strstr(s, "<script");
	assert_non_null(script);
	for (const char *p = s; (p = strchr(p, '&')) && p < script; p++)
		assert_true(strncmp(p, "&amp;", 5) == 0 || strncmp(p, "&lt;", 4) == 0 ||
			    strncmp(p, "&gt;", 4) == 0 || strncmp(p, "&quot;", 6) == 0 ||
			    strncmp(p, "&apos;", 6) == 0);
	assert_null(strstr(s, "<&>"));
	assert_non_null(strstr(s, ">t&lt;&amp;&gt;&quot;&apos;</text>"));
	assert_non_null(strstr(s, ">s&amp;&lt;?</text>"));
	fr = parse_frames(s, &n);
	assert_string_equal(find(fr, n, "&lt;&amp;&gt;&quot;&apos;")->title,
			    "&lt;&amp;&gt;&quot;&apos; (1 u&lt;&gt;, 50.00%)");
	assert_string_equal(find(fr, n, "&lt;&amp;&gt;&quot;&apos;")->text,
			    "&lt;&amp;&gt;&quot;&apos;");
	assert_string_equal(find(fr, n, "operator&lt;&lt;(std::ostream&amp;, T const&amp;)")->text,
			    "operator&lt;&lt;(std::ostream&amp;, T const&amp;)");
	/* "]]>" in a name does not end the script's CDATA: it is "]]&gt;" */
	assert_non_null(strstr(s, "x]]&gt;y"));
	free(fr);
	free(s);
	flame_free(f);
}

static void test_svg_empty(void **state)
{
	struct flame *f = flame_new();
	char *s;

	(void)state;
	assert_non_null(f);
	s = svg(f, NULL);
	assert_true(strncmp(s, "<?xml version=\"1.0\"", 19) == 0);
	assert_non_null(strstr(s, "<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\""));
	assert_non_null(strstr(s, ">no samples</text>"));
	assert_non_null(strstr(s, ">Flame Graph</text>"));
	assert_null(strstr(s, "<g class=\"f\">"));
	assert_int_equal(strcmp(s + strlen(s) - 7, "</svg>\n"), 0);
	free(s);
	/* stacks of value 0 only: still nothing to draw */
	ADD(f, 0, "main");
	s = svg(f, NULL);
	assert_non_null(strstr(s, ">no samples</text>"));
	free(s);
	flame_free(f);
}

/* Same name, same color, warm; narrow boxes: cut labels, tiny ones not
 * drawn. */
static void test_svg_colors_labels(void **state)
{
	struct flame *f = flame_new();
	struct flame_svg_opts o = { .width = 1200 };
	const struct frame *x1 = NULL, *x2 = NULL, *nar;
	struct frame *fr;
	size_t n;
	char *s;

	(void)state;
	assert_non_null(f);
	ADD(f, 500000, "main", "x");
	ADD(f, 499000, "other", "x");
	ADD(f, 990, "narrow_function_with_a_long_name");
	ADD(f, 10, "tiny");
	s = svg(f, &o);
	fr = parse_frames(s, &n);
	for (size_t k = 0; k < n; k++) {
		unsigned r, g, b;

		if (strncmp(fr[k].title, "x (", 3) == 0) {
			if (!x1)
				x1 = &fr[k];
			else
				x2 = &fr[k];
		}
		assert_int_equal(sscanf(fr[k].fill, "rgb(%u,%u,%u)", &r, &g, &b), 3);
		assert_true(r >= 205 && r <= 255 && g <= 230 && b <= 55);
	}
	assert_non_null(x1);
	assert_non_null(x2);
	assert_string_equal(x1->fill, x2->fill);
	/* 990 / 1e6 of 1180 px: 1.17 px, no label; tiny (0.012 px): absent */
	nar = find(fr, n, "narrow_function_with_a_long_name");
	assert_true(nar->width > 1.1 && nar->width < 1.2);
	assert_string_equal(nar->text, "");
	assert_null(strstr(s, "tiny"));
	free(fr);
	free(s);
	flame_free(f);

	/* 100 px: 12 characters fit ((100 - 6) / 7.25), 10 kept + ".." */
	f = flame_new();
	assert_non_null(f);
	ADD(f, 100, "narrow_function_with_a_long_name");
	ADD(f, 1080, "rest");
	s = svg(f, NULL);
	fr = parse_frames(s, &n);
	nar = find(fr, n, "narrow_function_with_a_long_name");
	assert_true(nar->width > 99.9 && nar->width < 100.1);
	assert_string_equal(nar->text, "narrow_fun..");
	free(fr);
	free(s);
	flame_free(f);

	/* a cut at a character, not in the middle of its UTF-8 bytes */
	f = flame_new();
	assert_non_null(f);
	ADD(f, 100, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
	ADD(f, 1080, "rest");
	s = svg(f, NULL);
	assert_non_null(strstr(s, "\">\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
				  "\xc3\xa9\xc3\xa9\xc3\xa9..</text>"));
	free(s);
	flame_free(f);
}

/* The whole document is UTF-8 and has no control character but '\n'
 * and '\t', whatever the names held. */
static void test_svg_clean_bytes(void **state)
{
	struct flame *f = flame_new();
	struct flame_svg_opts o = { .title = "bad \xff title", .subtitle = "c\x1b[0m" };
	char *s;

	(void)state;
	assert_non_null(f);
	ADD(f, 1, "main", "\xc0\xaf", "\xed\xa0\x80", "\xef\xbf\xbe", "x\x7f\x85");
	s = svg(f, &o);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		assert_true(*p >= 0x20 || *p == '\n' || *p == '\t');
		assert_true(*p != 0x7f && *p != 0xff && *p != 0xc0);
	}
	assert_non_null(strstr(s, ">bad ? title</text>"));
	assert_non_null(strstr(s, ">c?[0m</text>"));
	assert_non_null(strstr(s, "<title>?? (1, 100.00%)</title>"));
	free(s);
	flame_free(f);
}

/*
 * Click to zoom keeps a frame's whole stack: the script shows a frame
 * above the clicked one if it lies within it, and one under it if it
 * spans it, each to 0.01 px, from the x and width the SVG gives to two
 * decimals. Both were rounded apart, so a frame's right edge could pass
 * its parent's by 0.01 px after rounding: a zoom on the parent hid that
 * child, a zoom on the child hid the parent (3 of 201 frames of a
 * cachesim profile, 'shmstat flame --addresses'). Checked here as the
 * script computes it (doubles parsed from the text, e = 0.01), on a few
 * hundred random stacks, for every frame and each of its ancestors.
 */
static void test_svg_zoom_nesting(void **state)
{
	const double e = 0.01;
	struct flame *f = flame_new();
	const struct frame *path[16];
	struct frame *fr;
	uint64_t seed = 7;
	size_t n, bad = 0;
	double y0;
	char *s;

	(void)state;
	assert_non_null(f);
	for (unsigned k = 0; k < 600; k++) {
		static const char *const names[] = { "a", "b", "c", "d", "e" };
		const char *st[8];
		size_t d;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		d = 1 + (size_t)(seed >> 61);
		for (size_t i = 0; i < d; i++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			st[i] = names[(seed >> 33) % NFRAMES(names)];
		}
		assert_int_equal(flame_add(f, st, d, 1 + (seed >> 40) % 997), 0);
	}
	s = svg(f, NULL);
	fr = parse_frames(s, &n);
	assert_true(n > 200);
	/* the root first; each frame after its parent, one row (16 px) up */
	y0 = fr[0].y;
	for (size_t k = 0; k < n; k++) {
		size_t depth = (size_t)((y0 - fr[k].y) / 16.0 + 0.5);

		assert_true(depth < NFRAMES(path));
		path[depth] = &fr[k];
		for (size_t i = 0; i < depth; i++) {
			const struct frame *a = path[i], *c = &fr[k];
			int inside = c->x >= a->x - e && c->x + c->width <= a->x + a->width + e;
			int holds = a->x <= c->x + e && a->x + a->width >= c->x + c->width - e;

			if (!inside || !holds) {
				if (bad++ < 3)
					print_message("%s (x %.2f, w %.2f) is not within %s (x %.2f, w %.2f)\n",
						      c->title, c->x, c->width, a->title, a->x, a->width);
			}
		}
	}
	assert_int_equal(bad, 0);
	free(fr);
	free(s);
	flame_free(f);
}

/* -------------------------------------------------------- --write-svg */

/* A made-up program: a few hundred frames, names that need escaping. */
static int write_svg(const char *path)
{
	static const char *const names[] = {
		/* the first 8: the wide frames near the root */
		"parse_request", "operator<<(std::ostream&, Foo const&)", "Tom & Jerry",
		"say \"hi\"", "it's", "handle", "<script>alert(1)</script>",
		"gr\303\266\303\237e",
		"lookup", "cache_get", "cache_put", "hash_bytes", "memcpy", "malloc", "free",
		"read", "write", "epoll_wait", "compress", "deflate_slow", "longest_match",
		"send_response", "log_line", "vfprintf", "std::vector<int>::push_back",
		"a;b", "tab\there", "\xe6\x97\xa5\xe6\x9c\xac", "x]]>y",
		"a_very_long_function_name_that_will_not_fit_in_a_narrow_box_at_all",
	};
	const size_t nn = NFRAMES(names);
	struct flame_svg_opts o = { .title = "shmstat flame <test> & \"render\"",
				    .subtitle = "cpu samples, 3 processes", .unit = "samples" };
	struct flame *f = flame_new();
	uint64_t seed = 42;
	char *buf = NULL;
	size_t len = 0, frames = 0;
	FILE *m, *out;
	int rc;

	if (!f)
		return 1;
	for (unsigned k = 0; k < 400; k++) {
		const char *st[12];
		size_t d;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		d = 2 + (size_t)(seed >> 60) % 8;
		st[0] = "main";
		st[1] = (seed >> 40 & 1) ? "worker_loop" : "accept_loop";
		for (size_t i = 2; i < d; i++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			st[i] = names[(seed >> 33) % (i < 4 ? 8 : nn)];
		}
		if (flame_add(f, st, d, 1 + (seed >> 50) % 50) != 0)
			return 1;
	}
	m = open_memstream(&buf, &len);
	if (!m)
		return 1;
	rc = flame_write_svg(f, &o, m);
	if (fclose(m) != 0 || rc != 0) {
		fprintf(stderr, "test_flame: cannot write the svg: %s\n", strerror(rc ? rc : errno));
		free(buf);
		flame_free(f);
		return 1;
	}
	flame_free(f);
	for (const char *p = buf; (p = strstr(p, "<g class=\"f\">")); p++)
		frames++;
	if (frames < 200 || frames > 2000) {
		fprintf(stderr, "test_flame: %zu frames drawn, wanted a few hundred\n", frames);
		free(buf);
		return 1;
	}
	out = fopen(path, "w");
	if (!out) {
		fprintf(stderr, "test_flame: %s: %s\n", path, strerror(errno));
		free(buf);
		return 1;
	}
	if (fwrite(buf, 1, len, out) != len) {
		fprintf(stderr, "test_flame: %s: %s\n", path, strerror(errno));
		(void)fclose(out);
		free(buf);
		return 1;
	}
	free(buf);
	if (fclose(out) != 0) {
		fprintf(stderr, "test_flame: %s: %s\n", path, strerror(errno));
		return 1;
	}
	printf("%s: %zu frames\n", path, frames);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_equal),
		cmocka_unit_test(test_prefix_own_value),
		cmocka_unit_test(test_order_deterministic),
		cmocka_unit_test(test_wide),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_totals),
		cmocka_unit_test(test_deep),
		cmocka_unit_test(test_write_error),
		cmocka_unit_test(test_svg_ratio),
		cmocka_unit_test(test_svg_titles),
		cmocka_unit_test(test_svg_escape),
		cmocka_unit_test(test_svg_empty),
		cmocka_unit_test(test_svg_colors_labels),
		cmocka_unit_test(test_svg_clean_bytes),
		cmocka_unit_test(test_svg_zoom_nesting),
	};

	if (argc == 3 && strcmp(argv[1], "--write-svg") == 0)
		return write_svg(argv[2]);
	if (argc != 1) {
		fprintf(stderr, "usage: test_flame [--write-svg FILE]\n");
		return 2;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
