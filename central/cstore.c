#include "tg_codec.h"
#include "cstore.h"

#include <errno.h>
#include <lmdb.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tg_arena.h"
#include "tg_err.h"
#include "tg_exphist.h"
#include "tg_log.h"

#define EVICT_PER_TXN 4096

struct tg_cstore {
    MDB_env *env;
    MDB_dbi db_sites, db_batches, db_red, db_logs, db_costs, db_meta, db_epochs,
        db_models;
    int have_dbs, have_models;
    tg_cstore_options opt;
    char path[1100];
    uint64_t evicted;
    int have_epochs; /* a version-1 store opened read-only has none */
    int v1_keys;     /* batches still keyed site '\0' seq (read-only v1) */
};

/* Signed times keep their order as keys with the sign bit flipped. */
static void bei64(uint8_t *p, int64_t v)
{
    tg_be64_put(p, (uint64_t)v ^ 0x8000000000000000ull);
}

static int64_t get_bei64(const uint8_t *p)
{
    return (int64_t)(tg_be64_get(p) ^ 0x8000000000000000ull);
}

static int mdb_err(int rc)
{
    return rc == ENOMEM ? TG_ENOMEM : TG_ESTORE;
}

/* A key builder: NUL-separated strings and big-endian integers. LMDB keys
 * are at most 511 bytes, so strings are cut (never inside UTF-8). */
typedef struct kb {
    uint8_t b[511];
    size_t n;
    int over;
} kb;

static void kb_str(kb *k, const char *s)
{
    size_t l = strlen(s ? s : "");
    if (l > 120) {
        l = 120;
        while (l > 0 && ((unsigned char)s[l] & 0xC0) == 0x80)
            l--;
    }
    if (k->n + l + 1 > sizeof(k->b)) {
        k->over = 1;
        return;
    }
    memcpy(k->b + k->n, s ? s : "", l);
    k->n += l;
    k->b[k->n++] = '\0';
}

/* Room for n more bytes of key, or NULL (and the key marked over-long). */
static uint8_t *kb_room(kb *k, size_t n)
{
    uint8_t *p;

    if (k->n + n > sizeof(k->b)) {
        k->over = 1;
        return NULL;
    }
    p = k->b + k->n;
    k->n += n;
    return p;
}

static void kb_u32(kb *k, uint32_t v)
{
    uint8_t *p = kb_room(k, 4);

    if (p)
        tg_be32_put(p, v);
}

static void kb_u64(kb *k, uint64_t v)
{
    uint8_t *p = kb_room(k, 8);

    if (p)
        tg_be64_put(p, v);
}

static void kb_i64(kb *k, int64_t v)
{
    uint8_t *p = kb_room(k, 8);

    if (p)
        bei64(p, v);
}

static int put_msg(MDB_txn *txn, MDB_dbi db, const kb *k, const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t stack[2048], *buf = n <= sizeof(stack) ? stack : malloc(n);
    MDB_val key = {k->n, (void *)k->b}, val;
    int rc;

    if (!buf)
        return TG_ENOMEM;
    protobuf_c_message_pack(m, buf);
    val.mv_size = n;
    val.mv_data = buf;
    rc = mdb_put(txn, db, &key, &val, 0);
    if (buf != stack)
        free(buf);
    return rc ? mdb_err(rc) : 0;
}

static uint64_t meta_u64(tg_cstore *cs, MDB_txn *txn, const char *name)
{
    MDB_val k = {strlen(name), (void *)name}, v;
    if (mdb_get(txn, cs->db_meta, &k, &v) != 0 || v.mv_size != 8)
        return 0;
    return tg_be64_get(v.mv_data);
}

static int meta_put_u64(tg_cstore *cs, MDB_txn *txn, const char *name, uint64_t x)
{
    uint8_t b[8];
    MDB_val k = {strlen(name), (void *)name}, v = {8, b};
    tg_be64_put(b, x);
    return mdb_put(txn, cs->db_meta, &k, &v, 0);
}

/* Format 1 keyed batches by (site, sequence) alone. Each is rekeyed under
 * the epoch its site holds now: a version-1 store kept one series per site
 * (a new epoch overwrote the old one's keys), so that is the only epoch its
 * batches can belong to. One transaction: the store is either version 1 or
 * version 2, never half of each. */
static int migrate_v1(tg_cstore *cs, MDB_txn *txn)
{
    MDB_cursor *cur;
    MDB_val k, v;
    uint64_t moved = 0;
    int rc;

    if ((rc = mdb_cursor_open(txn, cs->db_batches, &cur)))
        return mdb_err(rc);
    rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rc == 0) {
        const uint8_t *kd = k.mv_data;
        size_t sl = strnlen((const char *)kd, k.mv_size);
        uint8_t nk[511], epoch[16] = {0};
        MDB_val sk = {sl, (void *)kd}, sv, nkey, nval;
        uint8_t *copy;
        Tollgate__V1__CentralSite *st;
        Tollgate__V1__CentralBatchHeader *h;
        ProtobufCBinaryData old_epoch;
        size_t hl, total;

        if (sl + 1 + 8 != k.mv_size || v.mv_size < 4 ||
            tg_be32_get(v.mv_data) > v.mv_size - 4) {
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
            continue;
        }
        if (mdb_get(txn, cs->db_sites, &sk, &sv) == 0 &&
            (st = tollgate__v1__central_site__unpack(NULL, sv.mv_size, sv.mv_data))) {
            if (st->epoch.len == 16)
                memcpy(epoch, st->epoch.data, 16);
            tollgate__v1__central_site__free_unpacked(st, NULL);
        }
        h = tollgate__v1__central_batch_header__unpack(NULL, tg_be32_get(v.mv_data),
                                                       (const uint8_t *)v.mv_data + 4);
        if (!h) {
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
            continue;
        }
        old_epoch = h->epoch;
        h->epoch.data = epoch;
        h->epoch.len = 16;
        hl = tollgate__v1__central_batch_header__get_packed_size(h);
        {
            size_t old_hl = tg_be32_get(v.mv_data);
            size_t zlen = v.mv_size - 4 - old_hl;
            total = 4 + hl + zlen;
            copy = malloc(total);
            if (!copy) {
                h->epoch = old_epoch;
                tollgate__v1__central_batch_header__free_unpacked(h, NULL);
                mdb_cursor_close(cur);
                return TG_ENOMEM;
            }
            tg_be32_put(copy, (uint32_t)hl);
            tollgate__v1__central_batch_header__pack(h, copy + 4);
            memcpy(copy + 4 + hl, (const uint8_t *)v.mv_data + 4 + old_hl, zlen);
        }
        h->epoch = old_epoch; /* ours is on the stack: not for free_unpacked */
        tollgate__v1__central_batch_header__free_unpacked(h, NULL);
        memcpy(nk, kd, sl + 1);
        memcpy(nk + sl + 1, epoch, 16);
        memcpy(nk + sl + 1 + 16, kd + sl + 1, 8);
        nkey.mv_size = sl + 1 + 16 + 8;
        nkey.mv_data = nk;
        nval.mv_size = total;
        nval.mv_data = copy;
        {
            /* Put the new key, delete the old, and seek to where the old
             * one was: the cursor is never used across a change it did not
             * make. New keys met again are skipped by their length. */
            uint8_t ok[511];
            MDB_val okey = {k.mv_size, ok};
            memcpy(ok, kd, k.mv_size);
            rc = mdb_put(txn, cs->db_batches, &nkey, &nval, 0);
            if (rc == 0)
                rc = mdb_del(txn, cs->db_batches, &okey, NULL);
            free(copy);
            if (rc) {
                mdb_cursor_close(cur);
                return mdb_err(rc);
            }
            moved++;
            k = okey;
            rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        }
    }
    mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND && rc != 0)
        return mdb_err(rc);
    if ((rc = meta_put_u64(cs, txn, "format", TG_CSTORE_FORMAT_VERSION)))
        return mdb_err(rc);
    tg_info("central store migrated to format 2", "batches=%llu",
            (unsigned long long)moved);
    return 0;
}

tg_cstore *tg_cstore_open(const char *dir, const tg_cstore_options *opt, int *err)
{
    tg_cstore *cs = calloc(1, sizeof(*cs));
    MDB_txn *txn = NULL;
    unsigned flags = MDB_NOTLS;
    int rc, dbflags;

    if (!cs) {
        *err = TG_ENOMEM;
        return NULL;
    }
    cs->opt = *opt;
    snprintf(cs->path, sizeof(cs->path), "%s/data.mdb", dir);
    if (!opt->readonly && mkdir(dir, 0750) != 0 && errno != EEXIST) {
        *err = TG_EIO;
        free(cs);
        return NULL;
    }
    if (opt->readonly)
        flags |= MDB_RDONLY;
    if (opt->no_sync)
        flags |= MDB_NOSYNC;
    if ((rc = mdb_env_create(&cs->env)) || (rc = mdb_env_set_maxdbs(cs->env, 16)) ||
        (rc = mdb_env_set_mapsize(cs->env, (size_t)64 << 30)) ||
        (rc = mdb_env_open(cs->env, dir, flags, 0640))) {
        *err = rc == ENOENT ? TG_ENOT_FOUND : mdb_err(rc);
        goto fail;
    }
    if ((rc = mdb_txn_begin(cs->env, NULL, opt->readonly ? MDB_RDONLY : 0, &txn))) {
        *err = mdb_err(rc);
        goto fail;
    }
    dbflags = opt->readonly ? 0 : MDB_CREATE;
    rc = mdb_dbi_open(txn, "meta", dbflags, &cs->db_meta);
    if (rc == MDB_NOTFOUND && opt->readonly) {
        /* An empty store: nothing to export. */
        mdb_txn_abort(txn);
        return cs;
    }
    if (rc || (rc = mdb_dbi_open(txn, "sites", dbflags, &cs->db_sites)) ||
        (rc = mdb_dbi_open(txn, "batches", dbflags, &cs->db_batches)) ||
        (rc = mdb_dbi_open(txn, "red", dbflags, &cs->db_red)) ||
        (rc = mdb_dbi_open(txn, "logs", dbflags, &cs->db_logs)) ||
        (rc = mdb_dbi_open(txn, "costs", dbflags, &cs->db_costs))) {
        *err = mdb_err(rc);
        goto fail;
    }
    rc = mdb_dbi_open(txn, "epochs", dbflags, &cs->db_epochs);
    if (rc == MDB_NOTFOUND && opt->readonly)
        rc = 0; /* a version-1 store read by export: no epochs yet */
    else if (rc) {
        *err = mdb_err(rc);
        goto fail;
    } else
        cs->have_epochs = 1;
    /* Added after format 1 without changing it: a store from before has
     * none (read-only: nothing to read). */
    rc = mdb_dbi_open(txn, "models", dbflags, &cs->db_models);
    if (rc == 0)
        cs->have_models = 1;
    else if (rc != MDB_NOTFOUND) {
        *err = mdb_err(rc);
        goto fail;
    }
    {
        uint64_t fmt = meta_u64(cs, txn, "format");
        if (fmt == 1 && !opt->readonly) {
            if ((rc = migrate_v1(cs, txn))) {
                *err = rc;
                goto fail;
            }
            fmt = TG_CSTORE_FORMAT_VERSION;
        }
        if (fmt == 1 && opt->readonly)
            cs->v1_keys = 1;
        else if (fmt && fmt != TG_CSTORE_FORMAT_VERSION) {
            *err = TG_EVERSION;
            goto fail;
        }
        if (!fmt && !opt->readonly &&
            (rc = meta_put_u64(cs, txn, "format", TG_CSTORE_FORMAT_VERSION))) {
            *err = mdb_err(rc);
            goto fail;
        }
    }
    /* Committing (even a read-only txn) keeps the handles it opened. */
    if ((rc = mdb_txn_commit(txn))) {
        txn = NULL;
        *err = mdb_err(rc);
        goto fail;
    }
    cs->have_dbs = 1;
    return cs;
fail:
    if (txn)
        mdb_txn_abort(txn);
    if (cs->env)
        mdb_env_close(cs->env);
    free(cs);
    return NULL;
}

void tg_cstore_close(tg_cstore *cs)
{
    if (!cs)
        return;
    mdb_env_close(cs->env);
    free(cs);
}

/* ---- merging aggregates ------------------------------------------------------ */

static int merge_red(tg_cstore *cs, MDB_txn *txn, const char *site,
                     const Tollgate__V1__RedRecord *r, tg_arena *a)
{
    kb k = {.n = 0};
    MDB_val key, val;
    Tollgate__V1__RedRecord out = TOLLGATE__V1__RED_RECORD__INIT;
    tg_exphist *h = tg_arena_alloc(a, sizeof(*h)), *nh = tg_arena_alloc(a, sizeof(*nh));
    uint64_t req = r->requests, errs = r->errors;

    if (!h || !nh)
        return TG_ENOMEM;
    if (tg_exphist_from_pb(r->latency_seconds, nh) != 0 || r->errors > r->requests)
        return 1; /* malformed: refused, counted */
    kb_str(&k, site);
    kb_str(&k, r->service);
    kb_str(&k, r->operation);
    kb_u32(&k, r->kind);
    kb_i64(&k, r->minute_unix);
    if (k.over)
        return 1;
    key.mv_size = k.n;
    key.mv_data = k.b;
    tg_exphist_init(h);
    if (mdb_get(txn, cs->db_red, &key, &val) == 0) {
        Tollgate__V1__RedRecord *old =
            tollgate__v1__red_record__unpack(&a->pb, val.mv_size, val.mv_data);
        if (old) {
            tg_exphist_from_pb(old->latency_seconds, h);
            req += old->requests;
            errs += old->errors;
        }
    }
    tg_exphist_merge(h, nh);
    out.service = r->service;
    out.operation = r->operation;
    out.kind = r->kind;
    out.minute_unix = r->minute_unix;
    out.requests = req;
    out.errors = errs;
    out.latency_seconds = tg_exphist_to_pb(h, a);
    if (!out.latency_seconds)
        return TG_ENOMEM;
    return put_msg(txn, cs->db_red, &k, &out.base);
}

static int merge_log(tg_cstore *cs, MDB_txn *txn, const char *site,
                     const Tollgate__V1__LogTemplate *l, tg_arena *a)
{
    kb k = {.n = 0};
    MDB_val key, val;
    Tollgate__V1__LogTemplate out = *l;

    kb_str(&k, site);
    kb_str(&k, l->service);
    kb_u32(&k, l->severity_number);
    kb_i64(&k, l->minute_unix);
    kb_u64(&k, l->template_id);
    if (k.over)
        return 1;
    key.mv_size = k.n;
    key.mv_data = k.b;
    if (mdb_get(txn, cs->db_logs, &key, &val) == 0) {
        Tollgate__V1__LogTemplate *old =
            tollgate__v1__log_template__unpack(&a->pb, val.mv_size, val.mv_data);
        if (old)
            out.count += old->count;
    }
    return put_msg(txn, cs->db_logs, &k, &out.base);
}

static int finite_nonneg(double v)
{
    return isfinite(v) && v >= 0;
}

static int merge_cost(tg_cstore *cs, MDB_txn *txn, const char *site,
                      const Tollgate__V1__CostRecord *c, tg_arena *a)
{
    kb k = {.n = 0};
    MDB_val key, val;
    Tollgate__V1__CostRecord out = *c;

    if (!finite_nonneg(c->consumed_quantity) || !finite_nonneg(c->pricing_quantity) ||
        !finite_nonneg(c->list_cost) || !finite_nonneg(c->billed_cost) ||
        !finite_nonneg(c->effective_cost) || !finite_nonneg(c->contracted_cost) ||
        !finite_nonneg(c->list_unit_price))
        return 1;
    kb_str(&k, site);
    kb_str(&k, c->service);
    kb_str(&k, c->meter);
    /* attributed records stay apart; unattributed keep the old key */
    if ((c->model && c->model[0]) || (c->team && c->team[0]) || (c->run && c->run[0])) {
        kb_str(&k, c->model ? c->model : "");
        kb_str(&k, c->team ? c->team : "");
        kb_str(&k, c->run ? c->run : "");
    }
    kb_i64(&k, c->hour_unix);
    if (k.over)
        return 1;
    key.mv_size = k.n;
    key.mv_data = k.b;
    if (mdb_get(txn, cs->db_costs, &key, &val) == 0) {
        Tollgate__V1__CostRecord *old =
            tollgate__v1__cost_record__unpack(&a->pb, val.mv_size, val.mv_data);
        if (old) {
            out.consumed_quantity += old->consumed_quantity;
            out.pricing_quantity += old->pricing_quantity;
            out.list_cost += old->list_cost;
            out.billed_cost += old->billed_cost;
            out.effective_cost += old->effective_cost;
            out.contracted_cost += old->contracted_cost;
        }
    }
    return put_msg(txn, cs->db_costs, &k, &out.base);
}

/* ---- applying an upload ---------------------------------------------------------- */

static int merge_model(tg_cstore *cs, MDB_txn *txn, const char *site,
                       const tg_cstore_model_row *m)
{
    kb k = {.n = 0};
    MDB_val key, val;
    uint8_t b[24];
    uint64_t count = m->count;
    int64_t first = m->first_ns, last = m->last_ns;
    int rc;

    kb_str(&k, site);
    kb_str(&k, m->model);
    kb_str(&k, m->version);
    kb_i64(&k, m->bucket_ns);
    if (k.over)
        return 1;
    key.mv_size = k.n;
    key.mv_data = k.b;
    if (mdb_get(txn, cs->db_models, &key, &val) == 0 && val.mv_size == 24) {
        const uint8_t *p = val.mv_data;
        int64_t f0 = get_bei64(p + 8), l0 = get_bei64(p + 16);
        count += tg_be64_get(p);
        first = f0 < first ? f0 : first;
        last = l0 > last ? l0 : last;
    }
    tg_be64_put(b, count);
    bei64(b + 8, first);
    bei64(b + 16, last);
    val.mv_size = sizeof(b);
    val.mv_data = b;
    rc = mdb_put(txn, cs->db_models, &key, &val, 0);
    return rc ? mdb_err(rc) : 0;
}

static Tollgate__V1__CentralSite *site_get(tg_cstore *cs, MDB_txn *txn, const char *name,
                                           tg_arena *a)
{
    MDB_val k = {strlen(name), (void *)name}, v;

    if (mdb_get(txn, cs->db_sites, &k, &v) != 0)
        return NULL;
    return tollgate__v1__central_site__unpack(&a->pb, v.mv_size, v.mv_data);
}

static const char *epoch_hex(const uint8_t *e, char out[33])
{
    tg_hex_encode(e, 16, out);
    return out;
}

static void epoch_key(kb *k, const char *site, const uint8_t *epoch)
{
    uint8_t *p;

    kb_str(k, site);
    if ((p = kb_room(k, 16)))
        memcpy(p, epoch, 16);
}

/* 1 when the site has left `epoch` (its last sequence in *last). */
static int epoch_left(tg_cstore *cs, MDB_txn *txn, const char *site, const uint8_t *epoch,
                      uint64_t *last)
{
    kb k = {.n = 0};
    MDB_val key, v;

    epoch_key(&k, site, epoch);
    key.mv_size = k.n;
    key.mv_data = k.b;
    if (k.over || mdb_get(txn, cs->db_epochs, &key, &v) != 0 || v.mv_size != 8)
        return 0;
    *last = tg_be64_get(v.mv_data);
    return 1;
}

static int epoch_retire(tg_cstore *cs, MDB_txn *txn, const char *site,
                        const uint8_t *epoch, uint64_t last)
{
    kb k = {.n = 0};
    uint8_t b[8];
    MDB_val key, v = {8, b};
    int rc;

    epoch_key(&k, site, epoch);
    if (k.over)
        return TG_ESTORE;
    key.mv_size = k.n;
    key.mv_data = k.b;
    tg_be64_put(b, last);
    rc = mdb_put(txn, cs->db_epochs, &key, &v, 0);
    return rc ? mdb_err(rc) : 0;
}

int tg_cstore_apply(tg_cstore *cs, const tg_cstore_upload *u, tg_cstore_result *r)
{
    MDB_txn *txn;
    tg_arena a;
    Tollgate__V1__CentralSite *st, fresh = TOLLGATE__V1__CENTRAL_SITE__INIT;
    uint64_t window =
        cs->opt.seq_window ? cs->opt.seq_window : TG_CSTORE_SEQ_WINDOW_DEFAULT;
    char ehex[33], ehex2[33];
    uint64_t base;
    int rc, new_epoch;

    memset(r, 0, sizeof(*r));
    if (!cs->have_dbs)
        return TG_ESTORE;
    tg_arena_init(&a, 64 * 1024, 0);
    if ((rc = mdb_txn_begin(cs->env, NULL, 0, &txn))) {
        tg_arena_destroy(&a);
        return mdb_err(rc);
    }
    st = site_get(cs, txn, u->site, &a);
    if (!st) {
        st = &fresh;
        st->name = (char *)u->site;
        st->first_contact_unix_nano = u->now_ns;
    }
    new_epoch = st->epoch.len != 16 || memcmp(st->epoch.data, u->epoch, 16) != 0;
    base = new_epoch ? 0 : st->last_sequence;
    if (u->seq && u->batch && u->seq > base && u->seq - base > window &&
        !(new_epoch && epoch_left(cs, txn, u->site, u->epoch, &base))) {
        /* Checked before any epoch change: a refused upload changes
         * nothing but the count. */
        st->refused_ahead++;
        r->refused = TG_CSTORE_AHEAD;
        r->last_seq = st->last_sequence;
        tg_warn("upload refused: sequence too far ahead",
                "site=%s seq=%llu last_seq=%llu window=%llu", u->site,
                (unsigned long long)u->seq, (unsigned long long)base,
                (unsigned long long)window);
        goto save_site;
    }
    if (new_epoch) {
        uint64_t left_at;
        if (epoch_left(cs, txn, u->site, u->epoch, &left_at)) {
            /* A replay, or a site restored from an old copy of its outbox:
             * what that epoch sent is settled and is never taken again. */
            st->refused_old_epoch++;
            r->refused = TG_CSTORE_OLD_EPOCH;
            tg_warn("upload refused: the site left this epoch",
                    "site=%s epoch=%s seq=%llu", u->site, epoch_hex(u->epoch, ehex),
                    (unsigned long long)u->seq);
            goto save_site;
        }
        if (st->epoch.len == 16) {
            /* A new outbox at the site (its data was wiped or replaced):
             * the old epoch is retired for good, its batches stay under
             * their own keys, and a new sequence series begins. */
            if ((rc = epoch_retire(cs, txn, u->site, st->epoch.data, st->last_sequence)))
                goto abort;
            tg_warn("site changed epoch",
                    "site=%s old_epoch=%s last_seq=%llu new_epoch=%s", u->site,
                    epoch_hex(st->epoch.data, ehex),
                    (unsigned long long)st->last_sequence, epoch_hex(u->epoch, ehex2));
            r->epoch_changed = 1;
        }
        st->epoch.data = (uint8_t *)u->epoch;
        st->epoch.len = 16;
        st->last_sequence = 0;
        st->epochs++;
    }
    st->last_contact_unix_nano = u->now_ns;
    if (u->health)
        st->health = (Tollgate__V1__SiteHealth *)u->health;
    st->protocol_version = u->version;
    st->t2_minus_t1_ns = u->t2_minus_t1;
    if (u->client_cert_not_after) {
        st->client_cert_not_after = u->client_cert_not_after;
        st->client_cert_subject = (char *)(u->client_cert_cn ? u->client_cert_cn : "");
    }
    if (u->seq && u->batch) {
        if (u->seq <= st->last_sequence) {
            st->duplicates++;
            r->duplicate = 1;
        } else {
            const Tollgate__V1__Batch *b = u->batch;
            Tollgate__V1__CentralBatchHeader h = TOLLGATE__V1__CENTRAL_BATCH_HEADER__INIT;
            kb k = {.n = 0};
            MDB_val key, val;
            size_t hl, total;
            uint8_t *buf;
            uint64_t announced = 0, spans = 0;

            for (size_t i = 0; i < b->n_sheds; i++)
                announced += b->sheds[i]->batches;
            if (u->seq > st->last_sequence + 1) {
                uint64_t missing = u->seq - st->last_sequence - 1;
                st->gaps += missing > announced ? missing - announced : 0;
            }
            st->shed_batches += announced;
            h.received_unix_nano = u->now_ns;
            h.protocol_version = u->version;
            h.raw_bytes = u->raw_len;
            h.wire_bytes = u->zlen;
            h.epoch.data = (uint8_t *)u->epoch;
            h.epoch.len = 16;
            hl = tollgate__v1__central_batch_header__get_packed_size(&h);
            total = 4 + hl + u->zlen;
            buf = malloc(total);
            if (!buf) {
                rc = TG_ENOMEM;
                goto abort;
            }
            tg_be32_put(buf, (uint32_t)hl);
            tollgate__v1__central_batch_header__pack(&h, buf + 4);
            if (u->zlen)
                memcpy(buf + 4 + hl, u->zstd, u->zlen);
            epoch_key(&k, u->site, u->epoch);
            kb_u64(&k, u->seq);
            key.mv_size = k.n;
            key.mv_data = k.b;
            val.mv_size = total;
            val.mv_data = buf;
            rc = mdb_put(txn, cs->db_batches, &key, &val, 0);
            free(buf);
            if (rc) {
                rc = mdb_err(rc);
                goto abort;
            }
            if ((rc = meta_put_u64(cs, txn, "bytes",
                                   meta_u64(cs, txn, "bytes") + total))) {
                rc = mdb_err(rc);
                goto abort;
            }
            for (size_t i = 0; i < b->n_red; i++) {
                rc = merge_red(cs, txn, u->site, b->red[i], &a);
                if (rc < 0)
                    goto abort;
                r->invalid_records += (uint64_t)rc;
            }
            for (size_t i = 0; i < b->n_logs; i++) {
                rc = merge_log(cs, txn, u->site, b->logs[i], &a);
                if (rc < 0)
                    goto abort;
                r->invalid_records += (uint64_t)rc;
            }
            for (size_t i = 0; i < b->n_costs; i++) {
                rc = merge_cost(cs, txn, u->site, b->costs[i], &a);
                if (rc < 0)
                    goto abort;
                r->invalid_records += (uint64_t)rc;
            }
            for (size_t i = 0; i < u->n_models && cs->have_models; i++) {
                rc = merge_model(cs, txn, u->site, &u->models[i]);
                if (rc < 0)
                    goto abort;
                r->invalid_records += (uint64_t)rc;
            }
            for (size_t i = 0; i < b->n_spans; i++)
                spans += b->spans[i]->n_spans;
            st->batches++;
            st->spans += spans;
            st->red += b->n_red;
            st->logs += b->n_logs;
            st->metrics += b->n_metrics;
            st->costs += b->n_costs;
            st->bytes_wire += u->zlen;
            st->last_sequence = u->seq;
            st->last_batch_unix_nano = u->now_ns;
            if (b->source_cursor > st->source_cursor)
                st->source_cursor = b->source_cursor;
        }
    }
save_site : {
    kb k = {.n = 0};
    kb_str(&k, u->site);
    /* The site key is the bare name. */
    k.n--;
    if ((rc = put_msg(txn, cs->db_sites, &k, &st->base)))
        goto abort;
}
    r->last_seq = st->last_sequence;
    r->source_cursor = st->source_cursor;
    if ((rc = mdb_txn_commit(txn))) {
        tg_arena_destroy(&a);
        return mdb_err(rc);
    }
    tg_arena_destroy(&a);
    return 0;
abort:
    mdb_txn_abort(txn);
    tg_arena_destroy(&a);
    return rc;
}

/* ---- retention -------------------------------------------------------------------- */

static uint64_t batch_received(const MDB_val *v, uint64_t *size)
{
    Tollgate__V1__CentralBatchHeader *h;
    uint32_t hl;
    uint64_t t = 0;

    *size = v->mv_size;
    if (v->mv_size < 4)
        return 0;
    hl = tg_be32_get(v->mv_data);
    if (hl > v->mv_size - 4)
        return 0;
    h = tollgate__v1__central_batch_header__unpack(NULL, hl,
                                                   (const uint8_t *)v->mv_data + 4);
    if (h) {
        t = h->received_unix_nano;
        tollgate__v1__central_batch_header__free_unpacked(h, NULL);
    }
    return t;
}

/* Deletes aggregate rows whose window ended before `cutoff` (unix s).
 * `toff` is where the time sits, counted back from the key's end. */
static int retain_rows(MDB_txn *txn, MDB_dbi db, size_t toff, int64_t cutoff,
                       size_t *budget)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int rc;

    if ((rc = mdb_cursor_open(txn, db, &cur)))
        return mdb_err(rc);
    rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rc == 0 && *budget > 0) {
        if (k.mv_size >= toff &&
            get_bei64((const uint8_t *)k.mv_data + k.mv_size - toff) < cutoff) {
            if ((rc = mdb_cursor_del(cur, 0)))
                break;
            (*budget)--;
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : mdb_err(rc);
}

int tg_cstore_retain(tg_cstore *cs, uint64_t now_ns)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    uint64_t bytes, cutoff_ns = 0;
    size_t budget = EVICT_PER_TXN;
    int rc;

    if (!cs->have_dbs || cs->opt.readonly)
        return 0;
    if (cs->opt.max_age_sec && now_ns > cs->opt.max_age_sec * 1000000000ull)
        cutoff_ns = now_ns - cs->opt.max_age_sec * 1000000000ull;
    if ((rc = mdb_txn_begin(cs->env, NULL, 0, &txn)))
        return mdb_err(rc);
    bytes = meta_u64(cs, txn, "bytes");
    if ((rc = mdb_cursor_open(txn, cs->db_batches, &cur))) {
        mdb_txn_abort(txn);
        return mdb_err(rc);
    }
    /* Oldest first across sites: repeatedly take the site whose first
     * batch is oldest. Sites are few; each pass reads one key per site. */
    while (budget > 0) {
        uint8_t best[511];
        size_t best_len = 0;
        uint64_t best_t = UINT64_MAX, best_size = 0;
        int over = cs->opt.max_bytes && bytes > cs->opt.max_bytes;

        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
        while (rc == 0) {
            uint64_t size, t = batch_received(&v, &size);
            const uint8_t *kd = k.mv_data;
            size_t sl = strnlen((const char *)kd, k.mv_size);
            uint8_t next[512];
            MDB_val nk;
            if (t < best_t) {
                best_t = t;
                best_size = size;
                best_len = k.mv_size;
                memcpy(best, k.mv_data, k.mv_size);
            }
            /* Jump to the next (site, epoch): the key's site and epoch
             * followed by more than any sequence. */
            if (k.mv_size != sl + 1 + 16 + 8)
                break;
            memcpy(next, kd, sl + 1 + 16);
            memset(next + sl + 1 + 16, 0xff, 9);
            nk.mv_size = sl + 1 + 16 + 9;
            nk.mv_data = next;
            k = nk;
            rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        }
        if (!best_len || !(over || (cutoff_ns && best_t < cutoff_ns)))
            break;
        k.mv_size = best_len;
        k.mv_data = best;
        if ((rc = mdb_del(txn, cs->db_batches, &k, NULL)))
            break;
        bytes = bytes > best_size ? bytes - best_size : 0;
        cs->evicted++;
        budget--;
    }
    mdb_cursor_close(cur);
    rc = meta_put_u64(cs, txn, "bytes", bytes);
    if (rc == 0 && cutoff_ns) {
        int64_t cut = (int64_t)(cutoff_ns / 1000000000ull);
        if ((rc = retain_rows(txn, cs->db_red, 8, cut, &budget)) ||
            (rc = retain_rows(txn, cs->db_logs, 16, cut, &budget)) ||
            (rc = retain_rows(txn, cs->db_costs, 8, cut, &budget)) ||
            (cs->have_models &&
             /* their bucket start is in ns, not s */
             (rc = retain_rows(txn, cs->db_models, 8, cut * 1000000000, &budget)))) {
            mdb_txn_abort(txn);
            return rc;
        }
    } else if (rc) {
        mdb_txn_abort(txn);
        return mdb_err(rc);
    }
    rc = mdb_txn_commit(txn);
    return rc ? mdb_err(rc) : 0;
}

/* ---- reading ------------------------------------------------------------------ */

/* Calls row(ctx, k, v) for every entry of db, in key order, in one read
 * transaction, until it returns nonzero. 0 or an error. */
static int each_row(tg_cstore *cs, MDB_dbi db,
                    int (*row)(void *ctx, const MDB_val *k, const MDB_val *v), void *ctx)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc;

    if ((rc = mdb_txn_begin(cs->env, NULL, MDB_RDONLY, &txn)))
        return mdb_err(rc);
    if ((rc = mdb_cursor_open(txn, db, &cur))) {
        mdb_txn_abort(txn);
        return mdb_err(rc);
    }
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && !row(ctx, &k, &v);
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        ;
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : mdb_err(rc);
}

/* The site name a key starts with (NUL-terminated in the key), copied into
 * site (128 bytes); its length, or -1 when it does not fit. */
static long key_site(const MDB_val *k, char site[128])
{
    size_t sl = strnlen((const char *)k->mv_data, k->mv_size);

    if (sl >= 128)
        return -1;
    memcpy(site, k->mv_data, sl);
    site[sl] = '\0';
    return (long)sl;
}

typedef struct site_walk {
    tg_cstore_site_cb cb;
    void *ctx;
} site_walk;

static int site_row(void *ctx, const MDB_val *k, const MDB_val *v)
{
    site_walk *w = ctx;
    Tollgate__V1__CentralSite *s =
        tollgate__v1__central_site__unpack(NULL, v->mv_size, v->mv_data);
    int stop = 0;

    (void)k;
    if (s) {
        stop = w->cb(w->ctx, s);
        tollgate__v1__central_site__free_unpacked(s, NULL);
    }
    return stop;
}

int tg_cstore_sites(tg_cstore *cs, tg_cstore_site_cb cb, void *ctx)
{
    site_walk w = {cb, ctx};

    return cs->have_dbs ? each_row(cs, cs->db_sites, site_row, &w) : 0;
}

typedef struct batch_walk {
    tg_cstore *cs;
    tg_cstore_batch_cb cb;
    void *ctx;
} batch_walk;

/* A key of another shape, or a value too short for its header, is passed
 * over. */
static int batch_row(void *ctx, const MDB_val *k, const MDB_val *v)
{
    batch_walk *w = ctx;
    const uint8_t *kd = k->mv_data;
    char site[128];
    long sl = key_site(k, site);
    uint32_t hl;
    Tollgate__V1__CentralBatchHeader *h;
    size_t kl;
    int stop;

    if (sl < 0)
        return 0;
    kl = (size_t)sl + 1 + (w->cs->v1_keys ? 0 : 16) + 8;
    if (kl != k->mv_size || v->mv_size < 4 ||
        (hl = tg_be32_get(v->mv_data)) > v->mv_size - 4)
        return 0;
    h = tollgate__v1__central_batch_header__unpack(NULL, hl,
                                                   (const uint8_t *)v->mv_data + 4);
    if (!h)
        return 0;
    stop = w->cb(w->ctx, site, tg_be64_get(kd + kl - 8), h,
                 (const uint8_t *)v->mv_data + 4 + hl, v->mv_size - 4 - hl);
    tollgate__v1__central_batch_header__free_unpacked(h, NULL);
    return stop;
}

int tg_cstore_batches(tg_cstore *cs, tg_cstore_batch_cb cb, void *ctx)
{
    batch_walk w = {cs, cb, ctx};

    return cs->have_dbs ? each_row(cs, cs->db_batches, batch_row, &w) : 0;
}

typedef struct agg_walk {
    const ProtobufCMessageDescriptor *d;
    tg_cstore_row_cb cb;
    void *ctx;
} agg_walk;

static int agg_row(void *ctx, const MDB_val *k, const MDB_val *v)
{
    agg_walk *w = ctx;
    char site[128];
    ProtobufCMessage *m;
    int stop = 0;

    if (key_site(k, site) < 0)
        return 0;
    m = protobuf_c_message_unpack(w->d, NULL, v->mv_size, v->mv_data);
    if (m) {
        stop = w->cb(w->ctx, site, m);
        protobuf_c_message_free_unpacked(m, NULL);
    }
    return stop;
}

int tg_cstore_rows(tg_cstore *cs, const char *which, tg_cstore_row_cb cb, void *ctx)
{
    agg_walk w = {NULL, cb, ctx};
    MDB_dbi db;

    if (!cs->have_dbs)
        return 0;
    if (strcmp(which, "red") == 0) {
        db = cs->db_red;
        w.d = &tollgate__v1__red_record__descriptor;
    } else if (strcmp(which, "logs") == 0) {
        db = cs->db_logs;
        w.d = &tollgate__v1__log_template__descriptor;
    } else if (strcmp(which, "costs") == 0) {
        db = cs->db_costs;
        w.d = &tollgate__v1__cost_record__descriptor;
    } else {
        return TG_EINVAL;
    }
    return each_row(cs, db, agg_row, &w);
}

typedef struct model_walk {
    tg_cstore_model_cb cb;
    void *ctx;
} model_walk;

/* site, model and version: three NUL-terminated strings, then the bucket;
 * a key of another shape is passed over. */
static int model_row(void *ctx, const MDB_val *k, const MDB_val *v)
{
    model_walk *w = ctx;
    const char *p = k->mv_data, *parts[3];
    size_t off = 0, i;

    for (i = 0; i < 3 && off + 8 < k->mv_size; i++) {
        size_t l = strnlen(p + off, k->mv_size - 8 - off);
        if (off + l >= k->mv_size - 8)
            break;
        parts[i] = p + off;
        off += l + 1;
    }
    if (i == 3 && off + 8 == k->mv_size && v->mv_size == 24) {
        const uint8_t *d = v->mv_data;
        tg_cstore_model_row row = {.model = parts[1],
                                   .version = parts[2],
                                   .bucket_ns = get_bei64((const uint8_t *)p + off),
                                   .count = tg_be64_get(d),
                                   .first_ns = get_bei64(d + 8),
                                   .last_ns = get_bei64(d + 16)};
        return w->cb(w->ctx, parts[0], &row);
    }
    return 0;
}

int tg_cstore_model_rows(tg_cstore *cs, tg_cstore_model_cb cb, void *ctx)
{
    model_walk w = {cb, ctx};

    return cs->have_dbs && cs->have_models ? each_row(cs, cs->db_models, model_row, &w)
                                           : 0;
}

int tg_cstore_get_stats(tg_cstore *cs, tg_cstore_stats *s)
{
    MDB_txn *txn;
    MDB_stat ms;
    struct stat sb;
    int rc;

    memset(s, 0, sizeof(*s));
    if (!cs->have_dbs)
        return 0;
    if ((rc = mdb_txn_begin(cs->env, NULL, MDB_RDONLY, &txn)))
        return mdb_err(rc);
    if (mdb_stat(txn, cs->db_batches, &ms) == 0)
        s->batches = ms.ms_entries;
    if (mdb_stat(txn, cs->db_red, &ms) == 0)
        s->red_rows = ms.ms_entries;
    if (mdb_stat(txn, cs->db_logs, &ms) == 0)
        s->log_rows = ms.ms_entries;
    if (mdb_stat(txn, cs->db_costs, &ms) == 0)
        s->cost_rows = ms.ms_entries;
    s->bytes = meta_u64(cs, txn, "bytes");
    mdb_txn_abort(txn);
    s->evicted_batches = cs->evicted;
    s->file_bytes = stat(cs->path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    return 0;
}

MDB_env *tg_cstore_env(tg_cstore *cs)
{
    return cs->env;
}
