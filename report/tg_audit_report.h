/* The audit report (docs/audit.md, "The report"): what left each site,
 * under which policy and on what legal footing, for a period, built from
 * the sites' transparency-log leaves (EgressRecord), the policy's classes
 * and destinations, and the `audit:` section of the configuration.
 *
 * The model is a JSON document (jansson); every renderer (JSON, CSV, HTML,
 * PDF) reads only that document, so the four formats cannot disagree.
 * Every figure names the checkpoint (origin, tree size, root hash) of the
 * log whose leaves it was counted from. Nothing here reads files or the
 * network: callers (cmd/, central/) gather and hand the inputs in. */
#ifndef TG_AUDIT_REPORT_H
#define TG_AUDIT_REPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "tg_strbuf.h"

/* ---- the audit: section of a site's or the centre's configuration ------- */

#define TG_REPORT_CFG_LIST 16

typedef struct tg_report_config {
    char controller[512];     /* audit.controller: name and contact (Art. 30(1)(a)) */
    char representative[512]; /* audit.representative (Art. 27), "" if none */
    char dpo[512];            /* audit.dpo: the data protection officer's contact */
    char purposes[TG_REPORT_CFG_LIST][256]; /* audit.purposes */
    size_t n_purposes;
    char data_subjects[TG_REPORT_CFG_LIST][256]; /* audit.data_subjects */
    size_t n_data_subjects;
    char recipients[TG_REPORT_CFG_LIST]
                   [256]; /* audit.recipients (besides destinations) */
    size_t n_recipients;
    /* audit.transfers: "DESTINATION: safeguard" (Art. 46 SCCs, an adequacy
     * decision, ...), one per destination outside the site's region. */
    char transfers[TG_REPORT_CFG_LIST][512];
    size_t n_transfers;
    char security_measures[TG_REPORT_CFG_LIST][256]; /* audit.security_measures */
    size_t n_security_measures;
} tg_report_config;

void tg_report_config_defaults(tg_report_config *c);

/* Reads the `audit:` mapping of the YAML file `path` (other top-level
 * keys are not looked at; a file without `audit:` leaves the defaults).
 * 0; TG_ECONFIG with "FILE:LINE:COLUMN: audit.key: reason" in err (an
 * unknown key names the closest one); TG_EIO when it cannot be read. */
int tg_report_config_load(const char *path, tg_report_config *c, char *err,
                          size_t errlen);
/* The same from text in memory; `name` stands for the file in messages. */
int tg_report_config_load_buffer(const char *name, const char *buf, size_t len,
                                 tg_report_config *c, char *err, size_t errlen);

/* The key table as Markdown (docs/audit.md's table of keys). */
void tg_report_config_write_reference(FILE *f);

/* ---- inputs ------------------------------------------------------------- */

typedef struct tg_report_site {
    const char *name;
    /* The checkpoint the site's leaves were verified against. */
    const char *origin;
    uint64_t tree_size;
    const char *root; /* base64 of the root hash, as in the checkpoint note */
    int verified;     /* 1: the leaves hash to that root and its signature holds */
    const char *verify_result; /* "intact", or what is wrong (names the entry) */
    const char *witness;       /* the witness's word on it; "" when none asked */
    const char *region;        /* the site policy's region ("EU"), "" unknown */
    const char *country;
} tg_report_site;

typedef struct tg_report_class {
    const char *name, *description, *regulation, *legal_basis;
    uint64_t retention_sec; /* 0: the store's own limits */
} tg_report_class;

typedef struct tg_report_destination {
    const char *name, *country, *region, *purpose;
} tg_report_destination;

typedef struct tg_report tg_report;

/* A report over [from_ns, to_ns) (unix nanoseconds). NULL when out of memory. */
tg_report *tg_report_new(uint64_t from_ns, uint64_t to_ns);
void tg_report_free(tg_report *r);

/* Adds a site; the leaves added after it are that site's. 0 or TG_ENOMEM. */
int tg_report_add_site(tg_report *r, const tg_report_site *s);
/* One leaf of the current site's log: an EgressRecord as stored, the
 * leaves in index order from leaf 0 (a leaf's index is how many came
 * before it; "retention" leaves name theirs in the report). Leaves
 * whose time is outside the period count only for the policy in force at
 * its start. 0, TG_EINVAL (no site yet), TG_EPARSE (not an EgressRecord)
 * or TG_ENOMEM. */
int tg_report_add_leaf(tg_report *r, const uint8_t *leaf, size_t len);
/* The policy's classes and destinations (once, for all sites). */
int tg_report_add_class(tg_report *r, const tg_report_class *c);
int tg_report_add_destination(tg_report *r, const tg_report_destination *d);
/* The text of a policy version ("sha256:..."), for the diff between
 * versions; versions without a text are listed without a diff. */
int tg_report_add_policy_text(tg_report *r, const char *version, const char *text,
                              size_t len);
void tg_report_set_config(tg_report *r, const tg_report_config *c);
/* Time the report is made (unix ns); the current time when not set. */
void tg_report_set_generated(tg_report *r, uint64_t now_ns);

/* The model (a new reference; the caller decrefs): see docs/audit.md for
 * its sections. NULL when out of memory. */
json_t *tg_report_build(tg_report *r);

/* ---- the readable diff --------------------------------------------------- */

/* A line diff of a -> b appended to out: lines kept are prefixed "  ",
 * removed "- ", added "+ "; runs of more than `context` unchanged lines
 * between changes are shown as "  ... (N unchanged lines)". Equal texts
 * give an empty diff. 0 or TG_ENOMEM (also when the texts are too long to
 * compare: more than 20,000 lines each). */
int tg_report_diff(const char *a, size_t alen, const char *b, size_t blen,
                   unsigned context, tg_strbuf *out);

/* ---- renderers ------------------------------------------------------------ */

enum tg_report_format { TG_REPORT_JSON, TG_REPORT_CSV, TG_REPORT_HTML, TG_REPORT_PDF };

/* "json", "csv", "html", "pdf" -> 0 and *f, else TG_EINVAL. */
int tg_report_format_parse(const char *s, enum tg_report_format *f);

/* Renders the model into out. 0, TG_ENOMEM, or TG_EIO (cairo reported an
 * error; its message in err). */
int tg_report_render(const json_t *model, enum tg_report_format f, tg_strbuf *out,
                     char *err, size_t errlen);

/* The sections as (name, columns) in the order every renderer uses; the
 * CSV holds one table per section (docs/audit.md). */
typedef struct tg_report_section {
    const char *key;   /* the model's array: "egress", ... */
    const char *title; /* "Egress by site, destination, class and action" */
    const char *const *columns;
} tg_report_section;

size_t tg_report_n_sections(void);
const tg_report_section *tg_report_section_at(size_t i);

#endif
