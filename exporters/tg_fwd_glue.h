/* What the site collector calls to forward to the central view: the whole
 * integration surface is start, kick (optional, after a commit), the
 * forwarder's figures for /metrics and /api/v1/status, and stop.
 *
 *   link = tg_forward_link_start(&opts, err, sizeof err);   after the store opens
 *   tg_forward_link_kick(link);                           after each commit (optional)
 *   tg_forwarder_render_metrics(tg_forward_link_forwarder(link), &len);
 *   tg_forward_link_stop(link);                           before the store closes
 *
 * Settings: the `forward:` section of the collector's config file, then
 * that of the file named by $TOLLGATE_FORWARD_CONFIG if set (the tests use
 * it); docs/central.md lists the keys. */
#ifndef TG_FWD_GLUE_H
#define TG_FWD_GLUE_H

#include "store.h"
#include "tg_forward.h"

typedef struct tg_fwd_store_source tg_fwd_store_source;

/* The store as a tg_fwd_source (for tests and benchmarks too). */
tg_fwd_store_source *tg_fwd_store_source_create(tg_store *st);
void tg_fwd_store_source_destroy(tg_fwd_store_source *s);
tg_fwd_source tg_fwd_store_source_get(tg_fwd_store_source *s);

typedef struct tg_forward_link tg_forward_link;

typedef struct tg_forward_link_options {
    tg_store *store;
    const char *site;
    const char *data_dir;
    const char *central_url;      /* --central */
    const char *token_file;       /* --central-token-file */
    const char *config_file;      /* --config, or NULL */
    const char *software_version; /* TG_VERSION */
    const tg_view_desc *view;     /* NULL: the built-in fail-closed view */
    void *view_ctx;
} tg_forward_link_options;

/* NULL with a message in err (bad settings, unreadable token, outbox). */
tg_forward_link *tg_forward_link_start(const tg_forward_link_options *o, char *err,
                                       size_t errlen);
tg_forwarder *tg_forward_link_forwarder(tg_forward_link *l);
void tg_forward_link_kick(tg_forward_link *l);
void tg_forward_link_stop(tg_forward_link *l);

#endif
