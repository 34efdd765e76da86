/* The report as a PDF, laid out in-process with cairo: A4 landscape
 * pages, a heading per section and its table, cells wrapped to their
 * column, a table's header repeated on each page it continues on, and a
 * page footer with the period and page number. */
#include <cairo-pdf.h>
#include <cairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_int.h"
#include "tg_err.h"
#include "tg_audit_report.h"

#define PAGE_W 842.0 /* A4 landscape, points */
#define PAGE_H 595.0
#define MARGIN 36.0
#define FONT 6.5
#define LINE (FONT * 1.3)
#define PAD 2.5
#define MAX_COLS 16
#define MAX_CELL_LINES 40 /* a row always fits on a page */
#define MIN_COL 28.0
#define MAX_COL 260.0

typedef struct pdf {
    cairo_surface_t *surface;
    cairo_t *cr;
    double y;
    int page;
    char footer[160];
} pdf;

static cairo_status_t write_out(void *closure, const unsigned char *data,
                                unsigned int len)
{
    tg_strbuf *out = closure;

    tg_strbuf_put(out, (const char *)data, len);
    return out->oom ? CAIRO_STATUS_NO_MEMORY : CAIRO_STATUS_SUCCESS;
}

static void font(pdf *p, int bold, double size)
{
    cairo_select_font_face(p->cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(p->cr, size);
}

static double text_w(pdf *p, const char *s)
{
    cairo_text_extents_t e;

    cairo_text_extents(p->cr, s, &e);
    return e.x_advance;
}

static void text_at(pdf *p, double x, double y, const char *s)
{
    cairo_move_to(p->cr, x, y);
    cairo_show_text(p->cr, s);
}

static void footer(pdf *p)
{
    char s[220];

    font(p, 0, 7);
    cairo_set_source_rgb(p->cr, 0.35, 0.35, 0.35);
    snprintf(s, sizeof(s), "%s  -  page %d", p->footer, p->page);
    text_at(p, MARGIN, PAGE_H - MARGIN / 2, s);
    cairo_set_source_rgb(p->cr, 0, 0, 0);
}

static void new_page(pdf *p)
{
    if (p->page > 0) {
        footer(p);
        cairo_show_page(p->cr);
    }
    p->page++;
    p->y = MARGIN;
}

/* Length of the UTF-8 character starting at s (1 for a stray byte). */
static size_t u8len(const char *s)
{
    unsigned char c = (unsigned char)*s;
    size_t n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

    for (size_t i = 1; i < n; i++)
        if (!s[i])
            return i;
    return n;
}

/* Wraps s into lines no wider than w: at spaces when a word fits, else
 * between characters; '\n' breaks. Writes at most max lines (each a
 * malloc'd string) into lines; the last says "..." when more were cut. */
static size_t wrap(pdf *p, const char *s, double w, char **lines, size_t max)
{
    size_t n = 0;
    char buf[4096];

    while (*s && n < max) {
        size_t len = 0, last_space = 0, i = 0;
        while (s[i] && s[i] != '\n') {
            size_t cl = u8len(s + i);
            if (i + cl >= sizeof(buf))
                break;
            memcpy(buf, s, i + cl);
            buf[i + cl] = '\0';
            if (text_w(p, buf) > w && i > 0)
                break;
            if (s[i] == ' ')
                last_space = i;
            i += cl;
        }
        len = i;
        if (s[i] && s[i] != '\n' && last_space > 0)
            len = last_space;
        if (n + 1 == max && s[len]) {
            lines[n++] = strdup("...");
            break;
        }
        lines[n] = strndup(s, len);
        if (!lines[n])
            break;
        n++;
        s += len;
        if (*s == '\n' || *s == ' ')
            s++;
    }
    return n;
}

static void free_lines(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(l[i]);
}

static char *cell(const json_t *row, const char *col)
{
    tg_strbuf t = {0};

    tg_report__cell_text(json_object_get(row, col), &t);
    if (!t.p)
        return strdup("");
    return t.p;
}

/* Column widths: each column's widest text (capped), scaled to the page. */
static void widths(pdf *p, const tg_report_section *sec, const json_t *rows, double *w,
                   size_t nc)
{
    double total = 0, excess = 0, avail = PAGE_W - 2 * MARGIN, floor_w[MAX_COLS];
    const json_t *row;
    size_t i;

    /* Each column wants its widest cell (capped); it keeps at least its
     * header's width (or MIN_COL), and only what it wants beyond that is
     * given up, in proportion, when the table is wider than the page. */
    font(p, 1, FONT);
    for (size_t c = 0; c < nc; c++) {
        w[c] = text_w(p, sec->columns[c]) + 2 * PAD;
        floor_w[c] = w[c] < MIN_COL ? MIN_COL : w[c] > 2 * MIN_COL ? 2 * MIN_COL : w[c];
    }
    font(p, 0, FONT);
    json_array_foreach(rows, i, row)
    {
        for (size_t c = 0; c < nc; c++) {
            char *s = cell(row, sec->columns[c]);
            double tw = s ? text_w(p, s) + 2 * PAD : 0;
            if (tw > w[c])
                w[c] = tw > MAX_COL ? MAX_COL : tw;
            free(s);
        }
    }
    for (size_t c = 0; c < nc; c++) {
        if (w[c] < floor_w[c])
            w[c] = floor_w[c];
        total += w[c];
        excess += w[c] - floor_w[c];
    }
    if (total > avail && excess > 0) {
        double give = total - avail > excess ? excess : total - avail;
        for (size_t c = 0; c < nc; c++)
            w[c] -= (w[c] - floor_w[c]) * give / excess;
        total -= give;
    }
    if (total > avail)
        for (size_t c = 0; c < nc; c++)
            w[c] = w[c] * avail / total;
}

/* One row of cells at p->y; header rows are bold on grey. */
static void draw_row(pdf *p, char *const *texts, const double *w, size_t nc, int header)
{
    char *lines[MAX_COLS][MAX_CELL_LINES];
    size_t nl[MAX_COLS], most = 1;
    double x = MARGIN, h;

    font(p, header, FONT);
    for (size_t c = 0; c < nc; c++) {
        nl[c] = wrap(p, texts[c], w[c] - 2 * PAD, lines[c], MAX_CELL_LINES);
        if (nl[c] > most)
            most = nl[c];
    }
    h = most * LINE + 2 * PAD;
    if (p->y + h > PAGE_H - MARGIN) {
        for (size_t c = 0; c < nc; c++)
            free_lines(lines[c], nl[c]);
        new_page(p);
        draw_row(p, texts, w, nc, header);
        return;
    }
    for (size_t c = 0; c < nc; c++) {
        if (header) {
            cairo_set_source_rgb(p->cr, 0.9, 0.9, 0.9);
            cairo_rectangle(p->cr, x, p->y, w[c], h);
            cairo_fill(p->cr);
        }
        cairo_set_source_rgb(p->cr, 0.6, 0.6, 0.6);
        cairo_set_line_width(p->cr, 0.4);
        cairo_rectangle(p->cr, x, p->y, w[c], h);
        cairo_stroke(p->cr);
        cairo_set_source_rgb(p->cr, 0, 0, 0);
        for (size_t l = 0; l < nl[c]; l++)
            text_at(p, x + PAD, p->y + PAD + (l + 1) * LINE - LINE * 0.25, lines[c][l]);
        free_lines(lines[c], nl[c]);
        x += w[c];
    }
    p->y += h;
}

static void section(pdf *p, const tg_report_section *sec, const json_t *rows)
{
    char *head[MAX_COLS], *texts[MAX_COLS];
    double w[MAX_COLS];
    size_t nc = 0, i;
    const json_t *row;

    while (sec->columns[nc] && nc < MAX_COLS)
        nc++;
    if (p->y + 60 > PAGE_H - MARGIN)
        new_page(p);
    p->y += 14;
    font(p, 1, 11);
    text_at(p, MARGIN, p->y, sec->title);
    p->y += 8;
    if (json_array_size(rows) == 0) {
        font(p, 0, 8);
        p->y += 10;
        text_at(p, MARGIN, p->y, "None in this period.");
        p->y += 6;
        return;
    }
    widths(p, sec, rows, w, nc);
    for (size_t c = 0; c < nc; c++)
        head[c] = (char *)sec->columns[c];
    draw_row(p, head, w, nc, 1);
    json_array_foreach(rows, i, row)
    {
        for (size_t c = 0; c < nc; c++)
            texts[c] = cell(row, sec->columns[c]);
        /* A row that starts a new page is drawn after the header again. */
        if (p->y + LINE * 3 > PAGE_H - MARGIN) {
            new_page(p);
            draw_row(p, head, w, nc, 1);
        }
        draw_row(p, texts, w, nc, 0);
        for (size_t c = 0; c < nc; c++)
            free(texts[c]);
    }
}

int tg_report__render_pdf(const json_t *m, tg_strbuf *out, char *err, size_t errlen)
{
    const json_t *meta = json_object_get(m, "report");
    const char *from = json_string_value(json_object_get(meta, "from"));
    const char *to = json_string_value(json_object_get(meta, "to"));
    const char *gen = json_string_value(json_object_get(meta, "generated"));
    cairo_status_t st;
    pdf p = {0};
    char line[300];

    p.surface = cairo_pdf_surface_create_for_stream(write_out, out, PAGE_W, PAGE_H);
    p.cr = cairo_create(p.surface);
    cairo_pdf_surface_set_metadata(p.surface, CAIRO_PDF_METADATA_TITLE,
                                   "tollgate audit report");
    cairo_pdf_surface_set_metadata(p.surface, CAIRO_PDF_METADATA_CREATOR, "tollgate");
    snprintf(p.footer, sizeof(p.footer), "tollgate audit report %s to %s",
             from ? from : "", to ? to : "");
    new_page(&p);
    font(&p, 1, 16);
    p.y += 10;
    text_at(&p, MARGIN, p.y, "tollgate audit report");
    font(&p, 0, 9);
    p.y += 16;
    snprintf(line, sizeof(line), "Period %s to %s (end exclusive, UTC). Generated %s.",
             from ? from : "", to ? to : "", gen ? gen : "");
    text_at(&p, MARGIN, p.y, line);
    p.y += 12;
    text_at(
        &p, MARGIN, p.y,
        "Every figure names the signed checkpoint (origin, tree size, root hash) of the "
        "transparency log it was counted from.");
    p.y += 6;
    for (size_t s = 0; s < tg_report_n_sections(); s++) {
        const tg_report_section *sec = tg_report_section_at(s);
        section(&p, sec, json_object_get(m, sec->key));
    }
    footer(&p);
    cairo_show_page(p.cr);
    st = cairo_status(p.cr);
    cairo_destroy(p.cr);
    cairo_surface_finish(p.surface);
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_status(p.surface);
    cairo_surface_destroy(p.surface);
    if (st != CAIRO_STATUS_SUCCESS) {
        snprintf(err, errlen, "cairo: %s", cairo_status_to_string(st));
        return st == CAIRO_STATUS_NO_MEMORY ? TG_ENOMEM : TG_EIO;
    }
    return out->oom ? TG_ENOMEM : 0;
}
