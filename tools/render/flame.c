/*
 * flame.c - stacks merged into a tree; folded text and flame-graph SVG
 * (flame.h).
 *
 * Structure. Every node is one allocation: its counters, the hash of its
 * name, its children and the name itself (a flexible array member). The
 * children of a node are an open-addressing hash table of node pointers
 * (linear probing, a power-of-two number of slots, at most half full),
 * so finding a frame among thousands of siblings costs one probe or two,
 * not a scan. The tree keeps every node on a singly linked list as well,
 * so that flame_free() is one loop and no walk of the tree.
 *
 *   struct flame
 *     root ("all") -> slot[] -> "main" -> slot[] -> "run" -> ...
 *                            -> "start"
 *     nodes: all -> main -> run -> start -> ...   (the allocation list)
 *
 * A stack of n frames first finds or creates its n nodes, remembering
 * them, and only then adds its value to each node's total and to the last
 * one's self value: running out of memory half-way leaves new nodes of
 * value 0 (which write nothing) and the values as they were.
 *
 * Writing. The order of the children in a hash table is arbitrary, so
 * the writers walk the tree depth first with the children of each node
 * sorted by name (strcmp), sorted when the walk reaches the node. The walk
 * is iterative, with an explicit stack of at most FLAME_MAX_DEPTH + 1
 * levels, one sorted child array per level. The SVG writer walks twice:
 * once to find how deep the drawn frames go (the image height: the root
 * is at the bottom), once to write them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flame.h"
#include "textsafe.h"

struct fnode {
	uint64_t self;          /* value of the stacks that end here */
	uint64_t total;         /* value of the stacks through here */
	uint64_t hash;          /* of the name */
	struct fnode **slot;    /* the children: cap slots, NULL when empty */
	size_t nkids, cap;
	struct fnode *next;     /* the allocation list */
	size_t len;             /* strlen(name) */
	char name[];            /* cleaned (see flame.h) */
};

struct flame {
	struct fnode *root;     /* "all": no frame of its own */
	struct fnode *nodes;    /* every node, the root last */
	char *buf;              /* scratch for cleaning a name */
	size_t bufcap;
};

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* FNV-1a, then a finalizer (splitmix64's) so that the low bits (the
 * table slot) and the bytes the colors come from all depend on every
 * byte of the name. */
static uint64_t name_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t k = 0; k < len; k++) {
		h ^= (unsigned char)s[k];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h;
}

/* Is @cp to be shown as '?': a control character (C0, DEL, C1) or one
 * of the two code points XML does not allow. */
static int unprintable(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0xfffe || cp == 0xffff;
}

/* Copy @n bytes of @src to @dst cleaned: ';' -> ':', unprintable code
 * points and bytes that are not well-formed UTF-8 -> '?'. Never longer
 * than @n; @dst gets a NUL. Return the length written. */
static size_t clean_name(char *dst, const char *src, size_t n)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0;

	while (i < n) {
		uint32_t cp = 0;
		size_t l = utf8_seq(s + i, n - i, &cp);

		if (l == 0 || unprintable(cp)) {
			dst[o++] = '?';
			i += l ? l : 1;
		} else if (cp == ';') {
			dst[o++] = ':';
			i++;
		} else {
			memcpy(dst + o, s + i, l);
			o += l;
			i += l;
		}
	}
	dst[o] = '\0';
	return o;
}

static struct fnode *node_new(struct flame *f, const char *name, size_t len, uint64_t hash)
{
	struct fnode *n;

	if (len > SIZE_MAX - sizeof(*n) - 1)
		return NULL;
	n = malloc(sizeof(*n) + len + 1);
	if (!n)
		return NULL;
	memset(n, 0, sizeof(*n));
	n->hash = hash;
	n->len = len;
	memcpy(n->name, name, len);
	n->name[len] = '\0';
	n->next = f->nodes;
	f->nodes = n;
	return n;
}

/* Put child @c into the first free slot of its chain in @p's table. */
static void slot_put(struct fnode *p, struct fnode *c)
{
	size_t mask = p->cap - 1;
	size_t i = (size_t)c->hash & mask;

	while (p->slot[i])
		i = (i + 1) & mask;
	p->slot[i] = c;
}

/* Double @p's table (4 slots to begin with). Return 0 or ENOMEM. */
static int slots_grow(struct fnode *p)
{
	struct fnode **old = p->slot;
	size_t oldcap = p->cap;
	size_t cap = oldcap ? oldcap * 2 : 4;

	if (cap < oldcap)
		return ENOMEM;
	p->slot = calloc(cap, sizeof(struct fnode *));
	if (!p->slot) {
		p->slot = old;
		return ENOMEM;
	}
	p->cap = cap;
	for (size_t k = 0; k < oldcap; k++)
		if (old[k])
			slot_put(p, old[k]);
	free(old);
	return 0;
}

/* The child of @p named @name (@len bytes, hash @hash), created when
 * missing; NULL when out of memory. */
static struct fnode *child_get(struct flame *f, struct fnode *p, const char *name, size_t len,
			       uint64_t hash)
{
	struct fnode *c;

	if (p->cap) {
		size_t mask = p->cap - 1;

		for (size_t i = (size_t)hash & mask; p->slot[i]; i = (i + 1) & mask) {
			c = p->slot[i];
			if (c->hash == hash && c->len == len && memcmp(c->name, name, len) == 0)
				return c;
		}
	}
	if ((p->nkids + 1) * 2 > p->cap && slots_grow(p) != 0)
		return NULL;
	c = node_new(f, name, len, hash);
	if (!c)
		return NULL;
	slot_put(p, c);
	p->nkids++;
	return c;
}

struct flame *flame_new(void)
{
	struct flame *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->root = node_new(f, "all", 3, name_hash("all", 3));
	if (!f->root) {
		free(f);
		return NULL;
	}
	return f;
}

void flame_free(struct flame *f)
{
	struct fnode *n, *next;

	if (!f)
		return;
	for (n = f->nodes; n; n = next) {
		next = n->next;
		free(n->slot);
		free(n);
	}
	free(f->buf);
	free(f);
}

int flame_add(struct flame *f, const char *const *frames, size_t n, uint64_t v)
{
	struct fnode *path[FLAME_MAX_DEPTH];
	struct fnode *p;

	if (!f || n > FLAME_MAX_DEPTH || (n && !frames))
		return EINVAL;
	for (size_t k = 0; k < n; k++)
		if (!frames[k])
			return EINVAL;
	p = f->root;
	for (size_t k = 0; k < n; k++) {
		size_t len = strlen(frames[k]);

		if (len >= f->bufcap) {
			size_t cap = len + 1 > 64 ? len + 1 : 64;
			char *b = realloc(f->buf, cap);

			if (!b)
				return ENOMEM;
			f->buf = b;
			f->bufcap = cap;
		}
		len = clean_name(f->buf, frames[k], len);
		p = child_get(f, p, f->buf, len, name_hash(f->buf, len));
		if (!p)
			return ENOMEM;
		path[k] = p;
	}
	f->root->total = sat_add(f->root->total, v);
	for (size_t k = 0; k < n; k++)
		path[k]->total = sat_add(path[k]->total, v);
	p->self = sat_add(p->self, v);
	return 0;
}

uint64_t flame_total(const struct flame *f)
{
	return f ? f->root->total : 0;
}

/* ------------------------------------------------------------------ walk */

struct level {
	const struct fnode *node;
	const struct fnode **kids;  /* sorted by name; NULL until opened */
	size_t nkids, next;         /* next: the next child to visit */
	double off;                 /* left edge, in value units */
	double end;                 /* right edge, in value units */
	double kid_off;             /* left edge of the next child */
};

/* A visitor's answer: go into the node's children (0), skip them
 * (WALK_PRUNE), or stop the walk with an errno (> 0). */
#define WALK_PRUNE (-1)
typedef int visit_fn(void *ctx, const struct level *path, size_t depth);

static int cmp_node(const void *a, const void *b)
{
	const struct fnode *x = *(const struct fnode *const *)a;
	const struct fnode *y = *(const struct fnode *const *)b;

	return strcmp(x->name, y->name);
}

/* Fill in @l's sorted children. Return 0 or ENOMEM. */
static int level_open(struct level *l)
{
	const struct fnode *p = l->node;
	const struct fnode **a;
	size_t n = 0;

	if (!p->nkids)
		return 0;
	a = malloc(p->nkids * sizeof(const struct fnode *));
	if (!a)
		return ENOMEM;
	for (size_t k = 0; k < p->cap; k++)
		if (p->slot[k])
			a[n++] = p->slot[k];
	qsort(a, n, sizeof(const struct fnode *), cmp_node);
	l->kids = a;
	l->nkids = n;
	return 0;
}

/*
 * Visit the nodes under and including @root depth first, the children of
 * a node in name order, each node before its children. The visitor gets
 * the path from the root (path[0]) to the node (path[depth]), with the
 * node's extent: children are laid side by side from their parent's left
 * edge, each as wide as its total, cut at the parent's right edge (the
 * totals of the children can add up to more than the parent's only after
 * saturation). Return 0, ENOMEM, or what the visitor stopped with.
 */
static int walk(const struct fnode *root, visit_fn *visit, void *ctx)
{
	struct level lv[FLAME_MAX_DEPTH + 1];
	size_t d = 0;
	int rc;

	lv[0] = (struct level){ .node = root, .end = (double)root->total };
	rc = visit(ctx, lv, 0);
	if (rc == 0)
		rc = level_open(&lv[0]);
	if (rc != 0)
		return rc > 0 ? rc : 0;
	for (;;) {
		struct level *l = &lv[d];
		struct level *cl;
		const struct fnode *c;

		if (l->next == l->nkids || d == FLAME_MAX_DEPTH) {
			free(l->kids);
			if (d == 0)
				return 0;
			d--;
			continue;
		}
		c = l->kids[l->next++];
		cl = &lv[d + 1];
		*cl = (struct level){ .node = c, .off = l->kid_off, .kid_off = l->kid_off };
		cl->end = cl->off + (double)c->total;
		if (cl->end > l->end)
			cl->end = l->end;
		l->kid_off = cl->end;
		d++;
		rc = visit(ctx, lv, d);
		if (rc == 0)
			rc = level_open(cl);
		if (rc > 0) {
			for (;;) {
				free(lv[d].kids);
				if (d == 0)
					return rc;
				d--;
			}
		}
	}
}

/* The errno of a failed write, EIO when the stream did not set one. */
static int write_errno(void)
{
	return errno > 0 ? errno : EIO;
}

/* Flush @out after writing; return the first error: @rc, the flush's,
 * or EIO when the stream has its error flag set. */
static int write_end(FILE *out, int rc)
{
	if (rc == 0 && fflush(out) != 0)
		rc = write_errno();
	if (rc == 0 && ferror(out))
		rc = EIO;
	return rc;
}

/* ---------------------------------------------------------------- folded */

static int folded_visit(void *ctx, const struct level *path, size_t depth)
{
	FILE *out = ctx;
	const struct fnode *n = path[depth].node;

	if (depth == 0 || n->self == 0)
		return 0;
	for (size_t k = 1; k <= depth; k++) {
		const struct fnode *p = path[k].node;

		if (k > 1 && putc(';', out) == EOF)
			return write_errno();
		if (p->len && fwrite(p->name, 1, p->len, out) != p->len)
			return write_errno();
	}
	if (fprintf(out, " %" PRIu64 "\n", n->self) < 0)
		return write_errno();
	return 0;
}

int flame_write_folded(const struct flame *f, FILE *out)
{
	if (!f || !out)
		return EINVAL;
	errno = 0;
	return write_end(out, walk(f->root, folded_visit, out));
}

/* ------------------------------------------------------------------- svg */

#define SVG_WIDTH     1200u
#define SVG_MIN_WIDTH 100u
#define SVG_XPAD      10.0     /* left and right margins */
#define SVG_FRAME_H   16u      /* one row of frames */
#define SVG_BOTTOM    10u      /* margin under the root */
#define SVG_CHAR_W    7.25     /* a character of 12px monospace, rounded up */
#define SVG_MIN_FRAME 0.1

struct svg {
	FILE *out;
	int err;                /* the first write error */
	int measure;            /* first walk: only find the depth */
	size_t maxdepth;        /* of the frames drawn */
	double scale;           /* px per value unit */
	double min_width;
	unsigned height;
	uint64_t total;
	const char *unit;
};

__attribute__((format(printf, 2, 3)))
static void svg_printf(struct svg *s, const char *fmt, ...)
{
	va_list ap;

	if (s->err)
		return;
	va_start(ap, fmt);
	if (vfprintf(s->out, fmt, ap) < 0)
		s->err = write_errno();
	va_end(ap);
}

static void svg_puts(struct svg *s, const char *str)
{
	if (!s->err && fputs(str, s->out) == EOF)
		s->err = write_errno();
}

/* @len bytes of @str as XML character data or attribute value: cleaned
 * like a frame name (except ';') and escaped. */
static void svg_text(struct svg *s, const char *str, size_t len)
{
	const unsigned char *p = (const unsigned char *)str;
	size_t i = 0;

	while (i < len && !s->err) {
		uint32_t cp = 0;
		size_t l = utf8_seq(p + i, len - i, &cp);
		const char *rep = NULL;

		if (l == 0 || unprintable(cp))
			rep = "?";
		else if (cp == '&')
			rep = "&amp;";
		else if (cp == '<')
			rep = "&lt;";
		else if (cp == '>')
			rep = "&gt;";
		else if (cp == '"')
			rep = "&quot;";
		else if (cp == '\'')
			rep = "&apos;";
		if (rep) {
			svg_puts(s, rep);
			i += l ? l : 1;
		} else {
			if (fwrite(p + i, 1, l, s->out) != l)
				s->err = write_errno();
			i += l;
		}
	}
}

/* @v >= 0 in hundredths, rounded (at most 1e17). */
static uint64_t hundredths(double v)
{
	if (!(v > 0))
		v = 0;
	if (v > 1e15)
		v = 1e15;
	return (uint64_t)(v * 100.0 + 0.5);
}

/* @c hundredths with two decimals, whatever the locale says about the
 * decimal point (XML wants a '.'). */
static const char *fmt2(char *buf, size_t n, uint64_t c)
{
	snprintf(buf, n, "%" PRIu64 ".%02u", c / 100, (unsigned)(c % 100));
	return buf;
}

/* @v >= 0 with two decimals. */
static const char *fix2(char *buf, size_t n, double v)
{
	return fmt2(buf, n, hundredths(v));
}

/* @v with a ',' between groups of three digits. */
static const char *fmt_count(char *buf, size_t n, uint64_t v)
{
	char digits[24];
	int len = snprintf(digits, sizeof(digits), "%" PRIu64, v);
	size_t o = 0;

	for (int k = 0; k < len && o + 2 < n; k++) {
		if (k > 0 && (len - k) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[k];
	}
	buf[o] = '\0';
	return buf;
}

/* The label of a frame @width px wide: the name, cut to "<start>.."
 * when it does not fit, nothing when not even 3 characters fit. */
static void svg_label(struct svg *s, const struct fnode *n, double width)
{
	double room = (width - 6.0) / SVG_CHAR_W;
	size_t fit, chars = 0, keep = 0;

	if (room < 3.0)
		return;
	fit = room > 1e9 ? (size_t)1e9 : (size_t)room;
	for (size_t k = 0; k < n->len; k++)
		if (((unsigned char)n->name[k] & 0xc0) != 0x80)
			chars++;
	if (chars <= fit) {
		svg_text(s, n->name, n->len);
		return;
	}
	/* keep fit - 2 characters: up to the start of character fit - 1 */
	chars = 0;
	for (keep = 0; keep < n->len; keep++) {
		if (((unsigned char)n->name[keep] & 0xc0) != 0x80) {
			if (chars == fit - 2)
				break;
			chars++;
		}
	}
	svg_text(s, n->name, keep);
	svg_puts(s, "..");
}

static int svg_visit(void *ctx, const struct level *path, size_t depth)
{
	struct svg *s = ctx;
	const struct level *l = &path[depth];
	const struct fnode *n = l->node;
	double x = SVG_XPAD + l->off * s->scale;
	double w = (l->end - l->off) * s->scale;
	char bx[32], bw[32], bt[32], bp[32], bv[32];
	uint64_t x0, x1;
	unsigned y, r, g, b;

	if (s->err)
		return s->err;
	if (!(w > 0) || w < s->min_width)
		return WALK_PRUNE;
	if (s->measure) {
		if (depth > s->maxdepth)
			s->maxdepth = depth;
		return 0;
	}
	/* both edges rounded, the width their difference: a child's edges
	 * stay within its parent's (x and end only grow with the values).
	 * The width rounded on its own put a child's right edge 0.01 px past
	 * its parent's at times, and click to zoom, which allows 0.01, then
	 * hid the child (zoom on the parent) or the parent (on the child). */
	x0 = hundredths(x);
	x1 = hundredths(SVG_XPAD + l->end * s->scale);
	x1 = x1 > x0 ? x1 : x0;
	y = s->height - SVG_BOTTOM - (unsigned)(depth + 1) * SVG_FRAME_H;
	/* warm: red high, some green, little blue */
	r = 205 + (unsigned)(n->hash & 0xff) * 50 / 255;
	g = (unsigned)(n->hash >> 8 & 0xff) * 230 / 255;
	b = (unsigned)(n->hash >> 16 & 0xff) * 55 / 255;
	svg_puts(s, "<g class=\"f\"><title>");
	svg_text(s, n->name, n->len);
	svg_printf(s, " (%s%s", fmt_count(bv, sizeof(bv), n->total), s->unit ? " " : "");
	if (s->unit)
		svg_text(s, s->unit, strlen(s->unit));
	svg_printf(s, ", %s%%)</title><rect x=\"%s\" y=\"%u\" width=\"%s\" height=\"%u\" "
		   "fill=\"rgb(%u,%u,%u)\" rx=\"2\" ry=\"2\"/><text x=\"%s\" y=\"%u\">",
		   fix2(bp, sizeof(bp), 100.0 * (double)n->total / (double)s->total),
		   fmt2(bx, sizeof(bx), x0), y, fmt2(bw, sizeof(bw), x1 - x0), SVG_FRAME_H - 1, r, g,
		   b, fmt2(bt, sizeof(bt), x0 + 300), y + 11);
	svg_label(s, n, w);
	svg_puts(s, "</text></g>\n");
	return s->err;
}

/* Click a frame: it fills the width, the frames above it follow, the
 * frames under it that hold it span the width, the others hide. Click
 * the background or "reset zoom": back. Written after the frames. */
static const char *const svg_script[] = {
	"(function () {\n",
	"\t\"use strict\";\n",
	"\tvar fr = [], gs = document.querySelectorAll(\"g.f\"), i;\n",
	"\tvar reset = document.getElementById(\"reset\");\n",
	"\tfunction label(f, x, w) {\n",
	"\t\tvar n = Math.floor((w - 6) / CW), s = f.name;\n",
	"\t\tif (n < 3) s = \"\"; else if (s.length > n) s = s.substring(0, n - 2) + \"..\";\n",
	"\t\tf.t.textContent = s;\n",
	"\t\tf.t.setAttribute(\"x\", (x + 3).toFixed(2));\n",
	"\t}\n",
	"\tfunction place(f, x, w) {\n",
	"\t\tf.g.style.display = \"\";\n",
	"\t\tf.r.setAttribute(\"x\", x.toFixed(2));\n",
	"\t\tf.r.setAttribute(\"width\", w.toFixed(2));\n",
	"\t\tlabel(f, x, w);\n",
	"\t}\n",
	"\tfunction zoom(z) {\n",
	"\t\tvar s = (W - 2 * PAD) / z.w, e = 0.01;\n",
	"\t\tfr.forEach(function (f) {\n",
	"\t\t\tvar inside = f.x >= z.x - e && f.x + f.w <= z.x + z.w + e;\n",
	"\t\t\tvar holds = f.x <= z.x + e && f.x + f.w >= z.x + z.w - e;\n",
	"\t\t\tif (f.y > z.y && holds) place(f, PAD, W - 2 * PAD);\n",
	"\t\t\telse if (f.y <= z.y && inside) place(f, PAD + (f.x - z.x) * s, f.w * s);\n",
	"\t\t\telse f.g.style.display = \"none\";\n",
	"\t\t});\n",
	"\t\treset.style.display = \"\";\n",
	"\t}\n",
	"\tfunction unzoom() {\n",
	"\t\tfr.forEach(function (f) { place(f, f.x, f.w); });\n",
	"\t\treset.style.display = \"none\";\n",
	"\t}\n",
	"\tfunction frame(g) {\n",
	"\t\tvar r = g.querySelector(\"rect\"), t = g.querySelector(\"text\");\n",
	"\t\tvar ti = g.querySelector(\"title\").textContent;\n",
	"\t\tvar f = { g: g, r: r, t: t, name: ti.substring(0, ti.lastIndexOf(\" (\")),\n",
	"\t\t\tx: +r.getAttribute(\"x\"), w: +r.getAttribute(\"width\"),\n",
	"\t\t\ty: +r.getAttribute(\"y\") };\n",
	"\t\tg.addEventListener(\"click\", function (ev) { ev.stopPropagation(); zoom(f); });\n",
	"\t\treturn f;\n",
	"\t}\n",
	"\tfor (i = 0; i < gs.length; i++) fr.push(frame(gs[i]));\n",
	"\tdocument.getElementById(\"background\").addEventListener(\"click\", unzoom);\n",
	"\treset.addEventListener(\"click\", unzoom);\n",
	"})();\n",
};

static void svg_head(struct svg *s, unsigned width, const struct flame_svg_opts *o)
{
	const char *title = o && o->title ? o->title : "Flame Graph";
	char bc[32];

	svg_printf(s, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
		   "<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" "
		   "width=\"%u\" height=\"%u\" viewBox=\"0 0 %u %u\">\n",
		   width, s->height, width, s->height);
	svg_puts(s, "<defs><linearGradient id=\"bg\" x1=\"0\" y1=\"0\" x2=\"0\" y2=\"1\">"
		 "<stop stop-color=\"#eeeeee\" offset=\"5%\"/>"
		 "<stop stop-color=\"#eeeeb0\" offset=\"95%\"/></linearGradient></defs>\n"
		 "<style type=\"text/css\">\n"
		 "text { font-family: monospace; font-size: 12px; fill: #000; }\n"
		 "text.head { font-family: Verdana, \"DejaVu Sans\", sans-serif; }\n"
		 "#title { font-size: 17px; }\n"
		 "#subtitle { fill: #555; }\n"
		 "#reset { cursor: pointer; fill: #333; }\n"
		 "g.f { cursor: pointer; }\n"
		 "g.f:hover rect { stroke: #000; stroke-width: 0.5; }\n"
		 "</style>\n");
	svg_printf(s, "<rect id=\"background\" x=\"0\" y=\"0\" width=\"%u\" height=\"%u\" "
		   "fill=\"url(#bg)\"/>\n", width, s->height);
	svg_printf(s, "<text id=\"title\" class=\"head\" x=\"%s\" y=\"24\" text-anchor=\"middle\">",
		   fix2(bc, sizeof(bc), width / 2.0));
	svg_text(s, title, strlen(title));
	svg_puts(s, "</text>\n");
	if (o && o->subtitle) {
		svg_printf(s, "<text id=\"subtitle\" class=\"head\" x=\"%s\" y=\"42\" "
			   "text-anchor=\"middle\">", bc);
		svg_text(s, o->subtitle, strlen(o->subtitle));
		svg_puts(s, "</text>\n");
	}
}

int flame_write_svg(const struct flame *f, const struct flame_svg_opts *o, FILE *out)
{
	struct svg s = { .out = out };
	char bc[32];
	unsigned width = o && o->width ? o->width : SVG_WIDTH;
	unsigned top = o && o->subtitle ? 58 : 38;
	int rc;

	if (!f || !out)
		return EINVAL;
	errno = 0;
	if (width < SVG_MIN_WIDTH)
		width = SVG_MIN_WIDTH;
	s.total = f->root->total;
	s.unit = o && o->unit && o->unit[0] ? o->unit : NULL;
	s.min_width = o && o->min_width > 0 ? o->min_width : SVG_MIN_FRAME;
	if (s.total == 0) {
		s.height = top + 40;
		svg_head(&s, width, o);
		svg_printf(&s, "<text class=\"head\" x=\"%s\" y=\"%u\" text-anchor=\"middle\">"
			   "no samples</text>\n</svg>\n",
			   fix2(bc, sizeof(bc), width / 2.0), top + 16);
		return write_end(out, s.err);
	}
	s.scale = ((double)width - 2 * SVG_XPAD) / (double)s.total;
	s.measure = 1;
	rc = walk(f->root, svg_visit, &s);
	if (rc != 0)
		return rc;
	s.measure = 0;
	s.height = top + (unsigned)(s.maxdepth + 1) * SVG_FRAME_H + SVG_BOTTOM;
	svg_head(&s, width, o);
	svg_puts(&s, "<text id=\"reset\" class=\"head\" x=\"10\" y=\"24\" "
		 "style=\"display:none\">reset zoom</text>\n");
	rc = walk(f->root, svg_visit, &s);
	if (rc == 0)
		rc = s.err;
	if (rc != 0)
		return write_end(out, rc);
	svg_printf(&s, "<script type=\"text/ecmascript\"><![CDATA[\nvar W = %u, PAD = %d, CW = %s;\n",
		   width, (int)SVG_XPAD, fix2(bc, sizeof(bc), SVG_CHAR_W));
	for (size_t k = 0; k < sizeof(svg_script) / sizeof(svg_script[0]); k++)
		svg_puts(&s, svg_script[k]);
	svg_puts(&s, "]]></script>\n</svg>\n");
	return write_end(out, s.err);
}
