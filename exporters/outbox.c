#include "tg_outbox.h"

#include <errno.h>
#include <lmdb.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tg_codec.h"
#include "tg_err.h"
#include "tg_log.h"
#include "outbox_tlog.h"
#include "tg_audit_keys.h"
#include "tg_wire.h"

#define META_FORMAT "format"
#define META_EPOCH "epoch"
#define META_NEXT "next_seq"
#define META_CURSOR "cursor"
#define META_ACKED "acked"
#define META_LEDGER_NEXT "ledger_next"
#define META_LEDGER_HEAD "ledger_head"
#define META_SHED "shed_notice"
#define META_COUNTERS "counters"

/* Counters kept in meta as one array of u64 BE, in this order. */
enum {
    C_SHED_BATCHES,
    C_SHED_STRIPPED,
    C_SHED_RECORDS,
    C_SHED_SPANS,
    C_SHED_BYTES,
    C_REJECTED,
    C_COUNT
};

struct tg_outbox {
    MDB_env *env;
    MDB_dbi db_batches, db_entries, db_ledger, db_meta;
    tg_outbox_tlog tlog;
    pthread_mutex_t mu;
    tg_outbox_options opt;
    char site[128], destination[64], url[1024];
    uint8_t epoch[16];
    char epoch_hex[33];
    uint64_t inflight;  /* seq in flight, 0: none */
    tg_outbox_stats st; /* under mu */
};

static int mdb_err(int rc)
{
    if (rc == ENOMEM)
        return TG_ENOMEM;
    return TG_ESTORE;
}

static int meta_get(MDB_txn *txn, MDB_dbi db, const char *name, MDB_val *v)
{
    MDB_val k = {strlen(name), (void *)name};
    return mdb_get(txn, db, &k, v);
}

static int meta_put(MDB_txn *txn, MDB_dbi db, const char *name, const void *p, size_t n)
{
    MDB_val k = {strlen(name), (void *)name}, v = {n, (void *)p};
    return mdb_put(txn, db, &k, &v, 0);
}

static uint64_t meta_u64(MDB_txn *txn, MDB_dbi db, const char *name)
{
    MDB_val v;
    if (meta_get(txn, db, name, &v) != 0 || v.mv_size != 8)
        return 0;
    return tg_be64_get(v.mv_data);
}

static int meta_put_u64(MDB_txn *txn, MDB_dbi db, const char *name, uint64_t x)
{
    uint8_t b[8];
    tg_be64_put(b, x);
    return meta_put(txn, db, name, b, 8);
}

static int save_counters(tg_outbox *ob, MDB_txn *txn, const tg_outbox_stats *s)
{
    uint8_t b[8 * C_COUNT];
    uint64_t c[C_COUNT] = {s->shed_batches, s->shed_stripped, s->shed_records,
                           s->shed_spans,   s->shed_bytes,    s->rejected};

    for (int i = 0; i < C_COUNT; i++)
        tg_be64_put(b + 8 * i, c[i]);
    return meta_put(txn, ob->db_meta, META_COUNTERS, b, sizeof(b));
}

static void sha256_leaf(const uint8_t *p, size_t n, uint8_t out[32])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    const uint8_t prefix = 0x00;
    unsigned int len = 32;

    memset(out, 0, 32);
    if (!c)
        return;
    EVP_DigestInit_ex(c, EVP_sha256(), NULL);
    EVP_DigestUpdate(c, &prefix, 1);
    EVP_DigestUpdate(c, p, n);
    EVP_DigestFinal_ex(c, out, &len);
    EVP_MD_CTX_free(c);
}

/* Appends `r` to the ledger in `txn`: index, link and hash are set here. */
static int ledger_append(tg_outbox *ob, MDB_txn *txn, Tollgate__V1__EgressRecord *r,
                         tg_outbox_stats *s)
{
    uint8_t key[8], hash[32], *buf;
    size_t n;
    MDB_val k = {8, key}, v;
    int rc;

    r->index = s->ledger_entries;
    r->prev_hash.data = s->ledger_head;
    r->prev_hash.len = 32;
    r->entry_hash.data = NULL;
    r->entry_hash.len = 0;
    n = tollgate__v1__egress_record__get_packed_size(r);
    buf = malloc(n + 64);
    if (!buf)
        return TG_ENOMEM;
    tollgate__v1__egress_record__pack(r, buf);
    sha256_leaf(buf, n, hash);
    r->entry_hash.data = hash;
    r->entry_hash.len = 32;
    n = tollgate__v1__egress_record__pack(r, buf);
    tg_be64_put(key, r->index);
    v.mv_size = n;
    v.mv_data = buf;
    rc = mdb_put(txn, ob->db_ledger, &k, &v, MDB_APPEND);
    if (rc) {
        free(buf);
        return mdb_err(rc);
    }
    /* The entry is also the transparency log's next leaf, in this same
     * transaction: one never exists without the other. */
    rc = tg_outbox_tlog_append(&ob->tlog, txn, buf, n);
    free(buf);
    if (rc) {
        ob->st.tlog_failures++;
        tg_error("transparency log append failed: the egress is refused", "err=%s",
                 tg_err_name(rc));
        return rc;
    }
    s->tlog_size = tg_outbox_tlog_size(&ob->tlog, txn);
    memcpy(s->ledger_head, hash, 32);
    s->ledger_entries++;
    if ((rc = meta_put_u64(txn, ob->db_meta, META_LEDGER_NEXT, s->ledger_entries)) ||
        (rc = meta_put(txn, ob->db_meta, META_LEDGER_HEAD, hash, 32)))
        return mdb_err(rc);
    return 0;
}

static Tollgate__V1__OutboxEntry *entry_get(tg_outbox *ob, MDB_txn *txn, uint64_t seq,
                                            tg_arena *a)
{
    uint8_t key[8];
    MDB_val k = {8, key}, v;

    tg_be64_put(key, seq);
    if (mdb_get(txn, ob->db_entries, &k, &v) != 0)
        return NULL;
    return tollgate__v1__outbox_entry__unpack(&a->pb, v.mv_size, v.mv_data);
}

static int entry_put(tg_outbox *ob, MDB_txn *txn, const Tollgate__V1__OutboxEntry *e)
{
    uint8_t key[8], buf[4096], *p = buf;
    size_t n = tollgate__v1__outbox_entry__get_packed_size(e);
    MDB_val k = {8, key}, v;
    int rc;

    if (n > sizeof(buf) && !(p = malloc(n)))
        return TG_ENOMEM;
    tollgate__v1__outbox_entry__pack(e, p);
    tg_be64_put(key, e->sequence);
    v.mv_size = n;
    v.mv_data = p;
    rc = mdb_put(txn, ob->db_entries, &k, &v, 0);
    if (p != buf)
        free(p);
    return rc ? mdb_err(rc) : 0;
}

static void batch_id(tg_outbox *ob, uint64_t seq, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s/%llu", ob->site, ob->epoch_hex, (unsigned long long)seq);
}

/* Merges a shedding into the pending notice the next batch will carry. */
static int notice_add(tg_outbox *ob, MDB_txn *txn, uint64_t seq, uint64_t batches,
                      uint64_t spans, uint64_t records, uint64_t bytes, uint64_t now,
                      const char *reason)
{
    Tollgate__V1__ShedNotice n = TOLLGATE__V1__SHED_NOTICE__INIT, *old = NULL;
    MDB_val v;
    uint8_t buf[512];
    size_t len;
    int rc;

    if (meta_get(txn, ob->db_meta, META_SHED, &v) == 0)
        old = tollgate__v1__shed_notice__unpack(NULL, v.mv_size, v.mv_data);
    if (old) {
        n.first_sequence = old->first_sequence < seq ? old->first_sequence : seq;
        n.last_sequence = old->last_sequence > seq ? old->last_sequence : seq;
        n.batches = old->batches;
        n.spans = old->spans;
        n.records = old->records;
        n.bytes = old->bytes;
        tollgate__v1__shed_notice__free_unpacked(old, NULL);
    } else {
        n.first_sequence = n.last_sequence = seq;
    }
    n.batches += batches;
    n.spans += spans;
    n.records += records;
    n.bytes += bytes;
    n.time_unix_nano = now;
    n.reason = (char *)reason;
    len = tollgate__v1__shed_notice__pack(&n, buf);
    rc = meta_put(txn, ob->db_meta, META_SHED, buf, len);
    return rc ? mdb_err(rc) : 0;
}

static int ledger_shed(tg_outbox *ob, MDB_txn *txn, const Tollgate__V1__OutboxEntry *e,
                       uint64_t records, uint64_t spans, uint64_t bytes, uint64_t now,
                       tg_outbox_stats *s)
{
    Tollgate__V1__EgressRecord r = TOLLGATE__V1__EGRESS_RECORD__INIT;
    char id[256];

    batch_id(ob, e->sequence, id, sizeof(id));
    r.event = "shed";
    r.batch_id = id;
    r.destination = ob->destination;
    r.destination_url = ob->url;
    r.window_start_unix_nano = e->window_start_unix_nano;
    r.window_end_unix_nano = e->window_end_unix_nano;
    r.records = records;
    r.spans = spans;
    r.bytes_raw = bytes;
    r.policy_version = e->policy_version;
    r.time_unix_nano = now;
    r.first_sequence = r.last_sequence = e->sequence;
    return ledger_append(ob, txn, &r, s);
}

/* Strips span summaries from the oldest eligible batch. 1 if one was
 * stripped, 0 if none is eligible, negative on error. */
static int shed_strip_one(tg_outbox *ob, MDB_txn *txn, tg_outbox_stats *s, uint64_t now)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int rc, found = 0;
    tg_arena a;

    if ((rc = mdb_cursor_open(txn, ob->db_entries, &cur)))
        return mdb_err(rc);
    tg_arena_init(&a, 16 * 1024, 0);
    rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rc == 0) {
        Tollgate__V1__OutboxEntry *e;
        uint64_t seq = tg_be64_get(k.mv_data);
        e = tollgate__v1__outbox_entry__unpack(&a.pb, v.mv_size, v.mv_data);
        if (e && seq != ob->inflight && !e->spans_shed && e->spans > 0) {
            uint8_t key[8], *nz = NULL;
            MDB_val bk = {8, key}, bv;
            Tollgate__V1__Batch *b;
            size_t nzlen = 0, rawlen = 0;
            tg_be64_put(key, seq);
            if (mdb_get(txn, ob->db_batches, &bk, &bv) != 0)
                break;
            if (tg_wire_unpack_batch(bv.mv_data, bv.mv_size, (size_t)1 << 30, &a, &b,
                                     NULL) != 0)
                break;
            /* Keep the aggregates, drop the span summaries. The unpacked
             * batch has absolute times: repack as protocol 1, which the
             * centre reads the same way (offsets are canonical only for
             * what the summariser builds). */
            b->n_spans = 0;
            b->spans_shed = 1;
            b->protocol_version = 2;
            if (tg_wire_pack_batch(b, 1, ob->opt.zstd_level, &nz, &nzlen, &rawlen) != 0)
                break;
            bv.mv_data = nz;
            bv.mv_size = nzlen;
            rc = mdb_put(txn, ob->db_batches, &bk, &bv, 0);
            free(nz);
            if (rc) {
                rc = mdb_err(rc);
                goto out;
            }
            s->shed_stripped++;
            s->shed_spans += e->spans;
            s->shed_records += e->spans;
            s->shed_bytes += e->stored_bytes > nzlen ? e->stored_bytes - nzlen : 0;
            s->bytes -= e->stored_bytes;
            s->bytes += nzlen;
            s->records -= e->spans;
            s->spans -= e->spans;
            if ((rc = ledger_shed(ob, txn, e, e->spans, e->spans,
                                  e->stored_bytes > nzlen ? e->stored_bytes - nzlen : 0,
                                  now, s)) ||
                (rc = notice_add(ob, txn, seq, 0, e->spans, e->spans,
                                 e->stored_bytes > nzlen ? e->stored_bytes - nzlen : 0,
                                 now, "outbox budget: span summaries dropped")))
                goto out;
            e->records -= e->spans;
            e->spans = 0;
            e->spans_shed = 1;
            e->stored_bytes = nzlen;
            e->raw_bytes = rawlen;
            if ((rc = entry_put(ob, txn, e)))
                goto out;
            found = 1;
            break;
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    rc = found;
out:
    mdb_cursor_close(cur);
    tg_arena_destroy(&a);
    return rc;
}

/* Drops the oldest batch that is not in flight. 1 if dropped, 0 if none. */
static int shed_drop_one(tg_outbox *ob, MDB_txn *txn, tg_outbox_stats *s, uint64_t now)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int rc;
    tg_arena a;

    if ((rc = mdb_cursor_open(txn, ob->db_entries, &cur)))
        return mdb_err(rc);
    tg_arena_init(&a, 4096, 0);
    rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rc == 0) {
        uint64_t seq = tg_be64_get(k.mv_data);
        if (seq != ob->inflight) {
            Tollgate__V1__OutboxEntry *e =
                tollgate__v1__outbox_entry__unpack(&a.pb, v.mv_size, v.mv_data);
            uint8_t key[8];
            MDB_val bk = {8, key};
            if (!e) {
                rc = TG_ESTORE;
                goto out;
            }
            tg_be64_put(key, seq);
            if ((rc = mdb_del(txn, ob->db_batches, &bk, NULL)) ||
                (rc = mdb_del(txn, ob->db_entries, &bk, NULL))) {
                rc = mdb_err(rc);
                goto out;
            }
            s->shed_batches++;
            s->shed_records += e->records;
            s->shed_spans += e->spans;
            s->shed_bytes += e->stored_bytes;
            s->batches--;
            s->bytes -= e->stored_bytes;
            s->records -= e->records;
            s->spans -= e->spans;
            if ((rc = ledger_shed(ob, txn, e, e->records, e->spans, e->stored_bytes, now,
                                  s)) ||
                (rc = notice_add(ob, txn, seq, 1, e->spans, e->records, e->stored_bytes,
                                 now, "outbox budget: batch dropped")))
                goto out;
            rc = 1;
            goto out;
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    rc = 0;
out:
    mdb_cursor_close(cur);
    tg_arena_destroy(&a);
    return rc;
}

static int enforce_budget(tg_outbox *ob, MDB_txn *txn, tg_outbox_stats *s,
                          uint64_t target, uint64_t now)
{
    /* Summaries stripped first, whole batches dropped only after. */
    int (*const shed[2])(tg_outbox *, MDB_txn *, tg_outbox_stats *,
                         uint64_t) = {shed_strip_one, shed_drop_one};
    int rc;

    for (int i = 0; i < 2; i++)
        while (s->bytes > target && (rc = shed[i](ob, txn, s, now)) != 0)
            if (rc < 0)
                return rc;
    return 0;
}

/* Oldest entry's creation time, for the backlog age. */
static void refresh_oldest(tg_outbox *ob, MDB_txn *txn, tg_outbox_stats *s)
{
    MDB_cursor *cur;
    MDB_val k, v;

    s->oldest_created_ns = 0;
    if (mdb_cursor_open(txn, ob->db_entries, &cur))
        return;
    if (mdb_cursor_get(cur, &k, &v, MDB_FIRST) == 0) {
        Tollgate__V1__OutboxEntry *e =
            tollgate__v1__outbox_entry__unpack(NULL, v.mv_size, v.mv_data);
        if (e) {
            s->oldest_created_ns = e->created_unix_nano;
            tollgate__v1__outbox_entry__free_unpacked(e, NULL);
        }
    }
    mdb_cursor_close(cur);
}

static int load_state(tg_outbox *ob, MDB_txn *txn)
{
    MDB_val v;
    MDB_cursor *cur;
    MDB_val k;
    tg_outbox_stats *s = &ob->st;
    int rc;

    if (meta_get(txn, ob->db_meta, META_FORMAT, &v) == 0) {
        if (v.mv_size != 8 || tg_be64_get(v.mv_data) != TG_OUTBOX_FORMAT_VERSION)
            return TG_EVERSION;
        if (meta_get(txn, ob->db_meta, META_EPOCH, &v) != 0 || v.mv_size != 16)
            return TG_ESTORE;
        memcpy(ob->epoch, v.mv_data, 16);
    } else {
        if (RAND_bytes(ob->epoch, 16) != 1)
            return TG_EIO;
        if ((rc =
                 meta_put_u64(txn, ob->db_meta, META_FORMAT, TG_OUTBOX_FORMAT_VERSION)) ||
            (rc = meta_put(txn, ob->db_meta, META_EPOCH, ob->epoch, 16)) ||
            (rc = meta_put_u64(txn, ob->db_meta, META_NEXT, 1)))
            return mdb_err(rc);
    }
    tg_hex_encode(ob->epoch, 16, ob->epoch_hex);
    s->next_seq = meta_u64(txn, ob->db_meta, META_NEXT);
    if (!s->next_seq)
        s->next_seq = 1;
    s->cursor = meta_u64(txn, ob->db_meta, META_CURSOR);
    s->acked_seq = meta_u64(txn, ob->db_meta, META_ACKED);
    s->ledger_entries = meta_u64(txn, ob->db_meta, META_LEDGER_NEXT);
    if (meta_get(txn, ob->db_meta, META_LEDGER_HEAD, &v) == 0 && v.mv_size == 32)
        memcpy(s->ledger_head, v.mv_data, 32);
    if (meta_get(txn, ob->db_meta, META_COUNTERS, &v) == 0 && v.mv_size == 8 * C_COUNT) {
        const uint8_t *p = v.mv_data;
        s->shed_batches = tg_be64_get(p + 8 * C_SHED_BATCHES);
        s->shed_stripped = tg_be64_get(p + 8 * C_SHED_STRIPPED);
        s->shed_records = tg_be64_get(p + 8 * C_SHED_RECORDS);
        s->shed_spans = tg_be64_get(p + 8 * C_SHED_SPANS);
        s->shed_bytes = tg_be64_get(p + 8 * C_SHED_BYTES);
        s->rejected = tg_be64_get(p + 8 * C_REJECTED);
    }
    /* Backlog totals come from the entries themselves: a few thousand at
     * most, read once at open. */
    if ((rc = mdb_cursor_open(txn, ob->db_entries, &cur)))
        return mdb_err(rc);
    rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rc == 0) {
        Tollgate__V1__OutboxEntry *e =
            tollgate__v1__outbox_entry__unpack(NULL, v.mv_size, v.mv_data);
        if (e) {
            s->batches++;
            s->bytes += e->stored_bytes;
            s->records += e->records;
            s->spans += e->spans;
            if (!s->oldest_created_ns)
                s->oldest_created_ns = e->created_unix_nano;
            tollgate__v1__outbox_entry__free_unpacked(e, NULL);
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return 0;
}

tg_outbox *tg_outbox_open(const char *dir, const tg_outbox_options *opt, int *err)
{
    tg_outbox *ob = calloc(1, sizeof(*ob));
    MDB_txn *txn = NULL;
    size_t map;
    int rc;

    if (!ob) {
        *err = TG_ENOMEM;
        return NULL;
    }
    ob->opt = *opt;
    if (!ob->opt.max_bytes)
        ob->opt.max_bytes = 256ull << 20;
    snprintf(ob->site, sizeof(ob->site), "%s", opt->site ? opt->site : "");
    snprintf(ob->destination, sizeof(ob->destination), "%s",
             opt->destination ? opt->destination : "central");
    snprintf(ob->url, sizeof(ob->url), "%s",
             opt->destination_url ? opt->destination_url : "");
    pthread_mutex_init(&ob->mu, NULL);
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        *err = TG_EIO;
        goto fail;
    }
    /* The map must hold the budget plus LMDB's page overhead, the ledger
     * (which grows without bound, ~300 bytes per batch) and headroom for a
     * transaction that adds before it sheds. Virtual space is cheap. */
    map = (size_t)(ob->opt.max_bytes * 3 + (1ull << 30));
    if ((rc = mdb_env_create(&ob->env)) || (rc = mdb_env_set_maxdbs(ob->env, 16)) ||
        (rc = mdb_env_set_mapsize(ob->env, map)) ||
        (rc = mdb_env_open(ob->env, dir, MDB_NOTLS | (opt->no_sync ? MDB_NOSYNC : 0),
                           0640))) {
        tg_error("outbox open failed", "err=\"%s\"", mdb_strerror(rc));
        *err = mdb_err(rc);
        goto fail;
    }
    if ((rc = mdb_txn_begin(ob->env, NULL, 0, &txn)) ||
        (rc = mdb_dbi_open(txn, "batches", MDB_CREATE, &ob->db_batches)) ||
        (rc = mdb_dbi_open(txn, "entries", MDB_CREATE, &ob->db_entries)) ||
        (rc = mdb_dbi_open(txn, "ledger", MDB_CREATE, &ob->db_ledger)) ||
        (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &ob->db_meta))) {
        *err = mdb_err(rc);
        goto fail;
    }
    if ((rc = tg_outbox_tlog_open(&ob->tlog, txn, ob->db_meta))) {
        *err = rc;
        goto fail;
    }
    ob->st.tlog_size = tg_outbox_tlog_size(&ob->tlog, txn);
    if (opt->audit_key_dir) {
        char origin[TG_AUDIT_NAME_MAX + 1], kerr[256];

        snprintf(origin, sizeof(origin), "%s%s", TG_OUTBOX_TLOG_ORIGIN_PREFIX, ob->site);
        if ((rc = tg_audit_keys_open(opt->audit_key_dir, TG_OUTBOX_TLOG_KEY_FILE, origin,
                                     TG_AUDIT_SIG_ED25519, &ob->tlog.key, kerr,
                                     sizeof(kerr)))) {
            tg_error("audit key unusable", "err=\"%s\"", kerr);
            *err = rc;
            goto fail;
        }
        ob->tlog.has_key = 1;
    }
    if ((rc = load_state(ob, txn))) {
        *err = rc;
        goto fail;
    }
    if ((rc = mdb_txn_commit(txn))) {
        txn = NULL;
        *err = mdb_err(rc);
        goto fail;
    }
    ob->st.max_bytes = ob->opt.max_bytes;
    return ob;
fail:
    if (txn)
        mdb_txn_abort(txn);
    if (ob->env)
        mdb_env_close(ob->env);
    pthread_mutex_destroy(&ob->mu);
    free(ob);
    return NULL;
}

void tg_outbox_close(tg_outbox *ob)
{
    if (!ob)
        return;
    tg_audit_signer_clear(&ob->tlog.key);
    mdb_env_close(ob->env);
    pthread_mutex_destroy(&ob->mu);
    free(ob);
}

const uint8_t *tg_outbox_epoch(const tg_outbox *ob)
{
    return ob->epoch;
}

/* A counter of ob->st read under the lock that guards it. */
static uint64_t locked_read(tg_outbox *ob, const uint64_t *field)
{
    uint64_t c;

    pthread_mutex_lock(&ob->mu);
    c = *field;
    pthread_mutex_unlock(&ob->mu);
    return c;
}

uint64_t tg_outbox_cursor(tg_outbox *ob)
{
    return locked_read(ob, &ob->st.cursor);
}

uint64_t tg_outbox_next_seq(tg_outbox *ob)
{
    return locked_read(ob, &ob->st.next_seq);
}

int tg_outbox_pending_shed(tg_outbox *ob, Tollgate__V1__ShedNotice *n)
{
    MDB_txn *txn;
    MDB_val v;
    Tollgate__V1__ShedNotice *p;
    int found = 0;

    if (mdb_txn_begin(ob->env, NULL, MDB_RDONLY, &txn))
        return 0;
    if (meta_get(txn, ob->db_meta, META_SHED, &v) == 0 &&
        (p = tollgate__v1__shed_notice__unpack(NULL, v.mv_size, v.mv_data))) {
        tollgate__v1__shed_notice__init(n);
        n->first_sequence = p->first_sequence;
        n->last_sequence = p->last_sequence;
        n->batches = p->batches;
        n->spans = p->spans;
        n->records = p->records;
        n->bytes = p->bytes;
        n->time_unix_nano = p->time_unix_nano;
        n->reason = p->batches ? "outbox budget: batches dropped"
                               : "outbox budget: span summaries dropped";
        tollgate__v1__shed_notice__free_unpacked(p, NULL);
        found = 1;
    }
    mdb_txn_abort(txn);
    return found;
}

int tg_outbox_put(tg_outbox *ob, const tg_outbox_append *a)
{
    tg_outbox_stats s;
    MDB_txn *txn;
    int rc, attempt;

    pthread_mutex_lock(&ob->mu);
    if (a->blob && a->seq != ob->st.next_seq) {
        pthread_mutex_unlock(&ob->mu);
        return TG_EINVAL;
    }
    for (attempt = 0; attempt < 2; attempt++) {
        s = ob->st;
        if ((rc = mdb_txn_begin(ob->env, NULL, 0, &txn))) {
            rc = mdb_err(rc);
            break;
        }
        if (attempt == 1) {
            /* The map filled up: shed to half the budget first. */
            if ((rc = enforce_budget(ob, txn, &s, s.max_bytes / 2, a->now_ns)))
                goto abort;
        }
        if (a->blob) {
            Tollgate__V1__OutboxEntry e = TOLLGATE__V1__OUTBOX_ENTRY__INIT;
            Tollgate__V1__ClassActionCount cc[TG_TALLY_MAX], *ccp[TG_TALLY_MAX];
            uint8_t key[8];
            MDB_val k = {8, key}, v = {a->len, (void *)a->blob};
            size_t nc = a->tally ? a->tally->n : 0;

            tg_be64_put(key, a->seq);
            if ((rc = mdb_put(txn, ob->db_batches, &k, &v, MDB_APPEND))) {
                rc = rc == MDB_MAP_FULL ? 1 : mdb_err(rc);
                goto abort;
            }
            e.sequence = a->seq;
            e.created_unix_nano = a->now_ns;
            e.window_start_unix_nano = a->window_start;
            e.window_end_unix_nano = a->window_end;
            e.records = a->records;
            e.spans = a->spans;
            e.raw_bytes = a->raw_bytes;
            e.stored_bytes = a->len;
            e.policy_version = (char *)(a->policy_version ? a->policy_version : "");
            for (size_t i = 0; i < nc; i++) {
                tollgate__v1__class_action_count__init(&cc[i]);
                cc[i].data_class = (char *)a->tally->e[i].data_class;
                cc[i].action = (char *)a->tally->e[i].action;
                cc[i].count = a->tally->e[i].count;
                ccp[i] = &cc[i];
            }
            e.counts = ccp;
            e.n_counts = nc;
            if ((rc = entry_put(ob, txn, &e)))
                goto abort;
            s.next_seq = a->seq + 1;
            s.batches++;
            s.bytes += a->len;
            s.records += a->records;
            s.spans += a->spans;
            s.appended_bytes += a->len;
            if (!s.oldest_created_ns)
                s.oldest_created_ns = a->now_ns;
            if ((rc = meta_put_u64(txn, ob->db_meta, META_NEXT, s.next_seq))) {
                rc = rc == MDB_MAP_FULL ? 1 : mdb_err(rc);
                goto abort;
            }
        }
        if (a->carried_shed) {
            MDB_val k = {strlen(META_SHED), META_SHED};
            mdb_del(txn, ob->db_meta, &k, NULL);
        }
        if (a->cursor > s.cursor) {
            s.cursor = a->cursor;
            if ((rc = meta_put_u64(txn, ob->db_meta, META_CURSOR, s.cursor))) {
                rc = rc == MDB_MAP_FULL ? 1 : mdb_err(rc);
                goto abort;
            }
        }
        if ((rc = enforce_budget(ob, txn, &s, s.max_bytes, a->now_ns)))
            goto abort;
        if ((rc = save_counters(ob, txn, &s))) {
            rc = rc == MDB_MAP_FULL ? 1 : mdb_err(rc);
            goto abort;
        }
        refresh_oldest(ob, txn, &s);
        rc = mdb_txn_commit(txn);
        if (rc == MDB_MAP_FULL) {
            rc = 1;
            continue;
        }
        if (rc) {
            rc = mdb_err(rc);
            break;
        }
        ob->st = s;
        break;
    abort:
        mdb_txn_abort(txn);
        if (rc != 1)
            break;
    }
    pthread_mutex_unlock(&ob->mu);
    if (rc == 1)
        rc = TG_ESTORE;
    if (rc)
        tg_error("outbox write failed", "err=%s", tg_err_name(rc));
    return rc;
}

int tg_outbox_peek(tg_outbox *ob, tg_outbox_batch *out)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    uint8_t key[8];
    int rc;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&ob->mu);
    if ((rc = mdb_txn_begin(ob->env, NULL, MDB_RDONLY, &txn))) {
        pthread_mutex_unlock(&ob->mu);
        return mdb_err(rc);
    }
    if ((rc = mdb_cursor_open(txn, ob->db_batches, &cur))) {
        rc = mdb_err(rc);
        goto out;
    }
    tg_be64_put(key, ob->st.acked_seq + 1);
    k.mv_size = 8;
    k.mv_data = key;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (rc == 0) {
        tg_arena a;
        Tollgate__V1__OutboxEntry *e;
        out->seq = tg_be64_get(k.mv_data);
        out->blob = malloc(v.mv_size ? v.mv_size : 1);
        if (!out->blob) {
            rc = TG_ENOMEM;
            mdb_cursor_close(cur);
            goto out;
        }
        memcpy(out->blob, v.mv_data, v.mv_size);
        out->len = v.mv_size;
        tg_arena_init(&a, 4096, 0);
        e = entry_get(ob, txn, out->seq, &a);
        if (e) {
            out->raw_bytes = e->raw_bytes;
            out->records = e->records;
            out->spans = e->spans;
            out->created_ns = e->created_unix_nano;
            out->ledgered = e->ledgered;
        }
        tg_arena_destroy(&a);
        ob->inflight = out->seq;
    } else {
        rc = rc == MDB_NOTFOUND ? TG_ENOT_FOUND : mdb_err(rc);
    }
    mdb_cursor_close(cur);
out:
    mdb_txn_abort(txn);
    pthread_mutex_unlock(&ob->mu);
    return rc;
}

void tg_outbox_release(tg_outbox *ob)
{
    pthread_mutex_lock(&ob->mu);
    ob->inflight = 0;
    pthread_mutex_unlock(&ob->mu);
}

void tg_outbox_batch_free(tg_outbox_batch *b)
{
    free(b->blob);
    b->blob = NULL;
}

static int ledger_batch(tg_outbox *ob, uint64_t seq, const char *event, unsigned version,
                        uint64_t wire_bytes, uint64_t now_ns, int drop)
{
    MDB_txn *txn;
    tg_arena a;
    Tollgate__V1__OutboxEntry *e;
    tg_outbox_stats s;
    int rc;

    pthread_mutex_lock(&ob->mu);
    s = ob->st;
    tg_arena_init(&a, 4096, 0);
    if ((rc = mdb_txn_begin(ob->env, NULL, 0, &txn))) {
        rc = mdb_err(rc);
        goto out;
    }
    e = entry_get(ob, txn, seq, &a);
    if (!e) {
        rc = TG_ENOT_FOUND;
        goto abort;
    }
    if (!e->ledgered || drop) {
        Tollgate__V1__EgressRecord r = TOLLGATE__V1__EGRESS_RECORD__INIT;
        char id[256];
        batch_id(ob, seq, id, sizeof(id));
        r.event = (char *)event;
        r.batch_id = id;
        r.destination = ob->destination;
        r.destination_url = ob->url;
        r.window_start_unix_nano = e->window_start_unix_nano;
        r.window_end_unix_nano = e->window_end_unix_nano;
        r.counts = e->counts;
        r.n_counts = e->n_counts;
        r.records = e->records;
        r.spans = e->spans;
        r.bytes_raw = e->raw_bytes;
        r.bytes_wire = wire_bytes;
        r.policy_version = e->policy_version;
        r.time_unix_nano = now_ns;
        r.protocol_version = version;
        r.first_sequence = r.last_sequence = seq;
        if ((rc = ledger_append(ob, txn, &r, &s)))
            goto abort;
        e->ledgered = 1;
        if (drop) {
            uint8_t key[8];
            MDB_val k = {8, key};
            tg_be64_put(key, seq);
            if ((rc = mdb_del(txn, ob->db_batches, &k, NULL)) ||
                (rc = mdb_del(txn, ob->db_entries, &k, NULL))) {
                rc = mdb_err(rc);
                goto abort;
            }
            s.batches--;
            s.bytes -= e->stored_bytes;
            s.records -= e->records;
            s.spans -= e->spans;
            s.rejected++;
            if ((rc = save_counters(ob, txn, &s))) {
                rc = mdb_err(rc);
                goto abort;
            }
            refresh_oldest(ob, txn, &s);
        } else if ((rc = entry_put(ob, txn, e))) {
            goto abort;
        }
        if ((rc = mdb_txn_commit(txn))) {
            rc = mdb_err(rc);
            goto out;
        }
        ob->st = s;
        goto out;
    }
abort:
    mdb_txn_abort(txn);
out:
    tg_arena_destroy(&a);
    pthread_mutex_unlock(&ob->mu);
    return rc;
}

int tg_outbox_ledger_egress(tg_outbox *ob, uint64_t seq, unsigned protocol_version,
                            uint64_t wire_bytes, uint64_t now_ns)
{
    return ledger_batch(ob, seq, "egress", protocol_version, wire_bytes, now_ns, 0);
}

/* Runs fn in one write transaction of the outbox under its lock, on a copy
 * of the counters: fn returns 0 to commit (the copy becomes the counters),
 * 1 to abort with nothing to do, or an error (aborted). 0 or that error. */
static int ledger_txn(tg_outbox *ob,
                      int (*fn)(tg_outbox *, MDB_txn *, tg_outbox_stats *, void *),
                      void *ctx)
{
    tg_outbox_stats s;
    MDB_txn *txn;
    int rc;

    pthread_mutex_lock(&ob->mu);
    s = ob->st;
    if ((rc = mdb_txn_begin(ob->env, NULL, 0, &txn))) {
        rc = mdb_err(rc);
    } else if ((rc = fn(ob, txn, &s, ctx))) {
        mdb_txn_abort(txn);
        rc = rc > 0 ? 0 : rc;
    } else if ((rc = mdb_txn_commit(txn))) {
        rc = mdb_err(rc);
    } else {
        ob->st = s;
    }
    pthread_mutex_unlock(&ob->mu);
    return rc;
}

static int append_one(tg_outbox *ob, MDB_txn *txn, tg_outbox_stats *s, void *ctx)
{
    return ledger_append(ob, txn, ctx, s);
}

int tg_outbox_ledger_query(tg_outbox *ob, const tg_outbox_query *q, uint64_t now_ns)
{
    Tollgate__V1__EgressRecord r = TOLLGATE__V1__EGRESS_RECORD__INIT;
    Tollgate__V1__ClassActionCount cv[TG_TALLY_MAX], *cp[TG_TALLY_MAX];
    size_t n = q->tally ? q->tally->n : 0;

    for (size_t i = 0; i < n; i++) {
        tollgate__v1__class_action_count__init(&cv[i]);
        cv[i].data_class = (char *)q->tally->e[i].data_class;
        cv[i].action = (char *)q->tally->e[i].action;
        cv[i].count = q->tally->e[i].count;
        cp[i] = &cv[i];
    }
    r.event = "query";
    r.destination = (char *)q->requester;
    r.requester = (char *)q->requester;
    r.view = (char *)q->view;
    r.query_kind = (char *)q->kind;
    r.counts = cp;
    r.n_counts = n;
    r.records = q->records;
    r.bytes_raw = q->bytes_raw;
    r.bytes_wire = q->bytes_sent;
    r.window_start_unix_nano = q->window_start_ns;
    r.window_end_unix_nano = q->window_end_ns;
    r.policy_version = (char *)(q->policy_version ? q->policy_version : "");
    r.time_unix_nano = now_ns;
    return ledger_txn(ob, append_one, &r);
}

/* meta: the store's counts the last "retention" entry covered, as an
 * EgressRecord whose counts are the totals and whose time is that entry's. */
#define META_RETENTION "retention_totals"

static uint64_t retention_prev(const Tollgate__V1__EgressRecord *prev,
                               const tg_outbox_retention_count *c)
{
    for (size_t i = 0; prev && i < prev->n_counts; i++)
        if (strcmp(prev->counts[i]->data_class, c->data_class) == 0 &&
            strcmp(prev->counts[i]->action, c->action) == 0)
            return prev->counts[i]->count;
    return 0;
}

/* Writes the entry and the new totals in one transaction; *appended when
 * anything grew. Called with ob->mu held. */
static int retention_txn(tg_outbox *ob, MDB_txn *txn, const tg_outbox_retention_count *c,
                         size_t n, uint64_t now_ns, tg_outbox_stats *s, int *appended)
{
    Tollgate__V1__EgressRecord r = TOLLGATE__V1__EGRESS_RECORD__INIT;
    Tollgate__V1__EgressRecord tot = TOLLGATE__V1__EGRESS_RECORD__INIT;
    Tollgate__V1__EgressRecord *prev = NULL;
    Tollgate__V1__ClassActionCount *dv = calloc(n ? n : 1, sizeof(*dv));
    Tollgate__V1__ClassActionCount *tv = calloc(n ? n : 1, sizeof(*tv));
    Tollgate__V1__ClassActionCount **dp = calloc(n ? n : 1, sizeof(*dp));
    Tollgate__V1__ClassActionCount **tp = calloc(n ? n : 1, sizeof(*tp));
    uint8_t *buf = NULL;
    size_t nd = 0;
    uint64_t deleted = 0;
    MDB_val v;
    int rc = 0;

    if (!dv || !tv || !dp || !tp) {
        rc = TG_ENOMEM;
        goto out;
    }
    if (meta_get(txn, ob->db_meta, META_RETENTION, &v) == 0)
        prev = tollgate__v1__egress_record__unpack(NULL, v.mv_size, v.mv_data);
    for (size_t i = 0; i < n; i++) {
        uint64_t was = retention_prev(prev, &c[i]);
        uint64_t grew = c[i].total >= was ? c[i].total - was : c[i].total;

        tollgate__v1__class_action_count__init(&tv[i]);
        tv[i].data_class = (char *)c[i].data_class;
        tv[i].action = (char *)c[i].action;
        tv[i].count = c[i].total;
        tp[i] = &tv[i];
        if (!grew)
            continue;
        tollgate__v1__class_action_count__init(&dv[nd]);
        dv[nd].data_class = (char *)c[i].data_class;
        dv[nd].action = (char *)c[i].action;
        dv[nd].count = grew;
        dp[nd] = &dv[nd];
        nd++;
        deleted += grew;
    }
    if (nd == 0)
        goto out;
    r.event = "retention";
    r.destination = "local store";
    r.counts = dp;
    r.n_counts = nd;
    r.records = deleted;
    r.window_start_unix_nano = prev ? prev->time_unix_nano : 0;
    r.window_end_unix_nano = now_ns;
    r.time_unix_nano = now_ns;
    if ((rc = ledger_append(ob, txn, &r, s)))
        goto out;
    tot.event = "retention";
    tot.counts = tp;
    tot.n_counts = n;
    tot.time_unix_nano = now_ns;
    if (!(buf = malloc(tollgate__v1__egress_record__get_packed_size(&tot) + 1))) {
        rc = TG_ENOMEM;
        goto out;
    }
    if ((rc = meta_put(txn, ob->db_meta, META_RETENTION, buf,
                       tollgate__v1__egress_record__pack(&tot, buf)))) {
        rc = mdb_err(rc);
        goto out;
    }
    *appended = 1;
out:
    if (prev)
        tollgate__v1__egress_record__free_unpacked(prev, NULL);
    free(buf);
    free(dv);
    free(tv);
    free(dp);
    free(tp);
    return rc;
}

typedef struct retention_args {
    const tg_outbox_retention_count *c;
    size_t n;
    uint64_t now_ns;
    int *appended;
} retention_args;

static int retention_one(tg_outbox *ob, MDB_txn *txn, tg_outbox_stats *s, void *ctx)
{
    retention_args *a = ctx;
    int rc = retention_txn(ob, txn, a->c, a->n, a->now_ns, s, a->appended);

    return rc ? rc : !*a->appended;
}

int tg_outbox_ledger_retention(tg_outbox *ob, const tg_outbox_retention_count *c,
                               size_t n, uint64_t now_ns, int *appended)
{
    retention_args a = {c, n, now_ns, appended};
    int rc;

    *appended = 0;
    if ((rc = ledger_txn(ob, retention_one, &a)))
        *appended = 0;
    return rc;
}

int tg_outbox_reject(tg_outbox *ob, uint64_t seq, uint64_t now_ns)
{
    return ledger_batch(ob, seq, "rejected", 0, 0, now_ns, 1);
}

int tg_outbox_ack(tg_outbox *ob, uint64_t through)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    tg_outbox_stats s;
    int rc;

    pthread_mutex_lock(&ob->mu);
    if (through <= ob->st.acked_seq && ob->st.batches == 0) {
        pthread_mutex_unlock(&ob->mu);
        return 0;
    }
    s = ob->st;
    if ((rc = mdb_txn_begin(ob->env, NULL, 0, &txn))) {
        pthread_mutex_unlock(&ob->mu);
        return mdb_err(rc);
    }
    if ((rc = mdb_cursor_open(txn, ob->db_entries, &cur))) {
        rc = mdb_err(rc);
        goto abort;
    }
    rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rc == 0 && tg_be64_get(k.mv_data) <= through) {
        Tollgate__V1__OutboxEntry *e =
            tollgate__v1__outbox_entry__unpack(NULL, v.mv_size, v.mv_data);
        MDB_val bk = {8, k.mv_data};
        if (e) {
            s.batches--;
            s.bytes -= e->stored_bytes;
            s.records -= e->records;
            s.spans -= e->spans;
            tollgate__v1__outbox_entry__free_unpacked(e, NULL);
        }
        mdb_del(txn, ob->db_batches, &bk, NULL);
        if ((rc = mdb_cursor_del(cur, 0)))
            break;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        rc = mdb_err(rc);
        goto abort;
    }
    if (through > s.acked_seq)
        s.acked_seq = through;
    if ((rc = meta_put_u64(txn, ob->db_meta, META_ACKED, s.acked_seq))) {
        rc = mdb_err(rc);
        goto abort;
    }
    refresh_oldest(ob, txn, &s);
    if ((rc = mdb_txn_commit(txn))) {
        pthread_mutex_unlock(&ob->mu);
        return mdb_err(rc);
    }
    ob->st = s;
    pthread_mutex_unlock(&ob->mu);
    return 0;
abort:
    mdb_txn_abort(txn);
    pthread_mutex_unlock(&ob->mu);
    return rc;
}

void tg_outbox_get_stats(tg_outbox *ob, tg_outbox_stats *s)
{
    pthread_mutex_lock(&ob->mu);
    *s = ob->st;
    pthread_mutex_unlock(&ob->mu);
}

int tg_outbox_ledger_foreach(tg_outbox *ob, tg_ledger_cb cb, void *ctx)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc;

    if ((rc = mdb_txn_begin(ob->env, NULL, MDB_RDONLY, &txn)))
        return mdb_err(rc);
    if ((rc = mdb_cursor_open(txn, ob->db_ledger, &cur))) {
        mdb_txn_abort(txn);
        return mdb_err(rc);
    }
    rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rc == 0) {
        Tollgate__V1__EgressRecord *r =
            tollgate__v1__egress_record__unpack(NULL, v.mv_size, v.mv_data);
        int stop;
        if (!r) {
            rc = TG_ESTORE;
            break;
        }
        stop = cb(ctx, r, v.mv_data, v.mv_size);
        tollgate__v1__egress_record__free_unpacked(r, NULL);
        if (stop) {
            rc = 0;
            break;
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return rc == MDB_NOTFOUND ? 0 : (rc > 0 ? mdb_err(rc) : rc);
}

typedef struct verify_ctx {
    uint8_t prev[32];
    uint64_t n, bad;
    int failed;
} verify_ctx;

static int verify_one(void *ctx, const Tollgate__V1__EgressRecord *r,
                      const uint8_t *bytes, size_t len)
{
    verify_ctx *c = ctx;
    Tollgate__V1__EgressRecord copy = *r;
    uint8_t *buf, hash[32];
    size_t n;

    (void)bytes;
    (void)len;
    if (r->index != c->n || r->prev_hash.len != 32 ||
        memcmp(r->prev_hash.data, c->prev, 32) || r->entry_hash.len != 32)
        goto bad;
    copy.entry_hash.data = NULL;
    copy.entry_hash.len = 0;
    n = tollgate__v1__egress_record__get_packed_size(&copy);
    buf = malloc(n ? n : 1);
    if (!buf)
        goto bad;
    tollgate__v1__egress_record__pack(&copy, buf);
    sha256_leaf(buf, n, hash);
    free(buf);
    if (memcmp(hash, r->entry_hash.data, 32) != 0)
        goto bad;
    memcpy(c->prev, hash, 32);
    c->n++;
    return 0;
bad:
    c->bad = r->index;
    c->failed = 1;
    return 1;
}

int tg_outbox_ledger_verify(tg_outbox *ob, uint64_t *entries, uint64_t *bad)
{
    verify_ctx c;
    int rc;

    memset(&c, 0, sizeof(c));
    rc = tg_outbox_ledger_foreach(ob, verify_one, &c);
    if (entries)
        *entries = c.n;
    if (rc)
        return rc;
    if (c.failed) {
        if (bad)
            *bad = c.bad;
        return TG_ESTORE;
    }
    return 0;
}

int tg_outbox_audit_read(tg_outbox *ob, const char *path, size_t len, tg_strbuf *out)
{
    MDB_txn *txn;
    int rc;

    if ((rc = mdb_txn_begin(ob->env, NULL, MDB_RDONLY, &txn)))
        return mdb_err(rc);
    rc = tg_outbox_tlog_serve(&ob->tlog, txn, path, len, out);
    mdb_txn_abort(txn);
    return rc;
}

int tg_outbox_tlog_run(tg_outbox *ob, int write, tg_outbox_tlog_fn fn, void *ctx)
{
    MDB_txn *txn;
    int rc;

    if ((rc = mdb_txn_begin(ob->env, NULL, write ? 0 : MDB_RDONLY, &txn)))
        return mdb_err(rc);
    rc = fn(&ob->tlog, txn, ctx);
    if (rc == 0 && write) {
        if ((rc = mdb_txn_commit(txn)))
            return mdb_err(rc);
        return 0;
    }
    mdb_txn_abort(txn);
    return rc;
}
