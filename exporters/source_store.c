/* The local store as the forwarder's source, and the one call the
 * collector makes to start forwarding (tg_fwd_glue.h). */
#include "tg_fwd_glue.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_costmodel.h"
#include "tg_err.h"
#include "tg_log.h"
#include "tg_wire.h"

struct tg_fwd_store_source {
    tg_store *st;
    pthread_mutex_t mu;
    double ratio;
    uint64_t ratio_at;
};

/* Summarising straight from the read transaction saves a copy of every
 * record; a map resize in the store waits for the transaction, so calls
 * are kept short (READ_IN_TXN records, a few milliseconds). */
#define READ_IN_TXN 8

static int store_read(void *src, uint64_t after, size_t max, tg_fwd_visit_cb cb,
                      void *ctx)
{
    tg_fwd_store_source *s = src;

    if (max > READ_IN_TXN)
        max = READ_IN_TXN;
    return tg_store_read_after(s->st, after, max, cb, ctx);
}

static uint64_t store_last(void *src)
{
    tg_fwd_store_source *s = src;
    return tg_store_last_seq(s->st);
}

static double store_ratio(void *src)
{
    tg_fwd_store_source *s = src;
    uint64_t now = tg_mono_ns();
    double r;

    pthread_mutex_lock(&s->mu);
    if (!s->ratio_at || now - s->ratio_at > 5000000000ull) {
        tg_store_stats st;
        if (tg_store_get_stats(s->st, &st) == 0 && st.raw_bytes > 0)
            s->ratio = (double)st.record_bytes / (double)st.raw_bytes;
        s->ratio_at = now;
    }
    r = s->ratio;
    pthread_mutex_unlock(&s->mu);
    return r;
}

static int store_range(void *src, uint64_t *oldest, uint64_t *newest)
{
    tg_fwd_store_source *s = src;
    return tg_store_time_range(s->st, oldest, newest);
}

static uint64_t store_items(void *src)
{
    tg_fwd_store_source *s = src;
    tg_store_stats st;
    uint64_t n = 0;

    if (tg_store_get_stats(s->st, &st) != 0)
        return 0;
    for (int i = 0; i < TG_SIGNAL_COUNT; i++)
        n += st.items[i] + st.evicted_items[i];
    return n;
}

tg_fwd_store_source *tg_fwd_store_source_create(tg_store *st)
{
    tg_fwd_store_source *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->st = st;
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

void tg_fwd_store_source_destroy(tg_fwd_store_source *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->mu);
    free(s);
}

tg_fwd_source tg_fwd_store_source_get(tg_fwd_store_source *s)
{
    tg_fwd_source src = {store_read, store_last,  store_ratio,
                         s,          store_range, store_items};
    return src;
}

/* The site's cost model (`cost_model:`, docs/cost.md) is checked where the
 * forwarder's section is, so a bad one stops the collector with its
 * FILE:LINE:COLUMN before anything is priced. */
static int check_cost_model(const char *path, char *err, size_t errlen)
{
    tg_costmodel *m;
    int rc;

    if (!path || !path[0])
        return 0;
    m = malloc(sizeof(*m));
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return TG_ENOMEM;
    }
    rc = tg_costmodel_load(path, "cost_model", m, err, errlen);
    free(m);
    return rc;
}

struct tg_forward_link {
    tg_fwd_store_source *src;
    tg_forwarder *fwd;
};

tg_forward_link *tg_forward_link_start(const tg_forward_link_options *o, char *err,
                                       size_t errlen)
{
    tg_forward_config cfg;
    tg_forwarder_options fo;
    tg_forward_link *l;
    char token[512];
    const char *extra = getenv("TOLLGATE_FORWARD_CONFIG");
    int rc;

    tg_forward_config_defaults(&cfg);
    if (o->config_file && o->config_file[0] &&
        (rc = tg_forward_config_load(o->config_file, "forward", &cfg, err, errlen)))
        return NULL;
    if (extra && extra[0] &&
        (rc = tg_forward_config_load(extra, "forward", &cfg, err, errlen)))
        return NULL;
    if ((rc = check_cost_model(o->config_file, err, errlen)) ||
        (rc = check_cost_model(extra, err, errlen)))
        return NULL;
    if (!o->token_file || !o->token_file[0]) {
        snprintf(err, errlen, "forwarding to %s needs --central-token-file",
                 o->central_url);
        return NULL;
    }
    if ((rc = tg_wire_read_token(o->token_file, token, sizeof(token)))) {
        snprintf(err, errlen, "cannot read a token from %s (%s)", o->token_file,
                 tg_wire_token_why(rc));
        return NULL;
    }
    l = calloc(1, sizeof(*l));
    if (!l || !(l->src = tg_fwd_store_source_create(o->store))) {
        free(l);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    memset(&fo, 0, sizeof(fo));
    fo.site = o->site;
    fo.data_dir = o->data_dir;
    fo.central_url = o->central_url;
    fo.token = token;
    fo.software_version = o->software_version;
    fo.source = tg_fwd_store_source_get(l->src);
    /* The residency policy's view unless the site chose the built-in
     * allow-list view (`forward.view: builtin`). */
    fo.view = cfg.view_builtin ? NULL : o->view;
    fo.view_ctx = cfg.view_builtin ? NULL : o->view_ctx;
    fo.cfg = &cfg;
    l->fwd = tg_forwarder_start(&fo, &rc, err, errlen);
    memset(token, 0, sizeof(token));
    if (!l->fwd) {
        tg_fwd_store_source_destroy(l->src);
        free(l);
        return NULL;
    }
    return l;
}

tg_forwarder *tg_forward_link_forwarder(tg_forward_link *l)
{
    return l ? l->fwd : NULL;
}

void tg_forward_link_kick(tg_forward_link *l)
{
    if (l)
        tg_forwarder_kick(l->fwd);
}

void tg_forward_link_stop(tg_forward_link *l)
{
    if (!l)
        return;
    tg_forwarder_stop(l->fwd);
    tg_fwd_store_source_destroy(l->src);
    free(l);
}
