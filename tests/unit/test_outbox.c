/* The outbox and its egress ledger against real LMDB: durability across
 * reopen, in-order peeking, acknowledgement, the hash chain (and that it
 * catches tampering), and shedding under a disk budget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "tg_err.h"
#include "tg_outbox.h"
#include "tg_wire.h"

typedef struct fx {
    char dir[64];
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/tg_outbox_test_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    char p[128];
    snprintf(p, sizeof(p), "%s/data.mdb", f->dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/lock.mdb", f->dir);
    unlink(p);
    rmdir(f->dir);
    free(f);
    return 0;
}

static tg_outbox *open_ob(fx *f, uint64_t budget)
{
    tg_outbox_options o;
    tg_outbox *ob;
    int err = 0;

    memset(&o, 0, sizeof(o));
    o.max_bytes = budget;
    o.no_sync = 1;
    o.site = "fra";
    o.destination = "central";
    o.destination_url = "http://centre.example";
    ob = tg_outbox_open(f->dir, &o, &err);
    assert_non_null(ob);
    return ob;
}

/* A canonical batch with n spans of random ids (so it barely compresses)
 * and one RED record. */
static uint8_t *make_blob(uint64_t seq, size_t nspans, size_t *len, size_t *raw)
{
    Tollgate__V1__Batch b = TOLLGATE__V1__BATCH__INIT;
    Tollgate__V1__ServiceSpans ss = TOLLGATE__V1__SERVICE_SPANS__INIT, *ssp = &ss;
    Tollgate__V1__SpanSummary *sp = calloc(nspans ? nspans : 1, sizeof(*sp));
    Tollgate__V1__SpanSummary **spp = calloc(nspans ? nspans : 1, sizeof(*spp));
    uint8_t *ids = malloc(nspans * 24 + 1), *out;
    Tollgate__V1__RedRecord red = TOLLGATE__V1__RED_RECORD__INIT, *redp = &red;
    uint64_t x = seq * 7919 + 17;

    for (size_t i = 0; i < nspans * 24; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ids[i] = (uint8_t)x;
    }
    for (size_t i = 0; i < nspans; i++) {
        tollgate__v1__span_summary__init(&sp[i]);
        sp[i].trace_id.data = ids + 24 * i;
        sp[i].trace_id.len = 16;
        sp[i].span_id.data = ids + 24 * i + 16;
        sp[i].span_id.len = 8;
        sp[i].name = "GET /";
        sp[i].start_offset_ns = (int64_t)i * 1000;
        sp[i].duration_ns = 1234;
        spp[i] = &sp[i];
    }
    ss.service = "svc";
    ss.spans = spp;
    ss.n_spans = nspans;
    red.service = "svc";
    red.operation = "GET /";
    red.requests = nspans;
    b.site = "fra";
    b.sequence = seq;
    b.base_time_unix_nano = 1700000000000000000ull;
    b.spans = &ssp;
    b.n_spans = nspans ? 1 : 0;
    b.red = &redp;
    b.n_red = 1;
    assert_int_equal(tg_wire_pack_batch(&b, 2, 1, &out, len, raw), 0);
    free(sp);
    free(spp);
    free(ids);
    return out;
}

static void put(tg_outbox *ob, uint64_t cursor, size_t nspans)
{
    tg_outbox_append a;
    tg_egress_tally t;
    size_t len, raw;
    uint64_t seq = tg_outbox_next_seq(ob);
    uint8_t *blob = make_blob(seq, nspans, &len, &raw);

    tg_egress_tally_reset(&t);
    tg_egress_tally_add(&t, "pii.email", "redact", 3);
    tg_egress_tally_add(&t, "unclassified", "pass", 10);
    memset(&a, 0, sizeof(a));
    a.seq = seq;
    a.blob = blob;
    a.len = len;
    a.raw_bytes = raw;
    a.records = nspans + 1;
    a.spans = nspans;
    a.window_start = 1;
    a.window_end = 2;
    a.tally = &t;
    a.policy_version = "sha256:test";
    a.cursor = cursor;
    a.now_ns = 1000 + seq;
    assert_int_equal(tg_outbox_put(ob, &a), 0);
    free(blob);
}

typedef struct lcount {
    int egress, shed, rejected;
    uint64_t last_index;
    char first_counts[64];
} lcount;

static int count_ledger(void *ctx, const Tollgate__V1__EgressRecord *r, const uint8_t *b,
                        size_t n)
{
    lcount *c = ctx;
    (void)b;
    (void)n;
    if (strcmp(r->event, "egress") == 0) {
        if (!c->egress && r->n_counts)
            snprintf(c->first_counts, sizeof(c->first_counts), "%s:%s:%llu",
                     r->counts[0]->data_class, r->counts[0]->action,
                     (unsigned long long)r->counts[0]->count);
        c->egress++;
    } else if (strcmp(r->event, "shed") == 0) {
        c->shed++;
    } else if (strcmp(r->event, "rejected") == 0) {
        c->rejected++;
    }
    c->last_index = r->index;
    return 0;
}

static void test_durable_order_ack(void **state)
{
    fx *f = *state;
    tg_outbox *ob = open_ob(f, 1 << 20);
    tg_outbox_batch b;
    tg_outbox_stats st;
    uint8_t epoch[16];
    lcount lc;
    uint64_t entries = 0;

    memcpy(epoch, tg_outbox_epoch(ob), 16);
    assert_int_equal(tg_outbox_next_seq(ob), 1);
    put(ob, 10, 5);
    put(ob, 20, 5);
    put(ob, 35, 5);
    /* A batch out of sequence is refused. */
    {
        tg_outbox_append a;
        memset(&a, 0, sizeof(a));
        a.seq = 9;
        a.blob = (const uint8_t *)"x";
        a.len = 1;
        assert_int_equal(tg_outbox_put(ob, &a), TG_EINVAL);
    }
    tg_outbox_close(ob);

    ob = open_ob(f, 1 << 20);
    assert_memory_equal(tg_outbox_epoch(ob), epoch, 16);
    assert_int_equal(tg_outbox_cursor(ob), 35);
    assert_int_equal(tg_outbox_next_seq(ob), 4);
    tg_outbox_get_stats(ob, &st);
    assert_int_equal(st.batches, 3);
    assert_int_equal(st.spans, 15);

    assert_int_equal(tg_outbox_peek(ob, &b), 0);
    assert_int_equal(b.seq, 1);
    assert_false(b.ledgered);
    assert_int_equal(tg_outbox_ledger_egress(ob, 1, 2, b.len, 5000), 0);
    assert_int_equal(tg_outbox_ledger_egress(ob, 1, 2, b.len, 5001), 0); /* once only */
    tg_outbox_release(ob);
    tg_outbox_batch_free(&b);
    assert_int_equal(tg_outbox_peek(ob, &b), 0);
    assert_int_equal(b.seq, 1); /* not acknowledged yet: same batch again */
    assert_true(b.ledgered);
    tg_outbox_release(ob);
    tg_outbox_batch_free(&b);
    assert_int_equal(tg_outbox_ack(ob, 1), 0);
    assert_int_equal(tg_outbox_peek(ob, &b), 0);
    assert_int_equal(b.seq, 2);
    tg_outbox_release(ob);
    tg_outbox_batch_free(&b);
    /* The centre may acknowledge beyond what we just sent. */
    assert_int_equal(tg_outbox_ack(ob, 3), 0);
    assert_int_equal(tg_outbox_peek(ob, &b), TG_ENOT_FOUND);
    tg_outbox_get_stats(ob, &st);
    assert_int_equal(st.batches, 0);
    assert_int_equal(st.bytes, 0);
    assert_int_equal(st.acked_seq, 3);

    memset(&lc, 0, sizeof(lc));
    assert_int_equal(tg_outbox_ledger_foreach(ob, count_ledger, &lc), 0);
    assert_int_equal(lc.egress, 1);
    assert_string_equal(lc.first_counts, "pii.email:redact:3");
    assert_int_equal(tg_outbox_ledger_verify(ob, &entries, NULL), 0);
    assert_int_equal(entries, 1);
    tg_outbox_close(ob);
}

static void test_ledger_tamper_detected(void **state)
{
    fx *f = *state;
    tg_outbox *ob = open_ob(f, 1 << 20);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k, v;
    uint8_t key[8] = {0, 0, 0, 0, 0, 0, 0, 1}, *copy;
    uint64_t entries = 0, bad = 99;

    for (int i = 0; i < 3; i++) {
        put(ob, (uint64_t)i + 1, 2);
        assert_int_equal(tg_outbox_ledger_egress(ob, (uint64_t)i + 1, 2, 100, 7000), 0);
    }
    assert_int_equal(tg_outbox_ledger_verify(ob, &entries, NULL), 0);
    assert_int_equal(entries, 3);
    tg_outbox_close(ob);

    /* Change one byte of entry 1 behind the outbox's back. */
    assert_int_equal(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 8);
    mdb_env_set_mapsize(env, (size_t)1 << 30);
    assert_int_equal(mdb_env_open(env, f->dir, 0, 0640), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "ledger", 0, &dbi), 0);
    k.mv_size = 8;
    k.mv_data = key;
    assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
    copy = malloc(v.mv_size);
    memcpy(copy, v.mv_data, v.mv_size);
    {
        /* Find "fra/" in the batch id and change it to "frb/". */
        uint8_t *p = memmem(copy, v.mv_size, "fra/", 4);
        assert_non_null(p);
        p[2] = 'b';
    }
    v.mv_data = copy;
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    free(copy);

    ob = open_ob(f, 1 << 20);
    assert_int_equal(tg_outbox_ledger_verify(ob, &entries, &bad), TG_ESTORE);
    assert_int_equal(bad, 1);
    assert_int_equal(entries, 1);
    tg_outbox_close(ob);
}

static void test_shedding_under_budget(void **state)
{
    fx *f = *state;
    tg_outbox *ob = open_ob(f, 4000);
    tg_outbox_batch inflight;
    tg_outbox_stats st;
    Tollgate__V1__ShedNotice n;
    lcount lc;
    uint64_t entries;

    /* Batch 1 goes "in flight" and must survive whatever happens. */
    put(ob, 1, 40);
    assert_int_equal(tg_outbox_peek(ob, &inflight), 0);
    assert_int_equal(inflight.seq, 1);
    for (int i = 0; i < 80; i++)
        put(ob, (uint64_t)i + 2, 40);
    tg_outbox_get_stats(ob, &st);
    assert_true(st.bytes <= 4000);
    assert_true(st.shed_stripped > 0);
    assert_true(st.shed_batches > 0); /* aggregates alone still exceeded the budget */
    assert_true(st.shed_spans > 0);
    assert_int_equal(tg_outbox_pending_shed(ob, &n), 1);
    assert_true(n.batches > 0);
    assert_true(n.last_sequence >= n.first_sequence);
    assert_true(n.first_sequence >= 2); /* never the batch in flight */
    tg_outbox_release(ob);

    /* The in-flight batch is still there, spans intact. */
    {
        tg_outbox_batch again;
        tg_arena a;
        Tollgate__V1__Batch *b;
        assert_int_equal(tg_outbox_peek(ob, &again), 0);
        assert_int_equal(again.seq, 1);
        assert_int_equal(again.len, inflight.len);
        tg_arena_init(&a, 4096, 0);
        assert_int_equal(
            tg_wire_unpack_batch(again.blob, again.len, 1 << 20, &a, &b, NULL), 0);
        assert_int_equal(b->n_spans, 1);
        assert_int_equal(b->spans[0]->n_spans, 40);
        tg_arena_destroy(&a);
        tg_outbox_release(ob);
        tg_outbox_batch_free(&again);
    }
    tg_outbox_batch_free(&inflight);

    /* A stripped batch keeps its RED record and says its spans were shed. */
    assert_int_equal(tg_outbox_ack(ob, 1), 0);
    {
        tg_outbox_batch nb;
        tg_arena a;
        Tollgate__V1__Batch *b;
        assert_int_equal(tg_outbox_peek(ob, &nb), 0);
        tg_arena_init(&a, 4096, 0);
        assert_int_equal(tg_wire_unpack_batch(nb.blob, nb.len, 1 << 20, &a, &b, NULL), 0);
        if (b->spans_shed) {
            assert_int_equal(b->n_spans, 0);
            assert_int_equal(b->n_red, 1);
        }
        tg_arena_destroy(&a);
        tg_outbox_release(ob);
        tg_outbox_batch_free(&nb);
    }

    /* Every shedding is in the ledger, and the chain holds. */
    memset(&lc, 0, sizeof(lc));
    assert_int_equal(tg_outbox_ledger_foreach(ob, count_ledger, &lc), 0);
    assert_int_equal((uint64_t)lc.shed, st.shed_stripped + st.shed_batches);
    assert_int_equal(tg_outbox_ledger_verify(ob, &entries, NULL), 0);

    /* Carrying the notice clears it. */
    {
        tg_outbox_append a;
        memset(&a, 0, sizeof(a));
        a.cursor = 100;
        a.carried_shed = 1;
        assert_int_equal(tg_outbox_put(ob, &a), 0);
        assert_int_equal(tg_outbox_pending_shed(ob, &n), 0);
        assert_int_equal(tg_outbox_cursor(ob), 100);
    }
    tg_outbox_close(ob);
}

static void test_reject(void **state)
{
    fx *f = *state;
    tg_outbox *ob = open_ob(f, 1 << 20);
    tg_outbox_batch b;
    tg_outbox_stats st;
    lcount lc;

    put(ob, 1, 3);
    put(ob, 2, 3);
    assert_int_equal(tg_outbox_reject(ob, 1, 9000), 0);
    assert_int_equal(tg_outbox_peek(ob, &b), 0);
    assert_int_equal(b.seq, 2);
    tg_outbox_release(ob);
    tg_outbox_batch_free(&b);
    tg_outbox_get_stats(ob, &st);
    assert_int_equal(st.rejected, 1);
    assert_int_equal(st.batches, 1);
    memset(&lc, 0, sizeof(lc));
    tg_outbox_ledger_foreach(ob, count_ledger, &lc);
    assert_int_equal(lc.rejected, 1);
    tg_outbox_close(ob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_durable_order_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_tamper_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shedding_under_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reject, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
