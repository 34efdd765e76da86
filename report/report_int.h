/* Shared inside report/ only. */
#ifndef TG_REPORT_INT_H
#define TG_REPORT_INT_H

#include <jansson.h>
#include <stddef.h>

#include "tg_strbuf.h"

/* The PDF renderer (pdf.c): pages laid out with cairo. 0, TG_ENOMEM, or
 * TG_EIO with cairo's message in err. */
int tg_report__render_pdf(const json_t *m, tg_strbuf *out, char *err, size_t errlen);

/* A cell's text as every renderer shows it: strings as they are, integers
 * in decimal, booleans yes/no, null empty. */
void tg_report__cell_text(const json_t *v, tg_strbuf *out);

#endif
