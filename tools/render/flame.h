/*
 * flame.h - stacks merged into a tree; folded text and flame-graph SVG.
 *
 * A struct flame is a tree of frames under an unnamed root: each stack
 * added walks down from the root, one node per frame, creating the nodes
 * it does not find, and adds its value to the total of every node on its
 * way and to the self value of the node it ends at. Equal stacks end at
 * the same node, so they merge; a stack that is a prefix of another ends
 * at an inner node. The tree is written out as folded stacks (one line
 * per stack that has a value of its own) or as a flame graph in SVG.
 *
 * Frame names are cleaned when they are added: ';' becomes ':' (the
 * folded format's separator), control characters (C0, DEL, C1) and bytes
 * that are not well-formed UTF-8 become '?', so that every line of the
 * folded text parses and the SVG is well-formed XML.
 */
#ifndef SHMSTAT_FLAME_H
#define SHMSTAT_FLAME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Most frames in one stack. */
#define FLAME_MAX_DEPTH 256u

struct flame;

/**
 * flame_new - an empty tree.
 *
 * Return the tree, or NULL when out of memory.
 */
struct flame *flame_new(void);

/**
 * flame_free - free @f and everything in it. @f may be NULL.
 */
void flame_free(struct flame *f);

/**
 * flame_add - add one stack with value @v.
 * @frames: the frame names, outermost first (@frames[0] is the root of
 *          the stack, e.g. "main"); copied (cleaned, see above)
 * @n: number of frames, 0..FLAME_MAX_DEPTH; a stack of 0 frames counts in
 *     flame_total() and the SVG's "all" bar, but has no folded line
 * @v: samples, or nanoseconds
 *
 * Values of equal stacks add up, saturating at UINT64_MAX. On failure the
 * values in the tree are unchanged.
 * Return 0, ENOMEM, or EINVAL (@f NULL, @n > FLAME_MAX_DEPTH, @frames or
 * one of its names NULL).
 */
int flame_add(struct flame *f, const char *const *frames, size_t n, uint64_t v);

/**
 * flame_total - the sum of the values of all stacks added (saturated);
 * 0 for NULL.
 */
uint64_t flame_total(const struct flame *f);

/**
 * flame_write_folded - write the tree as folded stacks to @out.
 *
 * One line "root;child;leaf VALUE\n" per distinct stack whose own value
 * is not 0 (the format flamegraph.pl, inferno and speedscope read). A node
 * reached only as a prefix of longer stacks has no line of its own. The
 * order is deterministic: depth first, a stack before the longer ones it
 * is a prefix of, siblings sorted by name (bytes, strcmp).
 * Return 0, EINVAL (@f or @out NULL), ENOMEM, or the errno of the failed
 * write (EIO when the stream does not say).
 */
int flame_write_folded(const struct flame *f, FILE *out);

struct flame_svg_opts {
	const char *title;     /* e.g. "shmstat flame cachesim"; NULL: "Flame Graph" */
	const char *subtitle;  /* e.g. "cpu samples, 3 processes" or NULL */
	const char *unit;      /* "samples" or "ns": shown in hover titles; NULL: none */
	unsigned width;        /* image width in px (at least 100), 0: 1200 */
	double min_width;      /* px: narrower frames are not drawn, 0 (or less): 0.1 */
};

/**
 * flame_write_svg - write the tree as a flame graph to @out.
 * @o: options; NULL for all defaults
 *
 * A self-contained SVG 1.1 document (no external resource): the root
 * ("all") at the bottom, each frame above its caller, widths proportional
 * to the values, siblings sorted by name. One <g> per frame with a
 * <title> "NAME (VALUE UNIT, P.PP%)" (the hover tooltip), a <rect>, and
 * the name as <text>, cut to fit with ".." when the box is narrow. Colors
 * come from a warm palette by a hash of the name. An inline script adds
 * click-to-zoom (click the background to reset); the picture does not
 * need it. Every name and the titles are XML-escaped. An empty tree gives
 * a valid SVG that says "no samples".
 * Return 0, EINVAL (@f or @out NULL), ENOMEM, or the errno of the failed
 * write (EIO when the stream does not say).
 */
int flame_write_svg(const struct flame *f, const struct flame_svg_opts *o, FILE *out);

#endif
