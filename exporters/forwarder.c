/* The forwarder's life cycle and its worker thread (tg_forward.h); the
 * sender thread is in sender.c. */
#include "fwd_internal.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tg_codec.h"
#include "tg_err.h"
#include "tg_strbuf.h"
#include "tg_log.h"
#include "tg_time.h"
#include "tg_wire.h"

#define READ_CHUNK 64
#define IDLE_POLL_MS 250

typedef struct worker_state {
    tg_forwarder *f;
    tg_arena arena;
    tg_egress_tally tally; /* this period's */
    double ratio;
    uint64_t durable_cursor;
    int got;
    int full;
} worker_state;

static int on_record(void *ctx, const tg_fwd_record *r)
{
    worker_state *w = ctx;
    tg_forwarder *f = w->f;
    uint64_t seq = r->seq;
    enum tg_signal sig = r->signal;
    const uint8_t *data = r->data;
    size_t len = r->len;
    const ProtobufCMessageDescriptor *d = tg_otlp_request_descriptor(sig);
    ProtobufCMessage *msg, *out = NULL;
    tg_summary_counts c;
    uint64_t now = tg_fwd_now_ns();
    size_t mem_sum;
    int rc;

    w->got++;
    if (seq <= f->mem_cursor)
        return 0; /* a source that repeats itself */
    pthread_mutex_lock(&f->mu);
    if (seq > f->mem_cursor + 1 && f->mem_cursor != 0)
        f->requests_skipped += seq - f->mem_cursor - 1; /* evicted before forwarded */
    pthread_mutex_unlock(&f->mu);
    tg_arena_reset(&w->arena);
    msg = d ? protobuf_c_message_unpack(d, &w->arena.pb, len, data) : NULL;
    if (!msg) {
        pthread_mutex_lock(&f->mu);
        f->decode_failures++;
        f->mem_cursor = seq;
        pthread_mutex_unlock(&f->mu);
        return 0;
    }
    rc = f->view->apply(f->view_ctx, sig, msg, r->cls, r->cls_len, &w->arena, &out,
                        &w->tally);
    if (rc || !out) {
        /* Fail closed: nothing of this request leaves. */
        pthread_mutex_lock(&f->mu);
        f->view_failures++;
        f->mem_cursor = seq;
        pthread_mutex_unlock(&f->mu);
        return 0;
    }
    rc = tg_summarizer_add(f->sum, sig, msg, out, len, (uint64_t)((double)len * w->ratio),
                           now);
    if (rc) {
        /* Out of memory: drop the period and summarise it again from the
         * durable cursor. */
        tg_error("summariser out of memory", "records=%zu", (size_t)0);
        tg_summarizer_clear(f->sum);
        tg_egress_tally_reset(&w->tally);
        pthread_mutex_lock(&f->mu);
        f->mem_cursor = w->durable_cursor;
        pthread_mutex_unlock(&f->mu);
        return 1;
    }
    mem_sum = tg_summarizer_memory(f->sum);
    pthread_mutex_lock(&f->mu);
    f->mem_cursor = seq;
    f->requests_read++;
    if (w->arena.used_total > f->mem_decode_peak)
        f->mem_decode_peak = w->arena.used_total;
    if (mem_sum > f->mem_summary_peak)
        f->mem_summary_peak = mem_sum;
    pthread_mutex_unlock(&f->mu);
    tg_summarizer_counts(f->sum, &c);
    if (c.spans >= f->cfg.max_batch_spans || c.records >= 4 * f->cfg.max_batch_spans) {
        w->full = 1;
        return 1;
    }
    return 0;
}

/* Bytes per second of the forwarder's clock (tg_fwd_mono_ns: faster than
 * real time under the test clock), sampled once a real second so batches
 * flushed every so often do not read as bursts and silences. */
static void update_fill_rate(tg_forwarder *f, uint64_t real)
{
    tg_outbox_stats os;
    uint64_t mono = tg_fwd_mono_ns();
    double dt, inst;

    tg_outbox_get_stats(f->outbox, &os);
    pthread_mutex_lock(&f->mu);
    if (!f->fill_last_ns) {
        f->fill_last_ns = mono;
        f->fill_last_real_ns = real;
        f->fill_last_bytes = os.bytes;
    } else if (real - f->fill_last_real_ns >= 1000000000ull && mono > f->fill_last_ns) {
        f->fill_last_real_ns = real;
        dt = (double)(mono - f->fill_last_ns) / 1e9;
        inst = ((double)os.bytes - (double)f->fill_last_bytes) / dt;
        f->fill_rate = 0.7 * f->fill_rate + 0.3 * inst;
        f->fill_last_ns = mono;
        f->fill_last_bytes = os.bytes;
    }
    pthread_mutex_unlock(&f->mu);
}

/* Builds the period's batch, appends it with the cursor, clears. */
static void flush(worker_state *w)
{
    tg_forwarder *f = w->f;
    tg_summary_counts c;
    Tollgate__V1__Batch b = TOLLGATE__V1__BATCH__INIT;
    Tollgate__V1__ShedNotice notice, *np = &notice;
    tg_outbox_append a;
    uint8_t *blob = NULL;
    size_t len = 0, raw = 0;
    uint64_t now = tg_fwd_now_ns(), cursor;
    int carried = 0, rc;

    pthread_mutex_lock(&f->mu);
    cursor = f->mem_cursor;
    pthread_mutex_unlock(&f->mu);
    tg_summarizer_counts(f->sum, &c);
    memset(&a, 0, sizeof(a));
    a.cursor = cursor;
    a.now_ns = now;
    carried = tg_outbox_pending_shed(f->outbox, &notice);
    if (c.records > 0 || carried) {
        const char *pv = f->view->policy_version(f->view_ctx);
        b.site = f->site;
        b.sequence = tg_outbox_next_seq(f->outbox);
        b.source_cursor = cursor;
        b.policy_version = (char *)(pv ? pv : "");
        rc = tg_summarizer_build(f->sum, &b, now);
        if (carried) {
            b.sheds = &np;
            b.n_sheds = 1;
        }
        if (rc == 0)
            rc = tg_wire_pack_batch(&b, 2, f->cfg.zstd_level, &blob, &len, &raw);
        if (rc) {
            tg_error("batch encoding failed", "err=%s", tg_err_name(rc));
            goto reread;
        }
        a.seq = b.sequence;
        a.blob = blob;
        a.len = len;
        a.raw_bytes = raw;
        a.records = c.records;
        a.spans = c.spans;
        a.window_start = c.t_min;
        a.window_end = c.t_max;
        a.tally = &w->tally;
        a.policy_version = b.policy_version;
        a.carried_shed = carried;
        pthread_mutex_lock(&f->mu);
        snprintf(f->policy_version_now, sizeof(f->policy_version_now), "%s",
                 b.policy_version);
        pthread_mutex_unlock(&f->mu);
    }
    rc = tg_outbox_put(f->outbox, &a);
    pthread_mutex_lock(&f->mu);
    f->outbox_put_failed = rc != 0;
    if (rc)
        snprintf(f->outbox_why, sizeof(f->outbox_why),
                 "the outbox cannot append a batch: %s", tg_strerror(rc));
    pthread_mutex_unlock(&f->mu);
    if (rc)
        goto reread;
    w->durable_cursor = cursor;
    if (blob) {
        tg_summarizer_account_forwarded(f->sum, len, now);
        pthread_mutex_lock(&f->mu);
        f->n_spans += c.spans;
        f->names_raw += c.names_raw;
        f->names_sent += c.names_sent;
        f->n_red += c.red;
        f->n_logs += c.logs;
        f->n_metrics += c.metrics;
        f->n_costs += c.costs;
        f->batches_appended++;
        tg_egress_tally_merge(&f->tally_total, &w->tally);
        f->send_kicked = 1;
        pthread_cond_signal(&f->send_cv);
        pthread_mutex_unlock(&f->mu);
    }
    free(blob);
    tg_summarizer_clear(f->sum);
    tg_egress_tally_reset(&w->tally);
    return;
reread:
    /* Nothing of this period is durable: summarise it again later. */
    free(blob);
    tg_summarizer_clear(f->sum);
    tg_egress_tally_reset(&w->tally);
    pthread_mutex_lock(&f->mu);
    f->mem_cursor = w->durable_cursor;
    pthread_mutex_unlock(&f->mu);
}

static void *worker_main(void *arg)
{
    worker_state w;
    tg_forwarder *f = arg;
    uint64_t last_flush = tg_mono_ns();
    uint64_t interval = f->cfg.flush_interval_ms * 1000000ull;

    memset(&w, 0, sizeof(w));
    w.f = f;
    tg_arena_init(&w.arena, 256 * 1024, (size_t)1 << 30);
    pthread_mutex_lock(&f->mu);
    while (f->resume_pending && !f->stop)
        pthread_cond_wait(&f->work_cv, &f->mu);
    w.durable_cursor = f->mem_cursor; /* the outbox's, or where the centre resumed us */
    if (f->resume_pending) {
        /* stopped before the centre answered: nothing was summarised */
        pthread_mutex_unlock(&f->mu);
        tg_arena_destroy(&w.arena);
        return NULL;
    }
    pthread_mutex_unlock(&f->mu);
    for (;;) {
        tg_summary_counts c;
        uint64_t mono, after, last;
        int stop, rc, due;

        pthread_mutex_lock(&f->mu);
        stop = f->stop;
        after = f->mem_cursor;
        f->work_kicked = 0;
        pthread_mutex_unlock(&f->mu);

        w.got = 0;
        w.full = 0;
        w.ratio = f->src.stored_ratio ? f->src.stored_ratio(f->src.ctx) : 0;
        rc = f->src.read_after(f->src.ctx, after, READ_CHUNK, on_record, &w);
        if (rc < 0)
            tg_warn("forwarder source read failed", "err=%s", tg_err_name(rc));
        last = f->src.last_seq ? f->src.last_seq(f->src.ctx) : 0;
        pthread_mutex_lock(&f->mu);
        f->source_last = last;
        pthread_mutex_unlock(&f->mu);

        mono = tg_mono_ns();
        tg_summarizer_counts(f->sum, &c);
        due = w.full || (mono - last_flush >= interval &&
                         (c.records > 0 || f->mem_cursor > w.durable_cursor));
        if (due || (stop && (c.records > 0 || f->mem_cursor > w.durable_cursor))) {
            flush(&w);
            last_flush = mono;
        }
        update_fill_rate(f, mono);
        if (stop)
            break;
        if (w.got == 0 || rc < 0) {
            struct timespec ts;
            uint64_t wait_ms = IDLE_POLL_MS;
            if (c.records > 0) {
                uint64_t left =
                    last_flush + interval > mono ? last_flush + interval - mono : 0;
                if (left / 1000000 < wait_ms)
                    wait_ms = left / 1000000 + 1;
            }
            tg_wall_deadline(&ts, wait_ms);
            pthread_mutex_lock(&f->mu);
            while (!f->stop && !f->work_kicked) {
                if (pthread_cond_timedwait(&f->work_cv, &f->mu, &ts) == ETIMEDOUT)
                    break;
            }
            pthread_mutex_unlock(&f->mu);
        }
    }
    tg_arena_destroy(&w.arena);
    return NULL;
}

/* ---- life cycle -------------------------------------------------------- */

static int64_t cert_not_after(const char *path)
{
    FILE *fp = fopen(path, "r");
    X509 *x;
    struct tm tm;
    int64_t t = 0;

    if (!fp)
        return 0;
    x = PEM_read_X509(fp, NULL, NULL, NULL);
    fclose(fp);
    if (!x)
        return 0;
    if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
        t = (int64_t)timegm(&tm);
    X509_free(x);
    return t;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

tg_forwarder *tg_forwarder_start(const tg_forwarder_options *opt, int *err, char *errmsg,
                                 size_t errlen)
{
    tg_forwarder *f;
    tg_outbox_options oo;
    char dir[1200];
    size_t ul;
    uint64_t start_cursor; /* once the worker runs, f->mem_cursor is under f->mu */
    int rc;

    *err = 0;
    pthread_once(&curl_once, curl_init_once);
    if (!opt->site || !opt->site[0] || !opt->data_dir || !opt->central_url ||
        !opt->central_url[0] || !opt->source.read_after) {
        snprintf(errmsg, errlen,
                 "forwarder needs a site name, a data directory, a central "
                 "URL and a source");
        *err = TG_EINVAL;
        return NULL;
    }
    if (strncmp(opt->central_url, "http://", 7) != 0 &&
        strncmp(opt->central_url, "https://", 8) != 0) {
        snprintf(errmsg, errlen, "central URL must start with http:// or https://");
        *err = TG_EINVAL;
        return NULL;
    }
    f = calloc(1, sizeof(*f));
    if (!f) {
        *err = TG_ENOMEM;
        snprintf(errmsg, errlen, "out of memory");
        return NULL;
    }
    if (opt->cfg)
        f->cfg = *opt->cfg;
    else
        tg_forward_config_defaults(&f->cfg);
    snprintf(f->site, sizeof(f->site), "%s", opt->site);
    snprintf(f->url, sizeof(f->url), "%s", opt->central_url);
    ul = strlen(f->url);
    while (ul > 0 && f->url[ul - 1] == '/')
        f->url[--ul] = '\0';
    snprintf(f->upload_url, sizeof(f->upload_url), "%s/v1/upload", f->url);
    snprintf(f->token, sizeof(f->token), "%s", opt->token ? opt->token : "");
    snprintf(f->software_version, sizeof(f->software_version), "%s",
             opt->software_version ? opt->software_version : "");
    f->src = opt->source;
    f->view = opt->view ? opt->view : &tg_view_builtin;
    f->view_ctx = opt->view ? opt->view_ctx : &f->allow;
    for (size_t i = 0; i < f->cfg.n_allow_keys; i++)
        f->allow_ptrs[i] = f->cfg.allow_keys[i];
    f->allow.extra_keys = f->allow_ptrs;
    f->allow.n_extra = f->cfg.n_allow_keys;
    tg_protocol_range(&f->vmin, &f->vmax);
    f->version = f->vmax;
    if (f->cfg.tls_cert_file[0])
        f->client_cert_not_after = cert_not_after(f->cfg.tls_cert_file);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->work_cv, NULL);
    pthread_cond_init(&f->send_cv, NULL);
    pthread_cond_init(&f->witness_cv, NULL);

    snprintf(dir, sizeof(dir), "%s/outbox", opt->data_dir);
    memset(&oo, 0, sizeof(oo));
    oo.max_bytes = f->cfg.outbox_max_bytes;
    oo.no_sync = opt->no_sync;
    oo.site = f->site;
    oo.destination = "central";
    oo.destination_url = f->url;
    oo.zstd_level = f->cfg.zstd_level;
    oo.audit_key_dir = opt->data_dir;
    f->outbox = tg_outbox_open(dir, &oo, &rc);
    if (!f->outbox) {
        snprintf(errmsg, errlen, "cannot open the outbox in %s: %s", dir,
                 tg_strerror(rc));
        *err = rc;
        goto fail;
    }
    f->mem_cursor = start_cursor = tg_outbox_cursor(f->outbox);
    /* Only a store that already holds records can have been forwarded
     * before; a fresh site (or a fresh store) starts at once. */
    f->resume_pending =
        start_cursor == 0 && f->src.last_seq && f->src.last_seq(f->src.ctx) > 0;
    f->sum = tg_summarizer_create(&f->cfg);
    if (!f->sum) {
        *err = TG_ENOMEM;
        snprintf(errmsg, errlen, "out of memory");
        goto fail;
    }
    if (pthread_create(&f->worker, NULL, worker_main, f) != 0) {
        *err = TG_ENOMEM;
        snprintf(errmsg, errlen, "cannot start the forwarder thread");
        goto fail;
    }
    f->worker_started = 1;
    if (pthread_create(&f->sender, NULL, tg_fwd_sender_main, f) != 0) {
        *err = TG_ENOMEM;
        snprintf(errmsg, errlen, "cannot start the sender thread");
        goto fail;
    }
    f->sender_started = 1;
    if (pthread_create(&f->witness, NULL, tg_fwd_witness_main, f) != 0) {
        *err = TG_ENOMEM;
        snprintf(errmsg, errlen, "cannot start the witness thread");
        goto fail;
    }
    f->witness_started = 1;
    tg_info("forwarder started", "site=%s central=%s cursor=%llu protocol=%u-%u", f->site,
            f->url, (unsigned long long)start_cursor, f->vmin, f->vmax);
    return f;
fail:
    tg_forwarder_stop(f);
    return NULL;
}

int tg_forwarder_outbox_ok(tg_forwarder *f, char *why, size_t len)
{
    int ok;

    if (!f)
        return 1;
    pthread_mutex_lock(&f->mu);
    ok = !f->outbox_put_failed && !f->ledger_failed;
    if (!ok)
        snprintf(why, len, "%s", f->outbox_why);
    pthread_mutex_unlock(&f->mu);
    return ok;
}

void tg_forwarder_kick(tg_forwarder *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->mu);
    f->work_kicked = 1;
    pthread_cond_signal(&f->work_cv);
    pthread_mutex_unlock(&f->mu);
}

void tg_forwarder_stop(tg_forwarder *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->mu);
    f->stop = 1;
    pthread_cond_broadcast(&f->work_cv);
    pthread_cond_broadcast(&f->send_cv);
    pthread_cond_broadcast(&f->witness_cv);
    pthread_mutex_unlock(&f->mu);
    if (f->witness_started)
        pthread_join(f->witness, NULL);
    if (f->worker_started)
        pthread_join(f->worker, NULL);
    if (f->sender_started)
        pthread_join(f->sender, NULL);
    tg_summarizer_destroy(f->sum);
    tg_outbox_close(f->outbox);
    pthread_cond_destroy(&f->work_cv);
    pthread_cond_destroy(&f->send_cv);
    pthread_cond_destroy(&f->witness_cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

/* ---- figures ------------------------------------------------------------- */

#define PARTITION_AFTER_HEARTBEATS 3

void tg_forwarder_get_stats(tg_forwarder *f, tg_forwarder_stats *s)
{
    tg_outbox_stats os;
    uint64_t now = tg_fwd_now_ns(), mono = tg_mono_ns();

    memset(s, 0, sizeof(*s));
    tg_outbox_get_stats(f->outbox, &os);
    pthread_mutex_lock(&f->mu);
    s->requests_read = f->requests_read;
    s->requests_skipped = f->requests_skipped;
    s->decode_failures = f->decode_failures;
    s->view_failures = f->view_failures;
    s->source_cursor = f->mem_cursor;
    s->source_last = f->source_last;
    s->source_lag = f->source_last > f->mem_cursor ? f->source_last - f->mem_cursor : 0;
    s->mem_decode_peak = f->mem_decode_peak;
    s->mem_summary_peak = f->mem_summary_peak;
    s->spans = f->n_spans;
    s->names_raw = f->names_raw;
    s->names_sent = f->names_sent;
    s->red = f->n_red;
    s->logs = f->n_logs;
    s->metrics = f->n_metrics;
    s->costs = f->n_costs;
    s->batches_appended = f->batches_appended;
    s->outbox_batches = os.batches;
    s->outbox_bytes = os.bytes;
    s->outbox_records = os.records;
    s->outbox_budget = os.max_bytes;
    s->outbox_oldest_age_s = os.oldest_created_ns && now > os.oldest_created_ns
                                 ? (double)(now - os.oldest_created_ns) / 1e9
                                 : 0;
    /* At the budget (the outbox sheds to stay within it) the time left is
     * none, not "not filling". */
    s->budget_seconds_left = os.max_bytes &&
                                     os.bytes >= os.max_bytes - os.max_bytes / 20 &&
                                     os.shed_batches + os.shed_stripped > 0
                                 ? 0
                             : f->fill_rate > 1.0 && os.max_bytes > os.bytes
                                 ? (double)(os.max_bytes - os.bytes) / f->fill_rate
                                 : -1;
    s->shed_batches = os.shed_batches;
    s->shed_stripped = os.shed_stripped;
    s->shed_records = os.shed_records;
    s->shed_spans = os.shed_spans;
    s->rejected = os.rejected;
    s->ledger_entries = os.ledger_entries;
    s->tlog_size = os.tlog_size;
    s->tlog_failures = os.tlog_failures;
    s->witness_size = f->witness_size;
    s->witness_cosigned_ns = f->witness_cosigned_ns;
    s->witness_forks = f->witness_forks;
    s->witness_errors = f->witness_errors;
    snprintf(s->witness_error, sizeof(s->witness_error), "%s", f->witness_error);
    s->uploads_accepted = f->uploads_accepted;
    s->uploads_duplicate = f->uploads_duplicate;
    s->heartbeats = f->heartbeats;
    s->upload_errors = f->upload_errors;
    s->auth_failures = f->auth_failures;
    s->version_refusals = f->version_refusals;
    s->wire_bytes = f->wire_bytes;
    s->raw_bytes = f->raw_bytes;
    s->batches_delivered = f->batches_delivered;
    s->acked_seq = os.acked_seq;
    s->last_contact_ns = f->last_contact_ns;
    s->partitioned =
        !f->last_contact_mono ||
        mono - f->last_contact_mono >
            PARTITION_AFTER_HEARTBEATS * f->cfg.heartbeat_interval_ms * 1000000ull +
                2000000000ull;
    s->protocol_version = f->version;
    s->protocol_min = f->vmin;
    s->protocol_max = f->vmax;
    snprintf(s->central_version, sizeof(s->central_version), "%s", f->central_version);
    s->clock_valid = f->clock_valid;
    s->clock_offset_ns = f->clock_offset_ns;
    s->clock_rtt_ns = f->clock_rtt_ns;
    s->server_cert_not_after = f->server_cert_not_after;
    s->client_cert_not_after = f->client_cert_not_after;
    s->backoff_ms = f->backoff_ms;
    snprintf(s->last_error, sizeof(s->last_error), "%s", f->last_error);
    snprintf(s->policy_version, sizeof(s->policy_version), "%s",
             f->policy_version_now[0] ? f->policy_version_now
                                      : f->view->policy_version(f->view_ctx));
    pthread_mutex_unlock(&f->mu);
}

void tg_fwd_fill_health(tg_forwarder *f, Tollgate__V1__SiteHealth *h)
{
    tg_forwarder_stats s;
    static char policy[96];
    tg_outbox_stats os;

    tg_forwarder_get_stats(f, &s);
    tg_outbox_get_stats(f->outbox, &os);
    /* Only the sender thread calls this; the static buffer is its own. */
    snprintf(policy, sizeof(policy), "%s", s.policy_version);
    h->software_version = f->software_version;
    h->policy_version = policy;
    h->protocol_min = f->vmin;
    h->protocol_max = f->vmax;
    h->backlog_batches = s.outbox_batches;
    h->backlog_bytes = s.outbox_bytes;
    h->backlog_records = s.outbox_records;
    h->backlog_oldest_unix_nano = os.oldest_created_ns;
    h->budget_bytes = s.outbox_budget;
    h->budget_seconds_left = s.budget_seconds_left;
    h->clock_valid = s.clock_valid;
    h->clock_offset_ns = s.clock_offset_ns;
    h->clock_rtt_ns = s.clock_rtt_ns;
    h->client_cert_not_after = s.client_cert_not_after;
    h->server_cert_not_after = s.server_cert_not_after;
    h->shed_batches = s.shed_batches + s.shed_stripped;
    h->shed_records = s.shed_records;
    h->heartbeat_interval_ms = f->cfg.heartbeat_interval_ms;
    h->jurisdiction = f->cfg.jurisdiction;
    h->source_lag_records = s.source_lag;
    if (f->src.time_range)
        f->src.time_range(f->src.ctx, &h->store_oldest_unix_nano,
                          &h->store_newest_unix_nano);
    if (f->src.items_ingested)
        h->ingested_items = f->src.items_ingested(f->src.ctx);
}

/* One labelled counter family for /metrics: name{label="value"} n. */
struct labelled {
    const char *value;
    uint64_t n;
};

static void family(tg_strbuf *b, const char *name, const char *help, const char *label,
                   const struct labelled *v, size_t n)
{
    tg_strbuf_printf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
    for (size_t i = 0; i < n; i++)
        tg_strbuf_printf(b, "%s{%s=\"%s\"} %llu\n", name, label, v[i].value,
                         (unsigned long long)v[i].n);
}

char *tg_forwarder_render_metrics(tg_forwarder *f, size_t *len)
{
    tg_forwarder_stats s;
    tg_egress_tally tally;
    tg_strbuf b = {0};
    uint64_t now = tg_fwd_now_ns();

    tg_forwarder_get_stats(f, &s);
    pthread_mutex_lock(&f->mu);
    tally = f->tally_total;
    pthread_mutex_unlock(&f->mu);

#define G(name, help, fmt, val)                                                          \
    tg_strbuf_printf(                                                                    \
        &b, "# HELP " name " " help "\n# TYPE " name " gauge\n" name " " fmt "\n", val)
#define C(name, help, fmt, val)                                                          \
    tg_strbuf_printf(                                                                    \
        &b, "# HELP " name " " help "\n# TYPE " name " counter\n" name " " fmt "\n",     \
        val)
    {
        const struct labelled v[] = {{"span", s.spans},
                                     {"red", s.red},
                                     {"log_template", s.logs},
                                     {"metric", s.metrics},
                                     {"cost", s.costs}};
        family(&b, "tollgate_forward_records_total",
               "Records summarised for the central view, by kind.", "kind", v,
               sizeof(v) / sizeof(v[0]));
    }
    {
        const struct labelled v[] = {{"stored", s.names_raw}, {"sent", s.names_sent}};
        family(&b, "tollgate_forward_span_names_total",
               "Distinct span names per period, summed over periods: as stored, and as "
               "sent after name templates.",
               "form", v, sizeof(v) / sizeof(v[0]));
    }
    C("tollgate_forward_requests_total", "Stored requests summarised.", "%llu",
      (unsigned long long)s.requests_read);
    C("tollgate_forward_requests_skipped_total",
      "Stored requests evicted before they were summarised.", "%llu",
      (unsigned long long)s.requests_skipped);
    C("tollgate_forward_view_failures_total",
      "Requests withheld because the destination view failed (fail closed).", "%llu",
      (unsigned long long)s.view_failures);
    C("tollgate_forward_decode_failures_total", "Stored requests that did not decode.",
      "%llu", (unsigned long long)s.decode_failures);
    G("tollgate_forward_source_lag_records", "Committed requests not yet summarised.",
      "%llu", (unsigned long long)s.source_lag);
    tg_strbuf_printf(&b,
                     "# HELP tollgate_forward_memory_peak_bytes The forwarder worker's "
                     "largest memory since start: one stored request decoded, viewed and "
                     "classified (decode), one period's summaries (summary).\n"
                     "# TYPE tollgate_forward_memory_peak_bytes gauge\n"
                     "tollgate_forward_memory_peak_bytes{part=\"decode\"} %llu\n"
                     "tollgate_forward_memory_peak_bytes{part=\"summary\"} %llu\n",
                     (unsigned long long)s.mem_decode_peak,
                     (unsigned long long)s.mem_summary_peak);
    G("tollgate_outbox_batches", "Batches waiting in the outbox.", "%llu",
      (unsigned long long)s.outbox_batches);
    G("tollgate_outbox_bytes", "Bytes waiting in the outbox (compressed).", "%llu",
      (unsigned long long)s.outbox_bytes);
    G("tollgate_outbox_records", "Records waiting in the outbox.", "%llu",
      (unsigned long long)s.outbox_records);
    G("tollgate_outbox_budget_bytes", "The outbox disk budget.", "%llu",
      (unsigned long long)s.outbox_budget);
    G("tollgate_outbox_oldest_age_seconds", "Age of the oldest batch waiting.", "%.3f",
      s.outbox_oldest_age_s);
    G("tollgate_outbox_budget_seconds_left",
      "Time until the budget is exhausted at the current rate (-1: not filling).", "%.1f",
      s.budget_seconds_left);
    {
        const struct labelled v[] = {{"batch", s.shed_batches},
                                     {"span_summaries", s.shed_stripped}};
        family(&b, "tollgate_outbox_shed_total", "Shedding events, by what was shed.",
               "what", v, sizeof(v) / sizeof(v[0]));
    }
    C("tollgate_outbox_shed_records_total", "Records dropped by shedding.", "%llu",
      (unsigned long long)s.shed_records);
    C("tollgate_outbox_rejected_total", "Batches the centre refused as malformed.",
      "%llu", (unsigned long long)s.rejected);
    G("tollgate_egress_ledger_entries", "Entries in the egress ledger.", "%llu",
      (unsigned long long)s.ledger_entries);
    G("tollgate_audit_log_size", "Leaves in the site's transparency log.", "%llu",
      (unsigned long long)s.tlog_size);
    C("tollgate_audit_append_failures_total",
      "Transparency log appends that failed: the egress was refused (fail closed).",
      "%llu", (unsigned long long)s.tlog_failures);
    G("tollgate_audit_witness_cosigned_size",
      "Tree size of the newest checkpoint the centre's witness cosigned.", "%llu",
      (unsigned long long)s.witness_size);
    G("tollgate_audit_witness_cosigned_age_seconds",
      "Age of the newest cosignature (-1: never cosigned).", "%.3f",
      s.witness_cosigned_ns ? (double)(tg_fwd_now_ns() - s.witness_cosigned_ns) / 1e9
                            : -1.0);
    C("tollgate_audit_witness_forks_total",
      "Times the witness refused this site's log as a fork (409 at a size it cosigned "
      "with another root, or 422).",
      "%llu", (unsigned long long)s.witness_forks);
    C("tollgate_audit_witness_errors_total",
      "Witness submissions that failed otherwise (transport, refusal).", "%llu",
      (unsigned long long)s.witness_errors);
    {
        const struct labelled v[] = {
            {"accepted", s.uploads_accepted},  {"duplicate", s.uploads_duplicate},
            {"heartbeat", s.heartbeats},       {"error", s.upload_errors},
            {"unauthorized", s.auth_failures}, {"version_refused", s.version_refusals}};
        family(&b, "tollgate_forward_uploads_total",
               "Exchanges with the centre, by result.", "result", v,
               sizeof(v) / sizeof(v[0]));
    }
    C("tollgate_forward_wire_bytes_total", "Batch bytes sent (compressed).", "%llu",
      (unsigned long long)s.wire_bytes);
    C("tollgate_forward_raw_bytes_total", "Batch bytes sent, before compression.", "%llu",
      (unsigned long long)s.raw_bytes);
    G("tollgate_forward_last_contact_age_seconds",
      "Seconds since the last successful exchange (-1: never).", "%.3f",
      s.last_contact_ns ? (double)(now - s.last_contact_ns) / 1e9 : -1.0);
    G("tollgate_forward_partitioned", "1 when the centre has not answered recently.",
      "%d", s.partitioned);
    G("tollgate_forward_protocol_version", "Negotiated protocol version.", "%u",
      s.protocol_version);
    G("tollgate_forward_clock_offset_seconds",
      "Site clock minus the centre's, NTP-style from four timestamps.", "%.6f",
      s.clock_valid ? (double)s.clock_offset_ns / 1e9 : 0.0);
    G("tollgate_forward_clock_rtt_seconds", "Round trip of the best clock sample.",
      "%.6f", (double)s.clock_rtt_ns / 1e9);
    tg_strbuf_printf(
        &b,
        "# HELP tollgate_forward_cert_not_after_seconds Expiry of the link's "
        "certificates (unix time; 0: none).\n"
        "# TYPE tollgate_forward_cert_not_after_seconds gauge\n"
        "tollgate_forward_cert_not_after_seconds{cert=\"server\"} %lld\n"
        "tollgate_forward_cert_not_after_seconds{cert=\"client\"} %lld\n",
        (long long)s.server_cert_not_after, (long long)s.client_cert_not_after);
    G("tollgate_forward_backoff_seconds", "Current retry delay.", "%.3f",
      (double)s.backoff_ms / 1000.0);
    tg_strbuf_printf(
        &b, "# HELP tollgate_egress_values_total Values in forwarded records, by data "
            "class and action (destination central).\n"
            "# TYPE tollgate_egress_values_total counter\n");
    for (size_t i = 0; i < tally.n; i++) {
        tg_strbuf_printf(&b,
                         "tollgate_egress_values_total{destination=\"central\",class=\"");
        tg_strbuf_label(&b, tally.e[i].data_class);
        tg_strbuf_printf(&b, "\",action=\"");
        tg_strbuf_label(&b, tally.e[i].action);
        tg_strbuf_printf(&b, "\"} %llu\n", (unsigned long long)tally.e[i].count);
    }
#undef G
#undef C
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    if (len)
        *len = b.len;
    return b.p;
}

char *tg_forwarder_status_json(tg_forwarder *f)
{
    tg_forwarder_stats s;
    json_t *o;
    char *out;

    tg_forwarder_get_stats(f, &s);
    o = json_pack(
        "{s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:f, s:f, s:I, s:I, s:I, s:I, s:I,"
        " s:I, s:I, s:i, s:i, s:i, s:s, s:b, s:I, s:I, s:I, s:I, s:s, s:s}",
        "site", f->site, "central", f->url, "partitioned", s.partitioned,
        "last_contact_unix_nano", (json_int_t)s.last_contact_ns, "outbox_batches",
        (json_int_t)s.outbox_batches, "outbox_bytes", (json_int_t)s.outbox_bytes,
        "outbox_records", (json_int_t)s.outbox_records, "outbox_oldest_age_seconds",
        s.outbox_oldest_age_s, "budget_seconds_left", s.budget_seconds_left,
        "budget_bytes", (json_int_t)s.outbox_budget, "shed_batches",
        (json_int_t)s.shed_batches, "shed_stripped", (json_int_t)s.shed_stripped,
        "shed_records", (json_int_t)s.shed_records, "ledger_entries",
        (json_int_t)s.ledger_entries, "batches_delivered",
        (json_int_t)s.batches_delivered, "source_lag", (json_int_t)s.source_lag,
        "protocol_version", (int)s.protocol_version, "protocol_min", (int)s.protocol_min,
        "protocol_max", (int)s.protocol_max, "central_version", s.central_version,
        "clock_valid", s.clock_valid, "clock_offset_ns", (json_int_t)s.clock_offset_ns,
        "clock_rtt_ns", (json_int_t)s.clock_rtt_ns, "server_cert_not_after",
        (json_int_t)s.server_cert_not_after, "client_cert_not_after",
        (json_int_t)s.client_cert_not_after, "last_error", s.last_error, "policy_version",
        s.policy_version);
    if (!o)
        return NULL;
    json_object_set_new(o, "audit_log_size", json_integer((json_int_t)s.tlog_size));
    json_object_set_new(o, "audit_append_failures",
                        json_integer((json_int_t)s.tlog_failures));
    json_object_set_new(o, "witness_cosigned_size",
                        json_integer((json_int_t)s.witness_size));
    json_object_set_new(o, "witness_cosigned_unix_nano",
                        json_integer((json_int_t)s.witness_cosigned_ns));
    json_object_set_new(o, "witness_forks", json_integer((json_int_t)s.witness_forks));
    json_object_set_new(o, "witness_errors", json_integer((json_int_t)s.witness_errors));
    json_object_set_new(o, "witness_error", json_string(s.witness_error));
    out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return out;
}

int tg_forwarder_record_query(tg_forwarder *f, const tg_outbox_query *q)
{
    return tg_outbox_ledger_query(f->outbox, q, tg_fwd_now_ns());
}

/* One ledger entry as JSON: ids, counts, hashes, never a value. */
static int ledger_entry_json(void *ctx, const Tollgate__V1__EgressRecord *r,
                             const uint8_t *bytes, size_t len)
{
    json_t *arr = ctx, *counts = json_array(), *o;
    char hash[65] = "";

    (void)bytes;
    (void)len;
    if (r->entry_hash.len == 32)
        tg_hex_encode(r->entry_hash.data, 32, hash);
    for (size_t i = 0; i < r->n_counts; i++)
        json_array_append_new(counts, json_pack("{s:s,s:s,s:I}", "class",
                                                r->counts[i]->data_class, "action",
                                                r->counts[i]->action, "count",
                                                (json_int_t)r->counts[i]->count));
    o = json_pack(
        "{s:I,s:s,s:I,s:s,s:s,s:I,s:I,s:I,s:s,s:o,s:s}", "index", (json_int_t)r->index,
        "event", r->event, "time_unix_nano", (json_int_t)r->time_unix_nano, "destination",
        r->destination, "batch_id", r->batch_id, "records", (json_int_t)r->records,
        "bytes_raw", (json_int_t)r->bytes_raw, "bytes_wire", (json_int_t)r->bytes_wire,
        "policy_version", r->policy_version, "counts", counts, "entry_hash", hash);
    if (r->requester && r->requester[0]) {
        json_object_set_new(o, "requester", json_string(r->requester));
        json_object_set_new(o, "view", json_string(r->view));
        json_object_set_new(o, "query_kind", json_string(r->query_kind));
    }
    json_array_append_new(arr, o);
    return 0;
}

int tg_forwarder_audit_read(tg_forwarder *f, const char *path, size_t len, tg_strbuf *out)
{
    return tg_outbox_audit_read(f->outbox, path, len, out);
}

char *tg_forwarder_ledger_json(tg_forwarder *f)
{
    json_t *arr = json_array(), *doc;
    char *s = NULL;

    if (tg_outbox_ledger_foreach(f->outbox, ledger_entry_json, arr) == 0) {
        doc = json_pack("{s:o}", "entries", arr);
        s = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
    } else {
        json_decref(arr);
    }
    return s;
}
