/* The central view's registry of sites (PRODUCT.md's `--sites FILE`):
 *
 *   sites:
 *     - name: fra
 *       token_file: fra.token          # relative to this file's directory
 *       api: "http://127.0.0.1:9470"   # where the site's query API answers
 *       client_cert_cn: fra.sites.example  # optional: with mutual TLS, the
 *                                          # certificate this site must present
 *       audit_key: "tollgate.site/fra+1a2b3c4d+AT..."  # optional: the site's log
 *                                          # vkey the witness pins (docs/audit.md)
 *
 * A site authenticates with its token (compared in constant time) and, when
 * the centre requires client certificates, with a certificate whose common
 * name matches. Reloaded on SIGHUP. */
#ifndef TG_SITES_H
#define TG_SITES_H

#include <stddef.h>

typedef struct tg_site_entry {
    char name[64];
    char token[512];
    char api[256];
    char client_cert_cn[256];
    /* the site's log key (a vkey), pinned for the witness (witness.h);
     * "": trust the first key the site presents */
    char audit_key[512];
    /* cost reports (docs/cost.md): the site's cost model (cost_model:,
     * owned, freed with the registry; NULL: the site is not in reports)
     * and how FOCUS names it */
    struct tg_costmodel *cost;
    char jurisdiction[16]; /* x_Jurisdiction */
    char provider[64];     /* ServiceProviderName / HostProviderName */
    char region[64];       /* RegionId; a cloud site's price-sheet region */
} tg_site_entry;

typedef struct tg_sites {
    tg_site_entry *v;
    size_t n;
} tg_sites;

/* Loads `path`. Errors name file:line:column; a missing token file is an
 * error at the line that names it. */
int tg_sites_load(const char *path, tg_sites *out, char *err, size_t errlen);
void tg_sites_free(tg_sites *s);

const tg_site_entry *tg_sites_find(const tg_sites *s, const char *name);

/* 1 if `token` is the site's token (constant time in the token length). */
int tg_sites_token_ok(const tg_site_entry *e, const char *token, size_t len);

/* 1 if `name` is a valid site name: 1-63 of [A-Za-z0-9._-]. */
int tg_site_name_ok(const char *name, size_t len);

#endif
