/*
 * watch_tty.c - shmstat watch's full-screen view (ncurses).
 *
 *   line 0            segment, time, interval, writers
 *   line 1            sort order, filter, keys; or a note (re-created...)
 *   line 2            column header: NAME VALUE RATE [1m 5m 15m] [TREND]
 *   lines 3..LINES-3  a row a metric or hit ratio; the selected one in
 *                     reverse video
 *   line LINES-3      the selected row's whole name (cut: told apart)
 *   line LINES-2      its type, unit, labels; a histogram's quantiles
 *                     (cut: its labels told apart)
 *   line LINES-1      its help text
 *
 * Columns fit the terminal's width: VALUE and RATE always show; the
 * averages and the sparkline show when the name column keeps NAME_MIN
 * cells (or all it needs) beside them; names longer than their column
 * are cut ('~'), rows whose cuts would be one text cut anew to tell them
 * apart (watch_names()), once for each refresh, filter, sort and width.
 * A new size (SIGWINCH, KEY_RESIZE) redraws at once; keys redraw without
 * a new snapshot, which comes every interval.
 */
#include <curses.h>
#include <term.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmstat.h"
#include "cli.h"
#include "watch.h"

#define NAME_MIN 24             /* cells the name column keeps, at least */
#define TOP 3                   /* lines above the rows */
#define BOTTOM 3                /* lines below them */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct view {
	struct row *rows;          /* the last refresh */
	size_t nr;
	size_t *shown;             /* rows that pass the filter, in order */
	size_t nshown;
	size_t sel, top;           /* selected and first visible, in shown */
	char selname[WATCH_NAME_MAX];      /* kept across refreshes and sorts */
	char title[512];
	char note[512];
	int paused;
	int editing;               /* '/' typed: the filter being written */
	char edit[128];            /* (as watch.filter) */
	char **names;              /* of the shown rows, in names_w cells */
	size_t nnames;             /* (NULL: made again at the next draw) */
	int names_w;
};

/* The widths of the columns; 0: not shown. Shown in this order, chosen
 * by priority: 1m, the sparkline, 5m, 15m. */
struct layout {
	int name, value, rate, avg[WINDOWS], spark, detail;
};

static int imax(int a, int b)
{
	return a > b ? a : b;
}

static int imin(int a, int b)
{
	return a < b ? a : b;
}

static void fit(struct layout *L, const struct view *v, int cols)
{
	int need = 4, used, keep, any_detail = 0;
	int *opt[WINDOWS + 1] = { &L->avg[0], &L->spark, &L->avg[1], &L->avg[2] };
	int want[WINDOWS + 1];

	memset(L, 0, sizeof(*L));
	L->value = 5;
	L->rate = 4;
	for (int j = 0; j < WINDOWS; j++)
		L->avg[j] = (int)strlen(watch_window_name[j]);
	for (size_t k = 0; k < v->nshown; k++) {
		const struct row *r = &v->rows[v->shown[k]];

		need = imax(need, cells(r->name));
		L->value = imax(L->value, cells(r->value));
		L->rate = imax(L->rate, cells(r->rate));
		for (int j = 0; j < WINDOWS; j++)
			L->avg[j] = imax(L->avg[j], cells(r->avg[j]));
		any_detail |= r->detail[0] != '\0';
	}
	L->spark = SPARK;
	/* by priority: the 1m average, the sparkline, 5m, 15m */
	for (int j = 0; j <= WINDOWS; j++) {
		want[j] = *opt[j];
		*opt[j] = 0;
	}
	used = 1 + L->value + 1 + L->rate;
	keep = need < NAME_MIN ? need : NAME_MIN;
	for (int j = 0; j <= WINDOWS; j++)
		if (cols - (used + 1 + want[j]) >= keep) {
			*opt[j] = want[j];
			used += 1 + want[j];
		}
	L->name = cols - used < need ? cols - used : need;
	if (L->name < 4)
		L->name = 4;
	if (any_detail && cols - used - L->name > 12)
		L->detail = cols - used - L->name - 1;
}

/* @name: the row's, cut to L->name (NULL: cut here, alone) */
static void row_line(struct line *l, const struct layout *L, const struct row *r,
		     const char *name, int utf8)
{
	char cut[WATCH_NAME_MAX + 8], sp[SPARK * 4 + 1];

	if (name == NULL) {
		watch_name(cut, sizeof(cut), r, L->name);
		name = cut;
	}
	line_init(l, 0, 1);
	line_cell(l, name, L->name, 0);
	line_cell(l, r->value, L->value, 1);
	line_cell(l, r->rate, L->rate, 1);
	for (int j = 0; j < WINDOWS; j++)
		if (L->avg[j])
			line_cell(l, r->avg[j], L->avg[j], 1);
	if (L->spark) {
		watch_spark(sp, sizeof(sp), r, (unsigned)L->spark, utf8);
		line_cell(l, sp, L->spark, 0);
	}
	if (L->detail)
		line_cell(l, r->detail, L->detail, 0);
}

static void header_line(struct line *l, const struct layout *L)
{
	line_init(l, 0, 1);
	line_cell(l, "NAME", L->name, 0);
	line_cell(l, "VALUE", L->value, 1);
	line_cell(l, "RATE", L->rate, 1);
	for (int j = 0; j < WINDOWS; j++)
		if (L->avg[j])
			line_cell(l, watch_window_name[j], L->avg[j], 1);
	if (L->spark)
		line_cell(l, "TREND", L->spark, 0);
}

/* @s cut to the screen's width less one (the last cell of the last line
 * would scroll) at line @y */
static void put(int y, const char *s, int attr)
{
	char cut[2048];

	cut_cells(cut, sizeof(cut), s, COLS - 1);
	attron(attr);
	mvaddstr(y, 0, cut);
	attroff(attr);
}

/* The names of the shown rows forgotten (new rows, another filter or
 * order): made again at the next draw. */
static void names_drop(struct view *v)
{
	watch_names_free(v->names, v->nnames);
	v->names = NULL;
	v->nnames = 0;
}

/* The selected row: its name and what it is, its labels (each cut,
 * told apart from the shown rows'), its help. */
static void describe(const struct view *v)
{
	const struct row *r = &v->rows[v->shown[v->sel]];
	char a[WATCH_LINE_MAX], name[WATCH_NAME_MAX + 8];

	watch_labels_sel(a, sizeof(a), v->rows, v->shown, v->nshown, v->sel, COLS - 1);
	watch_name_sel(name, sizeof(name), v->rows, v->shown, v->nshown, v->sel, COLS - 1);
	put(LINES - 3, name, A_BOLD);
	put(LINES - 2, a, 0);
	put(LINES - 1, r->help[0] ? r->help : "(no help text)", 0);
}

/* The rows the screen shows at once, at least 1 (a terminal of fewer
 * than TOP + BOTTOM + 1 lines still shows the selected row): what
 * page up and down move by. */
static int page_rows(void)
{
	return LINES - TOP - BOTTOM < 1 ? 1 : LINES - TOP - BOTTOM;
}

static void draw(struct view *v, const struct watch *w)
{
	static const char *const sorts[] = { "name", "rate", "value" };
	int nlines = page_rows();
	struct layout L;
	struct line l;
	char status[400];

	erase();
	put(0, v->title, A_BOLD);
	if (v->note[0]) {
		put(1, v->note, 0);
	} else {
		snprintf(status, sizeof(status), "sort: %s%s%s%s  q quit, p pause, s sort, / filter, "
			 "j/k select", sorts[w->sort], w->filter[0] ? "  filter: " : "", w->filter,
			 v->paused ? "  (paused)" : "");
		put(1, status, 0);
	}
	fit(&L, v, COLS - 1);
	if (v->names != NULL && v->names_w != L.name)
		names_drop(v);
	if (v->names == NULL && v->nshown > 0) {
		v->names = watch_names(v->rows, v->shown, v->nshown, L.name);
		v->nnames = v->names ? v->nshown : 0;
		v->names_w = L.name;
	}
	header_line(&l, &L);
	put(2, line_end(&l), A_REVERSE);
	if (v->sel < v->top)
		v->top = v->sel;
	if (v->sel >= v->top + (size_t)nlines)
		v->top = v->sel - (size_t)nlines + 1;
	for (size_t k = v->top; k < v->nshown && k < v->top + (size_t)nlines; k++) {
		row_line(&l, &L, &v->rows[v->shown[k]], v->names ? v->names[k] : NULL, w->utf8);
		put(TOP + (int)(k - v->top), line_end(&l), k == v->sel ? A_REVERSE : 0);
	}
	if (v->nshown == 0)
		put(TOP, w->filter[0] ? "(no metric matches the filter)" : "(no metrics)", 0);
	else if (LINES > TOP + BOTTOM)
		describe(v);
	if (v->editing) {          /* the prompt on the last line, its cursor */
		char prompt[200];

		snprintf(prompt, sizeof(prompt), "filter (substring, empty for none): %s", v->edit);
		move(LINES - 1, 0);
		clrtoeol();
		put(LINES - 1, prompt, 0);
		move(LINES - 1, imax(0, imin(cells(prompt), COLS - 1)));
	}
	curs_set(v->editing ? 1 : 0);
	refresh();
}

/* The rows that pass the filter; the selection follows its row. */
static void select_rows(struct view *v, const struct watch *w)
{
	names_drop(v);
	v->nshown = 0;
	v->sel = 0;
	for (size_t k = 0; k < v->nr; k++) {
		if (w->filter[0] && !strstr(v->rows[k].name, w->filter))
			continue;
		if (strcmp(v->rows[k].name, v->selname) == 0)
			v->sel = v->nshown;
		v->shown[v->nshown++] = k;
	}
}

static void move_sel(struct view *v, long by)
{
	long s = (long)v->sel + by;

	if (v->nshown == 0)
		return;
	s = s < 0 ? 0 : s >= (long)v->nshown ? (long)v->nshown - 1 : s;
	v->sel = (size_t)s;
	snprintf(v->selname, sizeof(v->selname), "%s", v->rows[v->shown[v->sel]].name);
}

/* A snapshot into the view: new rows, or a note of why there are none. */
static void sample(struct view *v, struct source *src, struct watch *w, double interval)
{
	struct shmstat_seg_info info;
	shmstat_snap *s = watch_take(src, w, v->note, sizeof(v->note));
	char ts[32], every[FIG_LEN];
	size_t *shown;

	if (s == NULL)
		return;
	free(v->rows);
	v->nr = watch_rows(w, s, watch_now(), &v->rows);
	shown = realloc(v->shown, (v->nr ? v->nr : 1) * sizeof(*shown));
	names_drop(v);
	if (shown == NULL) {
		v->nr = 0;
	} else {
		v->shown = shown;
	}
	shmstat_snap_info(s, &info);
	shmstat_snap_free(s);
	watch_stamp(ts, sizeof(ts));
	fmt_fig(every, sizeof(every), interval * 1e9, "ns", 0);
	/* removed: said next to the name, where a narrow terminal keeps it */
	snprintf(v->title, sizeof(v->title), "%s%s  %s  every %s  writers %u alive %u dead",
		 src->name, info.removed ? " (removed: its last values)" : "", ts, every,
		 info.writers_alive, info.writers_dead);
	select_rows(v, w);
	if (v->selname[0] == '\0')
		move_sel(v, 0);
}

/* A key while the filter after '/' is written (a substring to keep rows
 * by, empty: all): Enter applies it, Escape keeps the one before,
 * Backspace takes back a character. The view goes on refreshing, and a
 * new size draws it again, prompt and all (getnstr() blocked the
 * refreshes, and a resize ended it with what was typed so far). */
static void edit_key(struct view *v, struct watch *w, int ch)
{
	size_t n = strlen(v->edit);

	if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		snprintf(w->filter, sizeof(w->filter), "%s", v->edit);
		v->editing = 0;
		select_rows(v, w);
		move_sel(v, 0);
	} else if (ch == 27) {
		v->editing = 0;
	} else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
		while (n > 0 && ((unsigned char)v->edit[n - 1] & 0xc0) == 0x80)
			n--;            /* a UTF-8 character whole */
		if (n > 0)
			n--;
		v->edit[n] = '\0';
	} else if (ch >= ' ' && ch <= 0xff && ch != 0x7f && n + 1 < sizeof(v->edit)) {
		v->edit[n] = (char)ch;
		v->edit[n + 1] = '\0';
	}
}

int watch_tty_usable(char *why, size_t n)
{
	const char *term = getenv("TERM");
	const char *cup;
	int err = 0, ok;

	if (term == NULL || term[0] == '\0') {
		snprintf(why, n, "TERM is not set");
		return 0;
	}
	if (setupterm(NULL, STDOUT_FILENO, &err) != OK) {
		snprintf(why, n, "terminal type '%s' (TERM) is not known", term);
		return 0;
	}
	/* a string capability: NULL when the type lacks it ((char *)-1 is
	 * only for a name that is not a string capability) */
	cup = tigetstr("cup");
	ok = cup != NULL;
	if (!ok)
		snprintf(why, n, "terminal type '%s' (TERM) cannot move the cursor", term);
	(void)del_curterm(cur_term);    /* initscr() sets it up again */
	return ok;
}

int watch_tty(struct source *src, struct watch *w, double interval, long count)
{
	struct view v = { 0 };
	double next = watch_now();
	long taken = 0;
	struct sigaction sa, old_int, old_term;

	/* Ctrl-C and kill end the view as q does: the terminal restored
	 * (no SA_RESTART: getch() returns at once) */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	initscr();
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	while (!stop) {
		double now = watch_now();
		int ch, ms;

		if (now >= next) {
			if (count >= 0 && taken == count)
				break;
			if (!v.paused) {
				sample(&v, src, w, interval);
				taken++;
			}
			next += interval;
			if (next < now)
				next = now + interval;  /* late: no burst to catch up */
			draw(&v, w);
		}
		ms = (int)((next - watch_now()) * 1000) + 1;
		timeout(ms < 0 ? 0 : ms);
		ch = getch();
		if (ch == ERR)
			continue;
		if (v.editing && ch != KEY_RESIZE) {
			edit_key(&v, w, ch);
			draw(&v, w);
			continue;
		}
		if (ch == 'q')
			break;
		switch (ch) {
		case 'p': case ' ':
			v.paused = !v.paused;
			break;
		case 's':
			w->sort = (w->sort + 1) % NSORTS;
			watch_sort(w, v.rows, v.nr);
			select_rows(&v, w);
			break;
		case '/':
			v.editing = 1;
			v.edit[0] = '\0';
			break;
		case 'j': case KEY_DOWN:
			move_sel(&v, 1);
			break;
		case 'k': case KEY_UP:
			move_sel(&v, -1);
			break;
		case KEY_NPAGE:
			move_sel(&v, page_rows());
			break;
		case KEY_PPAGE:
			move_sel(&v, -page_rows());
			break;
		case KEY_HOME: case 'g':
			move_sel(&v, -(long)v.nshown);
			break;
		case KEY_END: case 'G':
			move_sel(&v, (long)v.nshown);
			break;
		default:
			break;          /* KEY_RESIZE: LINES and COLS are new */
		}
		draw(&v, w);
	}
	endwin();
	names_drop(&v);
	free(v.rows);
	free(v.shown);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	return EXIT_OK;
}
