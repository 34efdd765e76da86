/* From a request body to a committed record: see ingest.h.
 *
 * Everything here runs on the loop thread except classify_prepared(), which
 * the committer runs on its prepare thread. A request decodes into the
 * loop's own arena (no policy, or every pooled arena busy) or into a pooled
 * one, which then travels with the submission until the prepare step has
 * classified the request and gives it back. The committer copies the raw
 * bytes, so nothing decoded outlives the classification. */
#include "ingest.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tg_err.h"
#include "tg_log.h"
#include "tg_rules.h"

#define MAX_CLASSIFY_ARENAS 16

struct tg_ingest {
    tg_committer *committer;
    tg_stats *stats;
    tg_ingest_options opt;
    tg_arena arena; /* the loop's */

    /* Arenas lent to the prepare thread; free[] is under mu. */
    pthread_mutex_t mu;
    tg_arena pool[MAX_CLASSIFY_ARENAS];
    unsigned free_idx[MAX_CLASSIFY_ARENAS];
    unsigned n_free, n_pool;
};

/* What the prepare step needs; lives in the pooled arena it describes. */
typedef struct classify_job {
    tg_ingest *ing;
    unsigned slot;
    tg_rules_policy *policy; /* a reference, dropped by the step */
    const ProtobufCMessage *msg;
} classify_job;

/* What a submission needs once its commit completes. */
typedef struct ingest_job {
    tg_ingest *ing;
    enum tg_signal sig;
    enum tg_transport tr;
    uint64_t accepted;
    uint64_t rejected;
    char reject_msg[256];
    tg_ingest_cb cb;
    void *ctx;
} ingest_job;

tg_ingest *tg_ingest_create(tg_committer *committer, tg_stats *stats,
                            const tg_ingest_options *opt)
{
    tg_ingest *ing = calloc(1, sizeof(*ing));

    if (!ing)
        return NULL;
    ing->committer = committer;
    ing->stats = stats;
    if (opt)
        ing->opt = *opt;
    if (!ing->opt.max_decompressed_bytes)
        ing->opt.max_decompressed_bytes = 64u << 20;
    if (!ing->opt.max_decode_bytes)
        ing->opt.max_decode_bytes = 256u << 20;
    if (!ing->opt.classify_arenas)
        ing->opt.classify_arenas = 3;
    if (ing->opt.classify_arenas > MAX_CLASSIFY_ARENAS)
        ing->opt.classify_arenas = MAX_CLASSIFY_ARENAS;
    /* 4 MiB blocks: a 1,000-span request decodes into about 3 MiB. */
    tg_arena_init(&ing->arena, 4u << 20, ing->opt.max_decode_bytes);
    pthread_mutex_init(&ing->mu, NULL);
    ing->n_pool =
        ing->opt.rules && !ing->opt.classify_inline ? ing->opt.classify_arenas : 0;
    for (unsigned i = 0; i < ing->n_pool; i++) {
        tg_arena_init(&ing->pool[i], 4u << 20, ing->opt.max_decode_bytes);
        ing->free_idx[ing->n_free++] = i;
    }
    return ing;
}

void tg_ingest_destroy(tg_ingest *ing)
{
    if (!ing)
        return;
    tg_arena_destroy(&ing->arena);
    for (unsigned i = 0; i < ing->n_pool; i++)
        tg_arena_destroy(&ing->pool[i]);
    pthread_mutex_destroy(&ing->mu);
    free(ing);
}

/* ---- classification --------------------------------------------------- */

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The shortest non-zero class retention among `cls`'s classes, or among all
 * of the policy's classes when there is no classification (fail closed). */
static uint64_t class_retention(const tg_rules_policy *p,
                                const tg_rules_classification *c)
{
    uint16_t idx[256];
    size_t n, total = tg_rules_n_classes(p);
    uint64_t best = 0;
    tg_rules_class_info ci;

    if (!c) {
        for (size_t i = 0; i < total; i++)
            if (tg_rules_class(p, i, &ci) == 0 && ci.retention_sec &&
                (!best || ci.retention_sec < best))
                best = ci.retention_sec;
        return best;
    }
    n = tg_rules_classification_classes(c, idx, sizeof(idx) / sizeof(idx[0]));
    if (n > sizeof(idx) / sizeof(idx[0]))
        return class_retention(p, NULL); /* more classes than we looked at */
    for (size_t i = 0; i < n; i++)
        if (tg_rules_class(p, idx[i], &ci) == 0 && ci.retention_sec &&
            (!best || ci.retention_sec < best))
            best = ci.retention_sec;
    return best;
}

/* Classifies `msg` with `p` into `arena` and sets rec's classification (a
 * malloc'd copy when `copy`, else arena memory) and retention. */
static void classify_into(tg_ingest *ing, const tg_rules_policy *p,
                          const ProtobufCMessage *msg, tg_arena *arena,
                          tg_store_record *rec, int copy)
{
    tg_rules_classification *c = NULL;
    tg_rules_classify_stats cs;
    uint8_t *enc = NULL;
    size_t len = 0;
    uint64_t t0 = mono_ns();
    int rc;

    rc = tg_rules_classify(p, msg, arena, &c);
    if (rc == 0)
        rc = tg_rules_classification_encode(c, arena, &enc, &len);
    if (rc == 0 && copy) {
        uint8_t *m = malloc(len);
        if (m)
            memcpy(m, enc, len);
        else
            rc = TG_ENOMEM;
        enc = m;
    }
    if (rc) {
        /* Stored unclassified: the egress view classifies it again (and
         * fails closed again); locally it keeps the shortest retention. */
        rec->cls = NULL;
        rec->cls_len = 0;
        rec->retention_sec = class_retention(p, NULL);
        atomic_fetch_add(&ing->stats->classify_failed, 1);
        tg_warn(
            "classification failed at ingest, stored with the shortest class retention",
            "signal=%s err=%s", tg_signal_name(rec->signal), tg_err_name(rc));
    } else {
        rec->cls = enc;
        rec->cls_len = len;
        rec->retention_sec = class_retention(p, c);
        tg_rules_classification_stats(c, &cs);
        atomic_fetch_add(&ing->stats->classify_findings, cs.findings);
    }
    atomic_fetch_add(&ing->stats->classify_ns, mono_ns() - t0);
}

/* The committer's prepare step (prepare thread). */
static void classify_prepared(void *ctx, tg_store_record *rec)
{
    classify_job *job = ctx;
    tg_ingest *ing = job->ing;
    unsigned slot = job->slot;

    classify_into(ing, job->policy, job->msg, &ing->pool[slot], rec, 1);
    atomic_fetch_add(&ing->stats->classified_prepare, 1);
    tg_rules_policy_unref(job->policy);
    /* job lives in the arena: nothing of it is read after the reset. */
    tg_arena_reset(&ing->pool[slot]);
    pthread_mutex_lock(&ing->mu);
    ing->free_idx[ing->n_free++] = slot;
    pthread_mutex_unlock(&ing->mu);
}

/* A pooled arena for the next request, or -1 (none configured, or all
 * lent out). */
static int take_arena(tg_ingest *ing)
{
    int slot = -1;

    if (!ing->n_pool)
        return -1;
    pthread_mutex_lock(&ing->mu);
    if (ing->n_free)
        slot = (int)ing->free_idx[--ing->n_free];
    pthread_mutex_unlock(&ing->mu);
    return slot;
}

static void give_arena(tg_ingest *ing, int slot)
{
    if (slot < 0)
        return;
    tg_arena_reset(&ing->pool[slot]);
    pthread_mutex_lock(&ing->mu);
    ing->free_idx[ing->n_free++] = (unsigned)slot;
    pthread_mutex_unlock(&ing->mu);
}

static void ingest_committed(void *ctx, int status)
{
    ingest_job *job = ctx;
    tg_stats *st = job->ing->stats;
    tg_ingest_result res;

    memset(&res, 0, sizeof(res));
    res.status = status;
    if (status == 0) {
        res.accepted = job->accepted;
        res.rejected = job->rejected;
        if (job->rejected)
            snprintf(res.message, sizeof(res.message), "%s", job->reject_msg);
        atomic_fetch_add(&st->items_accepted[job->sig][job->tr], job->accepted);
        atomic_fetch_add(&st->items_refused[job->sig][job->tr], job->rejected);
    } else {
        snprintf(res.message, sizeof(res.message), "local store write failed: %s",
                 tg_strerror(status));
        atomic_fetch_add(&st->items_refused[job->sig][job->tr],
                         job->accepted + job->rejected);
        tg_error("commit failed", "signal=%s err=%s", tg_signal_name(job->sig),
                 tg_err_name(status));
    }
    job->cb(job->ctx, &res);
    free(job);
}

static void refuse(tg_ingest *ing, enum tg_signal sig, enum tg_transport tr, int busy)
{
    if (busy)
        atomic_fetch_add(&ing->stats->requests_refused_busy[sig][tr], 1);
    else
        atomic_fetch_add(&ing->stats->requests_refused_bad[sig][tr], 1);
}

int tg_ingest_submit(tg_ingest *ing, enum tg_signal sig, enum tg_transport tr,
                     enum tg_encoding enc, enum tg_compression comp, const uint8_t *body,
                     size_t len, tg_ingest_cb cb, void *ctx, tg_ingest_result *result)
{
    tg_otlp_request req;
    tg_otlp_index index;
    tg_store_record rec;
    const uint8_t *raw = body;
    uint8_t *buf;
    size_t rawlen = len;
    ingest_job *job;
    tg_rules_policy *policy = NULL;
    classify_job *cj = NULL;
    int slot = -1, rc;
    tg_arena *arena;

    memset(result, 0, sizeof(*result));
    atomic_fetch_add(&ing->stats->bytes_received[sig][tr], len);
    tg_arena_reset(&ing->arena);
    /* With a policy, decode into a pooled arena so the classification can
     * run off the loop; the loop's own arena is the fallback. */
    if (ing->opt.rules && (policy = tg_rules_slot_acquire(ing->opt.rules)))
        slot = take_arena(ing);
    arena = slot >= 0 ? &ing->pool[slot] : &ing->arena;

    if (comp != TG_COMP_NONE) {
        rc = tg_decompress(comp, body, len, ing->opt.max_decompressed_bytes, arena, &buf,
                           &rawlen);
        if (rc == TG_ETOO_BIG)
            snprintf(result->message, sizeof(result->message),
                     "decompressed %s body exceeds the limit of %zu bytes",
                     tg_compression_name(comp), ing->opt.max_decompressed_bytes);
        else if (rc)
            snprintf(result->message, sizeof(result->message),
                     "%s body is corrupt or truncated", tg_compression_name(comp));
        if (rc) {
            refuse(ing, sig, tr, 0);
            result->status = rc == TG_ENOMEM ? TG_ETOO_BIG : rc;
            goto out;
        }
        raw = buf;
    }

    rc = tg_otlp_decode(sig, enc, raw, rawlen, arena, &req, result->message,
                        sizeof(result->message));
    if (rc) {
        refuse(ing, sig, tr, 0);
        result->status = rc;
        goto out;
    }
    atomic_fetch_add(&ing->stats->items_received[sig][tr], req.items + req.rejected);

    if (req.items == 0) {
        /* Nothing to store (empty, or every item rejected): answer now. */
        atomic_fetch_add(&ing->stats->items_refused[sig][tr], req.rejected);
        result->rejected = req.rejected;
        if (req.rejected)
            snprintf(result->message, sizeof(result->message), "%s", req.reject_msg);
        result->status = TG_INGEST_DONE;
        goto out;
    }

    if (enc != TG_ENC_PROTOBUF || req.modified) {
        rc = tg_otlp_pack(&req, arena, &buf, &rawlen);
        if (rc) {
            refuse(ing, sig, tr, 0);
            snprintf(result->message, sizeof(result->message),
                     "request too large to re-encode");
            result->status = TG_ETOO_BIG;
            goto out;
        }
        raw = buf;
    }
    rc = tg_otlp_index_build(&req, arena, &index);
    if (rc) {
        refuse(ing, sig, tr, 0);
        snprintf(result->message, sizeof(result->message), "request too large to index");
        result->status = TG_ETOO_BIG;
        goto out;
    }

    memset(&rec, 0, sizeof(rec));
    rec.signal = sig;
    rec.data = raw;
    rec.len = rawlen;
    rec.index = &index;
    if (policy && slot >= 0) {
        /* Classified on the prepare thread; the arena goes with it. */
        cj = tg_arena_alloc(arena, sizeof(*cj));
        if (cj) {
            cj->ing = ing;
            cj->slot = (unsigned)slot;
            cj->policy = policy;
            cj->msg = req.msg;
        }
    }
    if (policy && !cj) {
        /* Every pooled arena is busy (or none left for the job): classify
         * here, on the loop. The stored bytes are the arena's, copied by
         * the committer at submit. */
        classify_into(ing, policy, req.msg, arena, &rec, 0);
        atomic_fetch_add(&ing->stats->classified_loop, 1);
    }

    job = malloc(sizeof(*job));
    if (!job) {
        refuse(ing, sig, tr, 1);
        snprintf(result->message, sizeof(result->message), "collector out of memory");
        result->status = TG_EBUSY;
        goto out;
    }
    job->ing = ing;
    job->sig = sig;
    job->tr = tr;
    job->accepted = req.items;
    job->rejected = req.rejected;
    snprintf(job->reject_msg, sizeof(job->reject_msg), "%s", req.reject_msg);
    job->cb = cb;
    job->ctx = ctx;

    rc = tg_committer_submit(ing->committer, &rec, cj ? classify_prepared : NULL, cj,
                             ingest_committed, job);
    if (rc) {
        free(job);
        refuse(ing, sig, tr, 1);
        atomic_fetch_add(&ing->stats->items_refused[sig][tr], req.items + req.rejected);
        snprintf(result->message, sizeof(result->message),
                 rc == TG_ECLOSED ? "collector is shutting down"
                                  : "collector overloaded: local store write queue full");
        result->status = rc;
        goto out;
    }
    if (cj)
        return 0; /* the prepare step owns the arena and the policy reference */
    result->status = 0;
out:
    give_arena(ing, slot);
    tg_rules_policy_unref(policy);
    return result->status;
}
