/* The rules engine as the forwarder's view: it uses the classification
 * stored at ingest (no second scan) when it was made under the policy in
 * force, classifies again when there is none or it belongs to another
 * policy (or is damaged), and the destination receives the same scrubbed
 * view either way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tg_err.h"
#include "test_rules_util.h"
#include "tg_view_rules.h"

#define EMAIL "ann.leak@example.org"

static const char *policy_a = "classes:\n"
                              "  pii.email: {retention: 2h, detect: {values: [email]}}\n"
                              "destinations:\n"
                              "  central: {actions: {default: redact}}\n";

/* Another policy (another version): e-mails are dropped, and a second class. */
static const char *policy_b = "classes:\n"
                              "  pii.email: {detect: {values: [email]}}\n"
                              "  secret.token: {detect: {keys: [token]}}\n"
                              "destinations:\n"
                              "  central: {actions: {default: drop}}\n";

static const char *logs =
    "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
    "\"value\":{\"stringValue\":\"shop\"}}]},\"scopeLogs\":[{\"logRecords\":[{"
    "\"timeUnixNano\":\"1700000000000000000\",\"body\":{\"stringValue\":\"mail " EMAIL
    " now\"},\"attributes\":[{\"key\":\"token\",\"value\":{\"stringValue\":\"tok-123\"}}"
    "]}]}]}]}";

/* A fresh decode of the stored request, as the forwarder makes one. */
static ProtobufCMessage *decode(tg_arena *a)
{
    tg_otlp_request req;
    char err[256];

    assert_int_equal(tg_otlp_decode(TG_SIGNAL_LOGS, TG_ENC_JSON, (const uint8_t *)logs,
                                    strlen(logs), a, &req, err, sizeof(err)),
                     0);
    return req.msg;
}

/* The classification the collector stores at ingest, under `p`. */
static uint8_t *stored_cls(tg_rules_policy *p, size_t *len)
{
    tg_arena a;
    tg_rules_classification *c;
    uint8_t *enc, *out;

    tg_arena_init(&a, 0, 0);
    assert_int_equal(tg_rules_classify(p, decode(&a), &a, &c), 0);
    assert_int_equal(tg_rules_classification_encode(c, &a, &enc, len), 0);
    out = malloc(*len);
    memcpy(out, enc, *len);
    tg_arena_destroy(&a);
    return out;
}

/* Runs the view and returns what leaves, packed, in a malloc'd buffer. */
static uint8_t *view(tg_view_rules *vr, const uint8_t *cls, size_t cls_len, size_t *len,
                     tg_egress_tally *tally)
{
    tg_arena a;
    ProtobufCMessage *out = NULL;
    uint8_t *buf;

    tg_arena_init(&a, 0, 0);
    assert_int_equal(
        tg_view_rules_fn(vr, TG_SIGNAL_LOGS, decode(&a), cls, cls_len, &a, &out, tally),
        0);
    assert_non_null(out);
    *len = protobuf_c_message_get_packed_size(out);
    buf = malloc(*len + 1);
    protobuf_c_message_pack(out, buf);
    tg_arena_destroy(&a);
    return buf;
}

static void counts_are(tg_view_rules *vr, uint64_t stored, uint64_t unstored,
                       uint64_t stale)
{
    uint64_t s, u, st;

    tg_view_rules_counts(vr, &s, &u, &st);
    assert_int_equal(s, stored);
    assert_int_equal(u, unstored);
    assert_int_equal(st, stale);
}

/* Each test: policy A in the collector's slot, the view over it, and the
 * classification ingest stored under A. */
typedef struct fixture {
    tg_rules_policy *pa;
    tg_rules_slot *slot;
    tg_view_rules vr;
    uint8_t *cls;
    size_t cls_len;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));

    f->pa = tr_policy(policy_a);
    f->slot = tg_rules_slot_create(f->pa);
    f->vr.slot = f->slot;
    f->vr.destination = "central";
    pthread_mutex_init(&f->vr.mu, NULL);
    f->cls = stored_cls(f->pa, &f->cls_len);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    free(f->cls);
    pthread_mutex_destroy(&f->vr.mu);
    tg_rules_slot_destroy(f->slot);
    tg_rules_policy_unref(f->pa);
    free(f);
    return 0;
}

static void test_stored_classification_used(void **state)
{
    fixture *f = *state;
    tg_egress_tally tally;
    size_t l1, l2;
    uint8_t *v1, *v2;

    tg_egress_tally_reset(&tally);
    v1 = view(&f->vr, f->cls, f->cls_len, &l1, &tally);
    counts_are(&f->vr, 1, 0, 0);
    assert_false(tr_contains(v1, l1, EMAIL));
    assert_true(tr_contains(v1, l1, "[REDACTED:pii.email]"));
    assert_int_equal(tally.n, 1);
    assert_string_equal(tally.e[0].data_class, "pii.email");
    assert_string_equal(tally.e[0].action, "redact");

    /* Nothing stored: classified here, and the same bytes leave. */
    v2 = view(&f->vr, NULL, 0, &l2, NULL);
    counts_are(&f->vr, 1, 1, 0);
    assert_int_equal(l1, l2);
    assert_memory_equal(v1, v2, l1);
    free(v1);
    free(v2);
}

/* After a reload the stored classification (policy A's) is not used: the
 * request is classified under policy B, whose class and action apply. */
static void test_other_policy_classified_again(void **state)
{
    fixture *f = *state;
    tg_rules_policy *pb = tr_policy(policy_b);
    size_t l;
    uint8_t *v;

    tg_rules_slot_swap(f->slot, pb);
    v = view(&f->vr, f->cls, f->cls_len, &l, NULL);
    counts_are(&f->vr, 0, 0, 1);
    assert_false(tr_contains(v, l, EMAIL));
    assert_false(tr_contains(v, l, "tok-123"));  /* policy B's class, which A lacked */
    assert_false(tr_contains(v, l, "REDACTED")); /* B drops */
    free(v);
    tg_rules_policy_unref(pb);
}

/* Damaged stored bytes never weaken the view: they are set aside and the
 * request is classified again. */
static void test_damaged_classification_classified_again(void **state)
{
    fixture *f = *state;
    size_t l;
    uint8_t *v;

    v = view(&f->vr, f->cls, f->cls_len - 3, &l, NULL); /* truncated */
    counts_are(&f->vr, 0, 0, 1);
    assert_false(tr_contains(v, l, EMAIL));
    assert_true(tr_contains(v, l, "[REDACTED:pii.email]"));
    free(v);
    f->cls[0] ^= 0xff; /* bad magic */
    v = view(&f->vr, f->cls, f->cls_len, &l, NULL);
    counts_are(&f->vr, 0, 0, 2);
    assert_false(tr_contains(v, l, EMAIL));
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stored_classification_used, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_policy_classified_again, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_damaged_classification_classified_again,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
