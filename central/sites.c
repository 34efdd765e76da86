#include "sites.h"

#include <libgen.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_costmodel.h"
#include "tg_audit_note.h"
#include "tg_err.h"
#include "tg_wire.h"
#include "tg_yaml.h"

int tg_site_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > 63)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

void tg_sites_free(tg_sites *s)
{
    if (!s)
        return;
    for (size_t i = 0; s->v && i < s->n; i++)
        if (s->v[i].cost) {
            free(s->v[i].cost);
            s->v[i].cost = NULL;
        }
    if (s->v)
        OPENSSL_cleanse(s->v, s->n * sizeof(*s->v));
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

/* The optional cost keys of a site entry; the model file's errors name
 * its own FILE:LINE:COLUMN. */
static int read_cost(const char *path, const char *dir, const tg_ynode *n,
                     tg_site_entry *e, char *err, size_t errlen)
{
    const tg_ynode *x;
    char file[1024], full[2100];
    int rc;

    if ((x = tg_yaml_get(n, "jurisdiction")) &&
        (rc =
             tg_yaml_str(path, x, e->jurisdiction, sizeof(e->jurisdiction), err, errlen)))
        return rc;
    if ((x = tg_yaml_get(n, "provider")) &&
        (rc = tg_yaml_str(path, x, e->provider, sizeof(e->provider), err, errlen)))
        return rc;
    if ((x = tg_yaml_get(n, "region")) &&
        (rc = tg_yaml_str(path, x, e->region, sizeof(e->region), err, errlen)))
        return rc;
    if (!(x = tg_yaml_get(n, "cost_model")))
        return 0;
    if ((rc = tg_yaml_str(path, x, file, sizeof(file), err, errlen)))
        return rc;
    if (file[0] == '/')
        snprintf(full, sizeof(full), "%s", file);
    else
        snprintf(full, sizeof(full), "%s/%s", dir, file);
    if (!(e->cost = malloc(sizeof(*e->cost))))
        return TG_ENOMEM;
    return tg_costmodel_load(full, "cost_model", e->cost, err, errlen);
}

int tg_sites_load(const char *path, tg_sites *out, char *err, size_t errlen)
{
    static const char *const top_keys[] = {"sites", NULL};
    static const char *const site_keys[] = {
        "name",         "token_file", "api",    "client_cert_cn", "cost_model",
        "jurisdiction", "provider",   "region", "audit_key",      NULL};
    tg_ynode *root = tg_yaml_load_file(path, err, errlen);
    const tg_ynode *list;
    char dir[1024], tmp[1024];
    tg_sites s = {0};
    int rc = 0;

    if (!root)
        return TG_ECONFIG;
    snprintf(tmp, sizeof(tmp), "%s", path);
    snprintf(dir, sizeof(dir), "%s", dirname(tmp));
    if ((rc = tg_yaml_check_keys(path, root, top_keys, err, errlen)))
        goto out;
    list = tg_yaml_get(root, "sites");
    if (!list) {
        rc = tg_yaml_error(err, errlen, path, root, "missing \"sites\" list");
        goto out;
    }
    if (list->kind != TG_YNODE_SEQ) {
        rc = tg_yaml_error(err, errlen, path, list, "\"sites\" must be a list");
        goto out;
    }
    s.v = calloc(list->n ? list->n : 1, sizeof(*s.v));
    if (!s.v) {
        rc = TG_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < list->n; i++) {
        const tg_ynode *n = list->items[i], *x;
        tg_site_entry *e = &s.v[s.n];
        char tf[1024], full[2100];
        if ((rc = tg_yaml_check_keys(path, n, site_keys, err, errlen)))
            goto out;
        if (!(x = tg_yaml_get(n, "name"))) {
            rc = tg_yaml_error(err, errlen, path, n, "a site needs a name");
            goto out;
        }
        if ((rc = tg_yaml_str(path, x, e->name, sizeof(e->name), err, errlen)))
            goto out;
        if (!tg_site_name_ok(e->name, strlen(e->name))) {
            rc = tg_yaml_error(err, errlen, path, x,
                               "site names are 1-63 letters, digits, '.', '_' or '-'");
            goto out;
        }
        if (tg_sites_find(&s, e->name)) {
            rc = tg_yaml_error(err, errlen, path, x, "site \"%s\" is listed twice",
                               e->name);
            goto out;
        }
        if (!(x = tg_yaml_get(n, "token_file"))) {
            rc = tg_yaml_error(err, errlen, path, n, "site \"%s\" needs a token_file",
                               e->name);
            goto out;
        }
        if ((rc = tg_yaml_str(path, x, tf, sizeof(tf), err, errlen)))
            goto out;
        if (tf[0] == '/')
            snprintf(full, sizeof(full), "%s", tf);
        else
            snprintf(full, sizeof(full), "%s/%s", dir, tf);
        if ((rc = tg_wire_read_token(full, e->token, sizeof(e->token))) != 0) {
            rc = tg_yaml_error(err, errlen, path, x, "cannot read a token from %s (%s)",
                               full, tg_wire_token_why(rc));
            goto out;
        }
        if ((x = tg_yaml_get(n, "api")) &&
            (rc = tg_yaml_str(path, x, e->api, sizeof(e->api), err, errlen)))
            goto out;
        if ((x = tg_yaml_get(n, "client_cert_cn")) &&
            (rc = tg_yaml_str(path, x, e->client_cert_cn, sizeof(e->client_cert_cn), err,
                              errlen)))
            goto out;
        if ((x = tg_yaml_get(n, "audit_key")) &&
            (rc = tg_yaml_str(path, x, e->audit_key, sizeof(e->audit_key), err, errlen)))
            goto out;
        if (e->audit_key[0]) {
            tg_audit_verifier v;
            if (tg_audit_verifier_parse(e->audit_key, strlen(e->audit_key), &v) != 0 ||
                v.type != TG_AUDIT_SIG_ED25519) {
                rc = tg_yaml_error(err, errlen, path, x,
                                   "audit_key is not an Ed25519 vkey (audit.key.vkey)");
                goto out;
            }
        }
        s.n++;
        if ((rc = read_cost(path, dir, n, e, err, errlen)))
            goto out;
    }
    *out = s;
    s.v = NULL;
out:
    tg_sites_free(&s);
    tg_yaml_free(root);
    return rc;
}

const tg_site_entry *tg_sites_find(const tg_sites *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].name, name) == 0)
            return &s->v[i];
    return NULL;
}

int tg_sites_token_ok(const tg_site_entry *e, const char *token, size_t len)
{
    size_t el = strlen(e->token);
    unsigned char diff = (unsigned char)(el != len);
    /* Compare over the presented length against a same-length buffer so
     * timing depends only on what the client sent. */
    for (size_t i = 0; i < len; i++)
        diff |= (unsigned char)(token[i] ^ (i < el ? e->token[i] : 0));
    return diff == 0 && len > 0;
}
