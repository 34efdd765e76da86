/* From a request body to a committed record: see ingest.h.
 *
 * Everything here runs on its ingest loop's thread. Decoding and classification use
 * one arena that is reset per request: the committer copies what it needs
 * (raw bytes, index, classification), so nothing decoded outlives
 * tg_ingest_submit(). */
#include "ingest.h"
#include "secure.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_err.h"
#include "tg_log.h"
#include "tg_rules.h"
#include "tg_time.h"

struct tg_ingest {
    tg_committer *committer;
    tg_stats *stats;
    tg_ingest_options opt;
    tg_arena arena;
    tg_zstd_ctx *zstd; /* with opt.zstd_level: this loop's compressor */
    /* "classification failed" is logged at most every 10 s, with how many
     * were not logged in between (the counter on /metrics has them all). */
    uint64_t classify_warned_ns;
    uint64_t classify_unlogged;
};

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
    /* 4 MiB blocks: a 1,000-span request decodes into about 3 MiB. */
    tg_arena_init(&ing->arena, 4u << 20, ing->opt.max_decode_bytes);
    if (ing->opt.zstd_level && !(ing->zstd = tg_zstd_ctx_new(ing->opt.zstd_level))) {
        tg_ingest_destroy(ing);
        return NULL;
    }
    return ing;
}

void tg_ingest_destroy(tg_ingest *ing)
{
    if (!ing)
        return;
    tg_arena_destroy(&ing->arena);
    tg_zstd_ctx_free(ing->zstd);
    free(ing);
}

/* ---- classification --------------------------------------------------- */

/* The shortest non-zero class retention among `cls`'s classes, or among all
 * of the policy's classes when there is no classification (fail closed);
 * *name (may be NULL) is the class that has it (policy memory), NULL when
 * none does. */
static uint64_t class_retention(const tg_rules_policy *p,
                                const tg_rules_classification *c, const char **name)
{
    uint16_t idx[256];
    size_t n, total = tg_rules_n_classes(p);
    uint64_t best = 0;
    tg_rules_class_info ci;

    if (name)
        *name = NULL;
    if (!c) {
        for (size_t i = 0; i < total; i++)
            if (tg_rules_class(p, i, &ci) == 0 && ci.retention_sec &&
                (!best || ci.retention_sec < best)) {
                best = ci.retention_sec;
                if (name)
                    *name = ci.name;
            }
        return best;
    }
    n = tg_rules_classification_classes(c, idx, sizeof(idx) / sizeof(idx[0]));
    if (n > sizeof(idx) / sizeof(idx[0]))
        return class_retention(p, NULL, name); /* more classes than we looked at */
    for (size_t i = 0; i < n; i++)
        if (tg_rules_class(p, idx[i], &ci) == 0 && ci.retention_sec &&
            (!best || ci.retention_sec < best)) {
            best = ci.retention_sec;
            if (name)
                *name = ci.name;
        }
    return best;
}

/* Classifies `msg` with `p` into `arena` and sets rec's classification
 * (arena memory: the committer copies it) and retention. */
static void classify_into(tg_ingest *ing, const tg_rules_policy *p,
                          const ProtobufCMessage *msg, tg_arena *arena,
                          tg_store_record *rec)
{
    tg_rules_classification *c = NULL;
    tg_rules_classify_stats cs;
    uint8_t *enc = NULL;
    size_t len = 0;
    uint64_t t0 = tg_mono_ns();
    int rc;

    rc = tg_rules_classify(p, msg, arena, &c);
    if (rc == 0)
        rc = tg_rules_classification_encode(c, arena, &enc, &len);
    if (rc) {
        /* Stored unclassified: the egress view classifies it again (and
         * fails closed again); locally it keeps the shortest retention. */
        rec->cls = NULL;
        rec->cls_len = 0;
        rec->retention_sec = class_retention(p, NULL, &rec->retention_class);
        atomic_fetch_add(&ing->stats->classify_failed, 1);
        if (!ing->classify_warned_ns || t0 - ing->classify_warned_ns >= 10000000000ull) {
            tg_warn("classification failed at ingest, stored with the shortest class "
                    "retention",
                    "signal=%s err=%s unlogged_since_last=%llu",
                    tg_signal_name(rec->signal), tg_err_name(rc),
                    (unsigned long long)ing->classify_unlogged);
            ing->classify_warned_ns = t0;
            ing->classify_unlogged = 0;
        } else {
            ing->classify_unlogged++;
        }
    } else {
        rec->cls = enc;
        rec->cls_len = len;
        rec->retention_sec = class_retention(p, c, &rec->retention_class);
        tg_rules_classification_stats(c, &cs);
        atomic_fetch_add(&ing->stats->classify_findings, cs.findings);
    }
    atomic_fetch_add(&ing->stats->classify_ns, tg_mono_ns() - t0);
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
    return tg_ingest_submit_scoped(ing, NULL, sig, tr, enc, comp, body, len, cb, ctx,
                                   result);
}

int tg_ingest_submit_scoped(tg_ingest *ing, const tg_secure_scope *scope,
                            enum tg_signal sig, enum tg_transport tr,
                            enum tg_encoding enc, enum tg_compression comp,
                            const uint8_t *body, size_t len, tg_ingest_cb cb, void *ctx,
                            tg_ingest_result *result)
{
    tg_otlp_request req;
    tg_otlp_index index;
    tg_store_record rec;
    const uint8_t *raw = body;
    uint8_t *buf;
    size_t rawlen = len;
    ingest_job *job;
    tg_rules_policy *policy = NULL;
    tg_arena *arena = &ing->arena;
    int rc;

    memset(result, 0, sizeof(*result));
    atomic_fetch_add(&ing->stats->bytes_received[sig][tr], len);
    tg_arena_reset(arena);
    if (ing->opt.rules)
        policy = tg_rules_slot_acquire(ing->opt.rules);

    if (comp != TG_COMP_NONE) {
        /* The ratio stops a small bomb early, before the output buffer
         * grows towards the absolute cap. */
        size_t cap = tg_decompress_cap(len, ing->opt.max_decompressed_bytes,
                                       ing->opt.max_decompress_ratio, 4u << 20);

        rc = tg_decompress(comp, body, len, cap, arena, &buf, &rawlen);
        if (rc == TG_ETOO_BIG) {
            snprintf(result->message, sizeof(result->message),
                     "decompressed %s body exceeds the limit of %zu bytes",
                     tg_compression_name(comp), cap);
            tg_refuse_count(tr == TG_TRANSPORT_GRPC ? &ing->stats->refused_grpc
                                                    : &ing->stats->refused_http,
                            TG_REFUSED_DECOMPRESSED_TOO_LARGE);
        }
        if (rc && rc != TG_ETOO_BIG)
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
    if ((rc = tg_secure_scope_check(scope, &index, result->message,
                                    sizeof(result->message))) != 0) {
        refuse(ing, sig, tr, 0);
        atomic_fetch_add(&ing->stats->items_refused[sig][tr], req.items + req.rejected);
        tg_refuse_count(tr == TG_TRANSPORT_GRPC ? &ing->stats->refused_grpc
                                                : &ing->stats->refused_http,
                        TG_REFUSED_SERVICE_NOT_ALLOWED);
        result->status = rc;
        goto out;
    }

    memset(&rec, 0, sizeof(rec));
    rec.signal = sig;
    rec.data = raw;
    rec.len = rawlen;
    rec.index = &index;
    if (policy) {
        classify_into(ing, policy, req.msg, arena, &rec);
        atomic_fetch_add(&ing->stats->classified, 1);
    }
    /* Compressed here, on this loop's core: the one writer thread then only
     * copies it into LMDB, and the committer's queue holds the frame, not
     * the request. Failing that, the writer compresses. */
    if (ing->zstd &&
        tg_zstd_ctx_compress(ing->zstd, raw, rawlen, arena, &buf, &rec.zlen) == 0)
        rec.zdata = buf;

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

    rc = tg_committer_submit_port(ing->committer, ing->opt.port, &rec, ingest_committed,
                                  job);
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
    result->status = 0;
out:
    tg_rules_policy_unref(policy);
    return result->status;
}
