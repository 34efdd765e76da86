/* The residency rules engine as the forwarder's view (tg_view_rules.h):
 * take the classification stored at ingest (or classify when there is no
 * usable one), derive the `central` destination's view, and tally class x
 * action for the egress ledger. */
#include "tg_view_rules.h"

#include <stdio.h>
#include <string.h>

#include "tg_err.h"

#include "tg_rules.h"

/* An attribute dropped for its key not being on allow_keys is counted
 * once, as "unclassified" / "drop", from the view's stats below; the tally
 * callback never reports it, so it is not in the ledger twice. */
static void on_tally(void *ctx, const char *class_name, enum tg_rules_action action)
{
    tg_egress_tally *t = ctx;

    if (t)
        tg_egress_tally_add(t, class_name, tg_rules_action_name(action), 1);
}

int tg_view_rules_fn(void *ctx, enum tg_signal sig, ProtobufCMessage *in,
                     const uint8_t *stored, size_t stored_len, tg_arena *arena,
                     ProtobufCMessage **out, tg_egress_tally *tally)
{
    tg_view_rules *vr = ctx;
    tg_rules_policy *p;
    tg_rules_classification *cls = NULL;
    tg_rules_view_opts opts;
    tg_rules_view_stats st;
    int dest, rc, how;

    (void)sig;
    if (!vr || !vr->slot)
        return TG_EINVAL;
    p = tg_rules_slot_acquire(vr->slot);
    if (!p)
        return TG_EINVAL; /* no policy: nothing leaves */
    pthread_mutex_lock(&vr->mu);
    snprintf(vr->version, sizeof(vr->version), "%s", tg_rules_policy_version(p));
    pthread_mutex_unlock(&vr->mu);
    dest = tg_rules_destination_index(p, vr->destination);
    if (dest < 0) {
        tg_rules_policy_unref(p);
        return TG_ENOT_FOUND; /* a policy without this destination sends it nothing */
    }
    /* 0: the stored classification, 1: none stored, 2: another policy's. */
    how = 1;
    if (stored && stored_len) {
        rc = tg_rules_classification_decode(p, in, stored, stored_len, arena, &cls);
        how = rc == 0 ? 0 : 2;
        if (rc)
            cls = NULL;
    }
    pthread_mutex_lock(&vr->mu);
    if (how == 0)
        vr->n_stored++;
    else if (how == 1)
        vr->n_unstored++;
    else
        vr->n_stale++;
    pthread_mutex_unlock(&vr->mu);
    if (!cls && (rc = tg_rules_classify(p, in, arena, &cls)) != 0) {
        tg_rules_policy_unref(p);
        return rc;
    }
    memset(&opts, 0, sizeof(opts));
    opts.tally = on_tally;
    opts.tally_ctx = tally;
    memset(&st, 0, sizeof(st));
    rc = tg_rules_view(cls, (size_t)dest, arena, &opts, out, &st);
    if (rc == 0 && tally && st.dropped_unclassified)
        tg_egress_tally_add(tally, "unclassified", "drop", st.dropped_unclassified);
    tg_rules_policy_unref(p);
    return rc;
}

void tg_view_rules_counts(tg_view_rules *vr, uint64_t *stored, uint64_t *unstored,
                          uint64_t *stale)
{
    pthread_mutex_lock(&vr->mu);
    *stored = vr->n_stored;
    *unstored = vr->n_unstored;
    *stale = vr->n_stale;
    pthread_mutex_unlock(&vr->mu);
}

static const char *policy_version(void *ctx)
{
    tg_view_rules *vr = ctx;
    const char *v;

    /* The forwarder copies the string at once; the buffer is only
     * rewritten by the worker thread that also reads it. */
    pthread_mutex_lock(&vr->mu);
    v = vr->version[0] ? vr->version : "rules:unloaded";
    pthread_mutex_unlock(&vr->mu);
    return v;
}

const tg_view_desc tg_view_rules_kind = {"rules", tg_view_rules_fn, policy_version};
