/* Token lists: who may ask, with which token, up to what. See tg_access.h. */
#include "tg_access.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tg_err.h"
#include "tg_wire.h"

static int name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '@'))
            return 0;
    }
    return 1;
}

int tg_access_read(const char *file, const char *base_dir, const tg_ynode *list,
                   const char *grant_key, const char *const *extra_keys, tg_access *out,
                   char *err, size_t errlen)
{
    const char *keys[24];
    size_t nk = 0;
    tg_access a = {0};
    int rc = 0;

    memset(out, 0, sizeof(*out));
    keys[nk++] = "name";
    keys[nk++] = "token_file";
    keys[nk++] = grant_key;
    for (size_t i = 0; extra_keys && extra_keys[i] && nk < 23; i++)
        keys[nk++] = extra_keys[i];
    keys[nk] = NULL;
    if (!list || list->kind != TG_YNODE_SEQ)
        return tg_yaml_error(err, errlen, file, list,
                             "expected a list of {name, token_file, %s}", grant_key);
    if (!(a.v = calloc(list->n ? list->n : 1, sizeof(*a.v))))
        return TG_ENOMEM;
    for (size_t i = 0; i < list->n; i++) {
        const tg_ynode *n = list->items[i], *x;
        tg_access_entry *e = &a.v[a.n];
        char tf[1024], full[2200];

        if (n->kind != TG_YNODE_MAP) {
            rc = tg_yaml_error(err, errlen, file, n,
                               "expected a mapping {name, token_file, %s}", grant_key);
            goto out;
        }
        if ((rc = tg_yaml_check_keys(file, n, keys, err, errlen)))
            goto out;
        if (!(x = tg_yaml_get(n, "name"))) {
            rc = tg_yaml_error(err, errlen, file, n, "an entry needs a name");
            goto out;
        }
        if ((rc = tg_yaml_str(file, x, e->name, sizeof(e->name), err, errlen)))
            goto out;
        if (!name_ok(e->name)) {
            rc = tg_yaml_error(err, errlen, file, x,
                               "names are 1-63 letters, digits, '.', '_', '-' or '@'");
            goto out;
        }
        if (tg_access_find(&a, e->name)) {
            rc = tg_yaml_error(err, errlen, file, x, "\"%s\" is listed twice", e->name);
            goto out;
        }
        if (!(x = tg_yaml_get(n, "token_file"))) {
            rc =
                tg_yaml_error(err, errlen, file, n, "\"%s\" needs a token_file", e->name);
            goto out;
        }
        if ((rc = tg_yaml_str(file, x, tf, sizeof(tf), err, errlen)))
            goto out;
        snprintf(full, sizeof(full), "%s%s%s", tf[0] == '/' ? "" : base_dir,
                 tf[0] == '/' ? "" : "/", tf);
        if ((rc = tg_wire_read_token(full, e->token, sizeof(e->token))) != 0) {
            rc = tg_yaml_error(err, errlen, file, x, "cannot read a token from %s (%s)",
                               full, tg_wire_token_why(rc));
            goto out;
        }
        for (size_t j = 0; j < a.n; j++)
            if (strcmp(a.v[j].token, e->token) == 0) {
                rc = tg_yaml_error(err, errlen, file, x,
                                   "\"%s\" has the same token as \"%s\": one token, one "
                                   "clearance",
                                   e->name, a.v[j].name);
                goto out;
            }
        if (!(x = tg_yaml_get(n, grant_key))) {
            rc = tg_yaml_error(err, errlen, file, n, "\"%s\" needs a %s", e->name,
                               grant_key);
            goto out;
        }
        if ((rc = tg_yaml_str(file, x, e->grant, sizeof(e->grant), err, errlen)))
            goto out;
        if (!e->grant[0]) {
            rc = tg_yaml_error(err, errlen, file, x, "%s must not be empty", grant_key);
            goto out;
        }
        a.n++;
    }
    *out = a;
    return 0;
out:
    tg_access_free(&a);
    return rc;
}

void tg_access_free(tg_access *a)
{
    if (!a)
        return;
    if (a->v)
        OPENSSL_cleanse(a->v, a->n * sizeof(*a->v));
    free(a->v);
    a->v = NULL;
    a->n = 0;
}

const tg_access_entry *tg_access_authenticate(const tg_access *a,
                                              const char *authorization)
{
    const tg_access_entry *found = NULL;
    const char *t;
    size_t len;

    if (!a || !authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return NULL;
    for (t = authorization + 7; *t == ' '; t++)
        ;
    len = strlen(t);
    while (len && (t[len - 1] == ' ' || t[len - 1] == '\t'))
        len--;
    if (!len)
        return NULL;
    for (size_t i = 0; i < a->n; i++) {
        size_t el = strlen(a->v[i].token);
        /* Every entry compared, each over the presented length, so timing
         * says nothing about which token came close. */
        int same = el == len && CRYPTO_memcmp(a->v[i].token, t, len) == 0;
        if (same && !found)
            found = &a->v[i];
    }
    return found;
}

const tg_access_entry *tg_access_find(const tg_access *a, const char *name)
{
    for (size_t i = 0; a && i < a->n; i++)
        if (strcmp(a->v[i].name, name) == 0)
            return &a->v[i];
    return NULL;
}
