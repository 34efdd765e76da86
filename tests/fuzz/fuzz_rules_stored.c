/* Fuzz target: a classification read back from the local store
 * (tg_rules_classification_decode), which the forwarder trusts instead of
 * scanning again. Stored bytes can be damaged on disk; whatever they hold,
 * decoding must either refuse them or yield a classification every
 * destination's view can be built from, and never crash.
 *
 * Input: first byte odd, the rest is the stored bytes as they are; even,
 * the rest is a list of 20-byte findings and the target adds the header
 * with the policy's own version (which a fuzzer could never guess), so the
 * findings themselves are what gets explored. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_otlp.h"
#include "tg_rules.h"

static const char policy_text[] =
    "classes:\n"
    "  pii.email: {retention: 2h, detect: {keys: [user.email], values: [email]}}\n"
    "  pci.pan: {detect: {values: [credit_card]}}\n"
    "  secret.token: {detect: {keys: [token]}}\n"
    "  pii.sql: {detect: {values: [{builtin: sql_literal, keys: [db.statement]}]}}\n"
    "  custom.order: {detect: {values: [{pattern: 'ORD-[0-9]{6}'}]}}\n"
    "destinations:\n"
    "  central: {actions: {default: redact, pii.email: hash}}\n"
    "  strict:\n"
    "    unclassified: {allow_keys: [service.name], bodies: drop}\n"
    "    actions: {default: keep-local}\n"
    "  mask: {actions: {default: mask}}\n"
    "keys: {k1: {hex: 00112233445566778899aabbccddeeff}}\n";

static const char request_json[] =
    "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
    "\"value\":{\"stringValue\":\"shop\"}}]},\"scopeLogs\":[{\"logRecords\":[{"
    "\"body\":{\"stringValue\":\"user bob@example.com card 4111 1111 1111 1111 "
    "order ORD-123456\"},\"attributes\":[{\"key\":\"db.statement\",\"value\":{"
    "\"stringValue\":\"SELECT * FROM t WHERE a = 'x' AND b = 42\"}},{\"key\":"
    "\"user.email\",\"value\":{\"intValue\":\"4111111111111111\"}},{\"key\":\"token\","
    "\"value\":{\"arrayValue\":{\"values\":[{\"stringValue\":\"abc\"},{\"kvlistValue\":"
    "{\"values\":[{\"key\":\"x\",\"value\":{\"stringValue\":\"a@b.co\"}}]}}]}}}]},"
    "{\"body\":{\"stringValue\":\"second\"}}]}]}]}";

static tg_rules_policy *policy;
static ProtobufCMessage *request;
static tg_arena request_arena;

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

static void init(void)
{
    tg_rules_source src = {"fuzz.yaml", policy_text, sizeof(policy_text) - 1};
    tg_rules_options opt;
    tg_rules_diag d;
    tg_otlp_request req;
    char err[256];

    memset(&opt, 0, sizeof(opt));
    opt.no_filesystem = 1;
    policy = tg_rules_policy_load_sources(&src, 1, &opt, &d);
    check(policy != NULL, "the policy loads");
    tg_arena_init(&request_arena, 0, 0);
    check(tg_otlp_decode(TG_SIGNAL_LOGS, TG_ENC_JSON, (const uint8_t *)request_json,
                         sizeof(request_json) - 1, &request_arena, &req, err,
                         sizeof(err)) == 0,
          "the request decodes");
    request = req.msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tg_arena a;
    tg_rules_classification *c;
    const uint8_t *in = data + 1;
    uint8_t *buf = NULL;
    size_t len = size ? size - 1 : 0;
    int rc;

    if (!policy)
        init();
    if (size && !(data[0] & 1)) {
        const char *ver = tg_rules_policy_version(policy);
        size_t vl = strlen(ver), n = len / 20;

        buf = malloc(6 + vl + 4 + n * 20);
        check(buf != NULL, "memory");
        memcpy(buf, "TGRC", 4);
        buf[4] = 1;
        buf[5] = (uint8_t)vl;
        memcpy(buf + 6, ver, vl);
        buf[6 + vl] = (uint8_t)n;
        buf[7 + vl] = (uint8_t)(n >> 8);
        buf[8 + vl] = (uint8_t)(n >> 16);
        buf[9 + vl] = (uint8_t)(n >> 24);
        if (n)
            memcpy(buf + 10 + vl, in, n * 20);
        in = buf;
        len = 10 + vl + n * 20;
    }
    tg_arena_init(&a, 64 * 1024, 64u << 20);
    rc = tg_rules_classification_decode(policy, request, in, len, &a, &c);
    if (rc == 0) {
        for (size_t i = 0; i < tg_rules_n_destinations(policy); i++) {
            ProtobufCMessage *out;
            if (tg_rules_view(c, i, &a, NULL, &out, NULL) == 0) {
                size_t n = protobuf_c_message_get_packed_size(out);
                uint8_t *pk = tg_arena_alloc(&a, n ? n : 1);
                check(pk != NULL, "arena");
                check(protobuf_c_message_pack(out, pk) == n, "a view packs");
            }
        }
    }
    tg_arena_destroy(&a);
    free(buf);
    return 0;
}
