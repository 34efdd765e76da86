/* The site's archive of every residency policy it has enforced, one file a
 * version: DATA/policies/<alg>-<hex>.txt holds the policy text whose version
 * is "<alg>:<hex>". The collector writes a version's text the first time it
 * enforces it; the audit report (the site API and `tollgate audit report`)
 * quotes the texts by version. */
#ifndef TG_POLICY_ARCHIVE_H
#define TG_POLICY_ARCHIVE_H

#include <stddef.h>

/* The most of one text that is read back. */
#define TG_POLICY_ARCHIVE_TEXT_MAX (8u << 20)

/* Calls cb(ctx, version, text, len) for every archived text under data_dir
 * (in directory order), stopping at and returning cb's first nonzero
 * return. A missing archive is empty: 0. */
typedef int (*tg_policy_archive_cb)(void *ctx, const char *version, const char *text,
                                    size_t len);
int tg_policy_archive_each(const char *data_dir, tg_policy_archive_cb cb, void *ctx);

#endif
