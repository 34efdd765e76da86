/* The store's deletions recorded in the transparency log (issue 10): what
 * the audit report says was deleted is then covered by a signed
 * checkpoint, like every egress. The store knows nothing of the log (it
 * sits below exporters/); it keeps durable, growing counters written in
 * each deleting transaction, and this file turns their growth into
 * "retention" leaves (tg_outbox_ledger_retention has the crash contract). */
#include "tg_outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwd_internal.h"
#include "store.h"
#include "tg_err.h"
#include "tg_log.h"

#define RETENTION_CLASSES_MAX 256

typedef struct counts {
    tg_outbox_retention_count c[RETENTION_CLASSES_MAX + 1];
    char names[RETENTION_CLASSES_MAX][96];
    size_t n;
} counts;

static void add_class(void *ctx, const char *cls, uint64_t n)
{
    counts *k = ctx;

    if (k->n >= RETENTION_CLASSES_MAX)
        return;
    snprintf(k->names[k->n], sizeof(k->names[k->n]), "%s", cls);
    k->c[k->n] = (tg_outbox_retention_count){k->names[k->n], "expire", n};
    k->n++;
}

int tg_outbox_log_store_retention(tg_outbox *ob, struct tg_store *st, uint64_t now_ns,
                                  int *appended)
{
    tg_store_stats stats;
    counts *k;
    int rc;

    *appended = 0;
    if (!ob || !st)
        return TG_EINVAL;
    if (!(k = calloc(1, sizeof(*k))))
        return TG_ENOMEM;
    if ((rc = tg_store_get_stats(st, &stats)) ||
        (rc = tg_store_expired_by_class(st, add_class, k))) {
        free(k);
        return rc;
    }
    /* Every other deletion: the age limit, the size budget, a full store. */
    k->c[k->n++] =
        (tg_outbox_retention_count){"(store limits)", "evict",
                                    stats.evicted_records > stats.expired_records
                                        ? stats.evicted_records - stats.expired_records
                                        : 0};
    rc = tg_outbox_ledger_retention(ob, k->c, k->n, now_ns, appended);
    free(k);
    return rc;
}

int tg_forwarder_record_retention(tg_forwarder *f, tg_store *st)
{
    int appended = 0, rc;

    if (!f || !f->outbox)
        return 0;
    rc = tg_outbox_log_store_retention(f->outbox, st, tg_fwd_now_ns(), &appended);
    if (rc)
        tg_warn("the store's deletions could not be recorded in the transparency log; "
                "the next retention pass retries",
                "err=%s", tg_err_name(rc));
    return rc;
}
