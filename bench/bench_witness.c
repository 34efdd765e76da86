/* What the witness costs per batch, without the network.
 *
 *   bench_witness [batches] [nosync]
 *
 * A site outbox and a centre store in temporary directories. For each
 * batch: put and egress recorded (as bench_audit), then the witness
 * exchange the site's witness thread makes: the add-checkpoint request
 * built from the outbox (consistency proof from the cosigned size), the
 * centre's tg_witness_add_checkpoint (verify, cosign, durable commit), the
 * cosignature stored beside the checkpoint, and the inclusion request of
 * the batch's leaf with the centre's tg_witness_inclusion. Times the site's
 * part and the centre's part. "nosync" skips fsync on both stores.
 * Prints figures; not a timed test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cstore.h"
#include "outbox_tlog.h"
#include "tg_outbox.h"
#include "tg_wire.h"
#include "witness.h"

typedef struct wctx {
    uint64_t old, size, next;
    tg_strbuf *out;
    const char *cosig;
    size_t cosig_len;
} wctx;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int w_add(tg_outbox_tlog *t, MDB_txn *txn, void *ctx)
{
    wctx *w = ctx;
    return tg_outbox_tlog_add_request(t, txn, w->old, w->out, &w->size);
}

static int w_store(tg_outbox_tlog *t, MDB_txn *txn, void *ctx)
{
    wctx *w = ctx;
    return tg_outbox_tlog_cosigned(t, txn, w->size, w->cosig, w->cosig_len);
}

static int w_incl(tg_outbox_tlog *t, MDB_txn *txn, void *ctx)
{
    wctx *w = ctx;
    return tg_outbox_tlog_inclusion_request(t, txn, w->next, w->size, 256, w->out,
                                            &w->next);
}

static void egress(tg_outbox *ob)
{
    Tollgate__V1__Batch b = TOLLGATE__V1__BATCH__INIT;
    tg_outbox_append a;
    tg_egress_tally tally;
    uint64_t seq = tg_outbox_next_seq(ob);
    uint8_t *blob;
    size_t len, raw;

    b.site = "bench";
    b.sequence = seq;
    tg_wire_pack_batch(&b, 2, 1, &blob, &len, &raw);
    tg_egress_tally_reset(&tally);
    tg_egress_tally_add(&tally, "pii.email", "redact", 3);
    memset(&a, 0, sizeof(a));
    a.seq = seq;
    a.blob = blob;
    a.len = len;
    a.raw_bytes = raw;
    a.records = 200;
    a.tally = &tally;
    a.policy_version = "sha256:bench";
    a.cursor = seq;
    a.now_ns = seq;
    if (tg_outbox_put(ob, &a) || tg_outbox_ledger_egress(ob, seq, 2, len, seq))
        exit(1);
    free(blob);
    tg_outbox_ack(ob, seq);
}

int main(int argc, char **argv)
{
    int batches = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 300, nosync = argc > 2;
    char dir[64], path[128], vkey[512], err[256];
    tg_outbox_options o;
    tg_cstore_options co;
    tg_witness_options wo;
    tg_outbox *ob;
    tg_cstore *cs;
    tg_witness *w;
    double t_site = 0, t_centre = 0, t0;
    wctx c;
    FILE *kf;
    int rc = 0;

    snprintf(dir, sizeof(dir), "/tmp/tg_bench_witness_XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    memset(&o, 0, sizeof(o));
    o.no_sync = nosync;
    o.site = "bench";
    o.audit_key_dir = dir;
    snprintf(path, sizeof(path), "%s/outbox", dir);
    if (!(ob = tg_outbox_open(path, &o, &rc)))
        return 1;
    memset(&co, 0, sizeof(co));
    co.no_sync = nosync;
    snprintf(path, sizeof(path), "%s/central", dir);
    if (!(cs = tg_cstore_open(path, &co, &rc)))
        return 1;
    wo.data_dir = dir;
    wo.readonly = 0;
    wo.grace_ns = 0;
    if (!(w = tg_witness_open(cs, &wo, err, sizeof(err))))
        return 1;
    snprintf(path, sizeof(path), "%s/audit.key.vkey", dir);
    if (!(kf = fopen(path, "r")) || !fgets(vkey, sizeof(vkey), kf))
        return 1;
    fclose(kf);
    vkey[strcspn(vkey, "\n")] = '\0';
    memset(&c, 0, sizeof(c));
    for (int i = 0; i < batches; i++) {
        tg_strbuf body = {0};
        tg_witness_answer a;

        egress(ob);
        c.out = &body;
        t0 = now_s();
        if (tg_outbox_tlog_run(ob, 0, w_add, &c))
            return 1;
        t_site += now_s() - t0;
        t0 = now_s();
        tg_witness_add_checkpoint(w, "bench", "", vkey, body.p, body.len,
                                  1800000000000000000ull + (uint64_t)i, &a);
        t_centre += now_s() - t0;
        if (a.status != 200)
            return 1;
        t0 = now_s();
        c.cosig = a.body.p;
        c.cosig_len = a.body.len;
        if (tg_outbox_tlog_run(ob, 1, w_store, &c))
            return 1;
        c.old = c.size;
        body.len = 0;
        if (tg_outbox_tlog_run(ob, 0, w_incl, &c))
            return 1;
        t_site += now_s() - t0;
        free(a.body.p);
        t0 = now_s();
        tg_witness_inclusion(w, "bench", body.p, body.len, 1800000000000000000ull, &a);
        t_centre += now_s() - t0;
        if (a.status != 200)
            return 1;
        free(a.body.p);
        free(body.p);
    }
    printf("witness (%s): %d batches: site %.1f us/batch (request, consistency and "
           "inclusion proofs, cosignature stored); centre %.1f us/batch (verify, cosign, "
           "commit; inclusion proof, commit)\n",
           nosync ? "no fsync" : "fsync", batches, t_site * 1e6 / batches,
           t_centre * 1e6 / batches);
    tg_witness_close(w);
    tg_cstore_close(cs);
    tg_outbox_close(ob);
    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    return system(path) == 0 ? 0 : 1;
}
