/* tollgate audit: check a site's transparency log and egress ledger
 * offline, and make or check proofs that a batch's egress is in it.
 *
 *   tollgate audit verify --data DIR [--central DIR2 [--witness-key VKEY]] [--json]
 *   tollgate audit verify --proof FILE [--key VKEY] [--json]
 *   tollgate audit verify --endpoint URL --token-file F [--key VKEY]
 *                         [--witness-key VKEY] [--ca-file F] [--json]
 *   tollgate audit proof --batch ID --data DIR
 *   tollgate audit proof --batch ID --endpoint URL --token-file F [--key VKEY]
 *                        [--since CHECKPOINT] [--ca-file F]
 *
 * Exit status: 0 intact, 1 something does not verify (the first broken
 * entry is named), 2 bad usage or unreadable input. The site's key is
 * DIR/audit.key.vkey unless --key names another. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_witness.h"
#include "commands.h"
#include "tg_audit_proof.h"
#include "tg_codec.h"
#include "tg_err.h"
#include "tg_outbox_audit.h"
#include "tg_strbuf.h"
#include "tg_wire.h"

#define AUDIT_FILE_MAX (4u << 20)

static void usage(FILE *f)
{
    fputs(
        "usage: tollgate audit verify --data DIR [--key VKEY] [--central DIR2\n"
        "                             [--witness-key VKEY]] [--json]\n"
        "       tollgate audit verify --proof FILE [--key VKEY] [--json]\n"
        "       tollgate audit verify --endpoint URL --token-file F [--key VKEY]\n"
        "                             [--witness-key VKEY] [--ca-file F] [--json]\n"
        "       tollgate audit proof --batch ID --data DIR\n"
        "       tollgate audit proof --batch ID --endpoint URL --token-file F [--key "
        "VKEY]\n"
        "                            [--since CHECKPOINT] [--ca-file F]\n"
        "       tollgate audit report --from DATE --to DATE --data DIR ... (see report "
        "--help)\n"
        "\n"
        "verify --data   recompute a site's transparency log from its leaves (read\n"
        "                only), check every signed checkpoint, their consistency and\n"
        "                the egress ledger's hash chain\n"
        "                with --central, also against a copy of the centre's data\n"
        "                directory: the witness's cosigned checkpoint, a fork between\n"
        "                site and witness, and a leaf for every batch the centre holds\n"
        "verify --proof  check a tlog-proof file offline\n"
        "verify --endpoint  online: a site (its checkpoint, every tile, recomputed;\n"
        "                needs --key) or a centre (every site's cosigned checkpoint\n"
        "                and the witness's alarms; needs --witness-key)\n"
        "proof           write a tlog-proof file for batch ID on stdout: from the\n"
        "                data directory, or fetched from a running site (--endpoint;\n"
        "                with --key it must verify; with --since, the site's\n"
        "                consistency proof from that checkpoint must hold too)\n"
        "\n"
        "options:\n"
        "  --data DIR     the site's data directory (holds outbox/ and audit.key.vkey)\n"
        "  --key VKEY     the site's public key file (default DIR/audit.key.vkey)\n"
        "  --central DIR2 the centre's data directory (a copy; read only)\n"
        "  --witness-key VKEY  the witness's public key (default\n"
        "                 DIR2/witness.key.vkey)\n"
        "  --endpoint URL a running site's API or the centre\n"
        "  --token-file F the bearer token: a query client's (site) or a compliance\n"
        "                 or sre user's (centre)\n"
        "  --ca-file F    CA bundle for an https endpoint\n"
        "  --since CHECKPOINT  a signed checkpoint of the site's log kept from before\n"
        "                 (e.g. GET /api/v1/audit/checkpoint); needs --key\n"
        "  --json         one JSON document on stdout\n"
        "\n"
        "exit status: 0 intact, 1 does not verify, 2 bad usage or bad input\n",
        f);
}

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "tollgate audit: %s%s (see tollgate audit --help)\n", msg,
            arg ? arg : "");
    return 2;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;

    if (!f)
        return NULL;
    buf = malloc(AUDIT_FILE_MAX + 1);
    if (buf) {
        *len = fread(buf, 1, AUDIT_FILE_MAX + 1, f);
        if (*len > AUDIT_FILE_MAX) {
            free(buf);
            buf = NULL;
        } else {
            buf[*len] = '\0';
        }
    }
    fclose(f);
    return buf;
}

static int report(int json, int rc, const char *what, json_t *extra)
{
    if (json) {
        json_object_set_new(extra, "intact", json_boolean(rc == 0));
        if (rc)
            json_object_set_new(extra, "error", json_string(what));
        json_dumpf(extra, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
    } else if (rc) {
        fprintf(stderr, "tollgate audit: NOT intact: %s\n", what);
    }
    json_decref(extra);
    return rc;
}

static int verify_data(const char *dir, const char *key, const char *central,
                       const char *wkey, int json)
{
    char outbox[4096], vkey[4096];
    tg_outbox_audit_result r;
    int rc;

    snprintf(outbox, sizeof(outbox), "%s/outbox", dir);
    snprintf(vkey, sizeof(vkey), "%s/audit.key.vkey", dir);
    rc = tg_outbox_audit_verify(outbox, key ? key : vkey, &r);
    if (rc && rc != TG_EVERIFY) {
        fprintf(stderr, "tollgate audit: %s\n", r.what);
        return 2;
    }
    if (rc == 0 && central) {
        json_t *o = json_pack("{sI sI sI}", "leaves", (json_int_t)r.leaves, "checkpoints",
                              (json_int_t)r.checkpoints, "ledger_entries",
                              (json_int_t)r.ledger_entries);
        char what[512];
        int wr = tg_audit_witness_check(dir, central, key ? key : vkey, wkey, o, what,
                                        sizeof(what));
        if (wr == 2) {
            fprintf(stderr, "tollgate audit: %s\n", what);
            json_decref(o);
            return 2;
        }
        if (!json && wr == 0)
            printf(
                "intact: %llu leaves, %llu signed checkpoints, %llu ledger entries; "
                "the witness's cosigned checkpoint (size %lld) matches and every batch "
                "the centre holds (%lld) has its leaf\n",
                (unsigned long long)r.leaves, (unsigned long long)r.checkpoints,
                (unsigned long long)r.ledger_entries,
                (long long)json_integer_value(
                    json_object_get(o, "witness_cosigned_size")),
                (long long)json_integer_value(json_object_get(o, "central_batches")));
        return report(json, wr, what, o);
    }
    if (!json && rc == 0)
        printf("intact: %llu leaves, %llu signed checkpoints, %llu ledger entries\n",
               (unsigned long long)r.leaves, (unsigned long long)r.checkpoints,
               (unsigned long long)r.ledger_entries);
    {
        json_t *o = json_pack("{sI sI sI}", "leaves", (json_int_t)r.leaves, "checkpoints",
                              (json_int_t)r.checkpoints, "ledger_entries",
                              (json_int_t)r.ledger_entries);
        if (rc)
            json_object_set_new(o, "first_broken", json_integer((json_int_t)r.bad_index));
        return report(json, rc ? 1 : 0, r.what, o);
    }
}

static int verify_proof(const char *file, const char *key, int json)
{
    char *buf, *kbuf;
    size_t len, klen;
    tg_audit_verifier v;
    tg_audit_checkpoint cp;
    int rc;

    if (!key)
        return usage_error("verify --proof needs --key VKEY", NULL);
    if (!(kbuf = read_all(key, &klen)))
        return usage_error("cannot read the key ", key);
    while (klen && (kbuf[klen - 1] == '\n' || kbuf[klen - 1] == '\r'))
        klen--;
    rc = tg_audit_verifier_parse(kbuf, klen, &v);
    free(kbuf);
    if (rc)
        return usage_error("not a vkey: ", key);
    if (!(buf = read_all(file, &len)))
        return usage_error("cannot read the proof ", file);
    {
        /* The leaf is the proof's extra data: the ledger entry itself. */
        tg_audit_proof p;
        uint8_t *leaf = NULL;
        size_t leaf_len = 0;

        rc = tg_audit_proof_parse(buf, len, &p);
        if (rc == 0 && p.extra) {
            long dn;

            leaf = malloc(p.extra_len + 1);
            dn = leaf ? tg_base64_decode(p.extra, p.extra_len, leaf, p.extra_len + 1)
                      : TG_ENOMEM;
            if (dn < 0)
                rc = TG_EPARSE;
            else
                leaf_len = (size_t)dn;
        } else if (rc == 0) {
            rc = TG_EPARSE;
        }
        if (rc == 0)
            rc = tg_audit_proof_verify(buf, len, leaf, leaf_len, NULL, &v, 1, &cp, NULL);
        free(leaf);
    }
    free(buf);
    {
        json_t *o = json_object();
        if (rc == 0) {
            json_object_set_new(o, "origin", json_string(cp.origin));
            json_object_set_new(o, "size", json_integer((json_int_t)cp.size));
            if (!json)
                printf("proof verifies: %s, tree size %llu\n", cp.origin,
                       (unsigned long long)cp.size);
        }
        return report(json, rc ? 1 : 0, tg_strerror(rc), o);
    }
}

static int load_key(const char *file, tg_audit_verifier *v)
{
    size_t klen;
    char *kbuf = read_all(file, &klen);
    int rc;

    if (!kbuf)
        return -1;
    while (klen && (kbuf[klen - 1] == '\n' || kbuf[klen - 1] == '\r'))
        klen--;
    rc = tg_audit_verifier_parse(kbuf, klen, v);
    free(kbuf);
    return rc ? -1 : 0;
}

static int verify_endpoint(const char *url, const char *token_file, const char *ca,
                           const char *key, const char *wkey, int json)
{
    tg_audit_verifier sk, wk;
    char token[1024], what[512];
    json_t *o;
    int rc;

    if (!token_file || tg_wire_read_token(token_file, token, sizeof(token)) != 0)
        return usage_error("verify --endpoint needs a readable --token-file", NULL);
    if (key && load_key(key, &sk) != 0)
        return usage_error("not a vkey: ", key);
    if (wkey && load_key(wkey, &wk) != 0)
        return usage_error("not a vkey: ", wkey);
    o = json_object();
    rc = tg_audit_online_verify(url, token, ca, key ? &sk : NULL, wkey ? &wk : NULL, o,
                                what, sizeof(what));
    if (rc == 2) {
        fprintf(stderr, "tollgate audit: %s\n", what);
        json_decref(o);
        return 2;
    }
    if (!json && rc == 0) {
        if (json_object_get(o, "size"))
            printf(
                "intact: %s, %lld leaves recomputed from the served tiles, %lld signed "
                "checkpoints each consistent with the one before%s\n",
                json_string_value(json_object_get(o, "origin")),
                (long long)json_integer_value(json_object_get(o, "size")),
                (long long)json_integer_value(json_object_get(o, "checkpoints")),
                json_is_true(json_object_get(o, "cosigned"))
                    ? ", the newest cosigned by the witness"
                    : "");
        else
            printf("intact: %zu site(s), every cosigned checkpoint verifies, no fork\n",
                   json_array_size(json_object_get(o, "sites")));
    }
    return report(json, rc, what, o);
}

static int proof(const char *dir, const char *batch)
{
    char outbox[4096], err[512];
    tg_strbuf sb = {0};
    int rc;

    snprintf(outbox, sizeof(outbox), "%s/outbox", dir);
    rc = tg_outbox_audit_proof(outbox, batch, &sb, err, sizeof(err));
    if (rc == 0)
        fwrite(sb.p, 1, sb.len, stdout);
    else
        fprintf(stderr, "tollgate audit: %s\n", err);
    free(sb.p);
    return rc == 0 ? 0 : 1;
}

static int proof_endpoint(const char *url, const char *token_file, const char *ca,
                          const char *batch, const char *key, const char *since)
{
    tg_audit_verifier sk;
    char token[1024], what[512];
    char *held = NULL;
    size_t held_len = 0;
    tg_strbuf sb = {0};
    int rc;

    if (!token_file || tg_wire_read_token(token_file, token, sizeof(token)) != 0)
        return usage_error("proof --endpoint needs a readable --token-file", NULL);
    if (key && load_key(key, &sk) != 0)
        return usage_error("not a vkey: ", key);
    if (since && !key)
        return usage_error("--since needs the site's --key VKEY", NULL);
    if (since && !(held = read_all(since, &held_len)))
        return usage_error("cannot read the checkpoint ", since);
    rc = tg_audit_online_proof(url, token, ca, batch, key ? &sk : NULL, held, held_len,
                               &sb, what, sizeof(what));
    free(held);
    if (rc == 0 && !sb.oom)
        fwrite(sb.p, 1, sb.len, stdout);
    else
        fprintf(stderr, "tollgate audit: %s\n", sb.oom ? "out of memory" : what);
    free(sb.p);
    return rc == 0 && sb.oom ? 2 : rc;
}

int tg_cmd_audit(int argc, char **argv)
{
    const char *data = NULL, *key = NULL, *file = NULL, *batch = NULL, *central = NULL,
               *wkey = NULL, *endpoint = NULL, *token_file = NULL, *ca = NULL,
               *since = NULL;
    int json = 0;

    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "report"))
        return tg_cmd_audit_report(argc - 1, argv + 1);
    for (int i = 2; i < argc; i++) {
        const char **slot = NULL;

        if (!strcmp(argv[i], "--json")) {
            json = 1;
            continue;
        }
        if (!strcmp(argv[i], "--data"))
            slot = &data;
        else if (!strcmp(argv[i], "--key"))
            slot = &key;
        else if (!strcmp(argv[i], "--proof"))
            slot = &file;
        else if (!strcmp(argv[i], "--batch"))
            slot = &batch;
        else if (!strcmp(argv[i], "--central"))
            slot = &central;
        else if (!strcmp(argv[i], "--witness-key"))
            slot = &wkey;
        else if (!strcmp(argv[i], "--endpoint"))
            slot = &endpoint;
        else if (!strcmp(argv[i], "--token-file"))
            slot = &token_file;
        else if (!strcmp(argv[i], "--ca-file"))
            slot = &ca;
        else if (!strcmp(argv[i], "--since"))
            slot = &since;
        else
            return usage_error("unknown option ", argv[i]);
        if (++i >= argc)
            return usage_error("missing value for ", argv[i - 1]);
        *slot = argv[i];
    }
    if (!strcmp(argv[1], "verify")) {
        if (!!data + !!file + !!endpoint != 1)
            return usage_error(
                "verify needs exactly one of --data DIR, --proof FILE, --endpoint URL",
                NULL);
        if (endpoint)
            return verify_endpoint(endpoint, token_file, ca, key, wkey, json);
        if ((central || wkey) && !data)
            return usage_error("--central needs --data DIR", NULL);
        return data ? verify_data(data, key, central, wkey, json)
                    : verify_proof(file, key, json);
    }
    if (!strcmp(argv[1], "proof")) {
        if (!batch || !!data + !!endpoint != 1)
            return usage_error(
                "proof needs --batch ID and one of --data DIR, --endpoint URL", NULL);
        if (endpoint)
            return proof_endpoint(endpoint, token_file, ca, batch, key, since);
        return proof(data, batch);
    }
    return usage_error("unknown subcommand ", argv[1]);
}
