/* What the transparency log costs a site.
 *
 *   bench_audit [batches] [nosync]
 *
 * Phase 1, in memory: leaves appended per second (RFC 6962 leaf hash,
 * tg_audit_merkle_append on a memtree) and signed checkpoints per second
 * (Ed25519): the log's own work per batch, without storage.
 * Phase 2, the outbox: `batches` batches put and their egress recorded
 * (tg_outbox_put + tg_outbox_ledger_egress, two durable transactions, the
 * second now also writing the leaf, its nodes and a signed checkpoint),
 * then `audit verify` over the result. "nosync" skips fsync.
 * Prints figures; not a timed test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tg_audit_checkpoint.h"
#include "tg_audit_merkle.h"
#include "tg_outbox.h"
#include "tg_outbox_audit.h"
#include "tg_wire.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench_memory(void)
{
    tg_audit_memtree t;
    tg_audit_signer s;
    tg_audit_checkpoint cp;
    tg_strbuf sb = {0};
    uint8_t leaf[300] = {1}, seed[32] = {9};
    const int n = 200000, nsig = 2000;
    double t0;

    memset(&t, 0, sizeof(t));
    t0 = now_s();
    for (int i = 0; i < n; i++) {
        tg_audit_hash h;
        memcpy(leaf, &i, sizeof(i));
        tg_audit_leaf_hash(leaf, sizeof(leaf), &h);
        if (tg_audit_memtree_append(&t, &h, 1))
            exit(1);
    }
    printf("memory: %d leaves of %zu bytes appended in %.3f s: %.0f leaves/s\n", n,
           sizeof(leaf), now_s() - t0, n / (now_s() - t0));
    tg_audit_signer_init(&s, "tollgate.site/bench", TG_AUDIT_SIG_ED25519, seed);
    memset(&cp, 0, sizeof(cp));
    snprintf(cp.origin, sizeof(cp.origin), "%s", s.name);
    t0 = now_s();
    for (int i = 0; i < nsig; i++) {
        tg_audit_reader r = tg_audit_memtree_reader(&t);
        cp.size = (uint64_t)n - (uint64_t)i;
        tg_audit_merkle_root(&r, cp.size, &cp.root);
        sb.len = 0;
        tg_audit_checkpoint_sign(&cp, &s, &sb);
    }
    printf("memory: %d checkpoints (root + Ed25519 signature) in %.3f s: %.1f us each\n",
           nsig, now_s() - t0, (now_s() - t0) * 1e6 / nsig);
    free(sb.p);
    tg_audit_memtree_free(&t);
}

static void bench_outbox(int batches, int nosync)
{
    char dir[64], obdir[96], vkey[96], cmd[128];
    tg_outbox_options o;
    tg_outbox *ob;
    tg_outbox_audit_result res;
    double t_put = 0, t_egress = 0, t0;
    int err = 0;

    snprintf(dir, sizeof(dir), "/tmp/tg_bench_audit_XXXXXX");
    if (!mkdtemp(dir))
        exit(1);
    snprintf(obdir, sizeof(obdir), "%s/outbox", dir);
    snprintf(vkey, sizeof(vkey), "%s/audit.key.vkey", dir);
    memset(&o, 0, sizeof(o));
    o.no_sync = nosync;
    o.site = "bench";
    o.audit_key_dir = dir;
    if (!(ob = tg_outbox_open(obdir, &o, &err)))
        exit(1);
    for (int i = 0; i < batches; i++) {
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
        tg_egress_tally_add(&tally, "unclassified", "pass", 200);
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
        t0 = now_s();
        if (tg_outbox_put(ob, &a))
            exit(1);
        t_put += now_s() - t0;
        t0 = now_s();
        if (tg_outbox_ledger_egress(ob, seq, 2, len, seq))
            exit(1);
        t_egress += now_s() - t0;
        free(blob);
        tg_outbox_ack(ob, seq);
    }
    tg_outbox_close(ob);
    printf("outbox (%s): %d batches: put %.1f us/batch; egress record (ledger entry + "
           "leaf + nodes + signed checkpoint) %.1f us/batch: %.0f leaves/s\n",
           nosync ? "no fsync" : "fsync", batches, t_put * 1e6 / batches,
           t_egress * 1e6 / batches, batches / t_egress);
    t0 = now_s();
    err = tg_outbox_audit_verify(obdir, vkey, &res);
    printf("audit verify: %s, %llu leaves, %llu checkpoints in %.3f s\n",
           err ? res.what : "intact", (unsigned long long)res.leaves,
           (unsigned long long)res.checkpoints, now_s() - t0);
    if (getenv("TG_BENCH_KEEP")) {
        /* for timing `tollgate audit report --data` over it (docs/audit.md) */
        printf("kept %s\n", dir);
        return;
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

int main(int argc, char **argv)
{
    int batches = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 2000;
    int nosync = argc > 2 && strcmp(argv[2], "nosync") == 0;

    if (batches <= 0)
        batches = 2000;
    bench_memory();
    bench_outbox(batches, nosync);
    return 0;
}
