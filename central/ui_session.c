/* Sign-in sessions for the web UI (see ui_session.h). A linear table: a
 * centre has a handful of people signed in, and comparing every id in
 * constant time keeps a lookup from leaking how much of an id matched. */
#include "ui_session.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_err.h"

typedef struct session {
    char id[TG_UI_SESSION_ID_LEN + 1]; /* "" : free slot */
    char user[64];
    uint64_t expires_ms;
} session;

struct tg_ui_sessions {
    pthread_mutex_t mu;
    uint64_t ttl_ms;
    size_t max;
    session *v;
};

tg_ui_sessions *tg_ui_sessions_new(size_t max, uint64_t ttl_ms)
{
    tg_ui_sessions *t;

    if (!max)
        return NULL;
    t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->v = calloc(max, sizeof(*t->v));
    if (!t->v) {
        free(t);
        return NULL;
    }
    pthread_mutex_init(&t->mu, NULL);
    t->max = max;
    t->ttl_ms = ttl_ms;
    return t;
}

void tg_ui_sessions_free(tg_ui_sessions *t)
{
    if (!t)
        return;
    OPENSSL_cleanse(t->v, t->max * sizeof(*t->v));
    pthread_mutex_destroy(&t->mu);
    free(t->v);
    free(t);
}

uint64_t tg_ui_sessions_ttl_ms(const tg_ui_sessions *t)
{
    return t->ttl_ms;
}

static void drop(session *s)
{
    OPENSSL_cleanse(s, sizeof(*s));
}

/* The slot whose id equals `id`, or NULL. Call with mu held. */
static session *find(tg_ui_sessions *t, const char *id)
{
    session *hit = NULL;

    if (strlen(id) != TG_UI_SESSION_ID_LEN)
        return NULL;
    for (size_t i = 0; i < t->max; i++)
        if (t->v[i].id[0] && CRYPTO_memcmp(t->v[i].id, id, TG_UI_SESSION_ID_LEN) == 0)
            hit = &t->v[i];
    return hit;
}

int tg_ui_session_create(tg_ui_sessions *t, const char *user, uint64_t now_ms,
                         char id[TG_UI_SESSION_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[TG_UI_SESSION_ID_LEN / 2];
    session *slot = NULL;
    size_t n = strlen(user);

    if (n == 0 || n >= sizeof(slot->user))
        return TG_EINVAL;
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return TG_EIO;
    for (size_t i = 0; i < sizeof(raw); i++) {
        id[2 * i] = hex[raw[i] >> 4];
        id[2 * i + 1] = hex[raw[i] & 15];
    }
    id[TG_UI_SESSION_ID_LEN] = '\0';
    OPENSSL_cleanse(raw, sizeof(raw));
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < t->max; i++) {
        session *s = &t->v[i];
        if (s->id[0] && s->expires_ms <= now_ms)
            drop(s);
        if (!s->id[0]) {
            if (!slot)
                slot = s;
        }
    }
    if (!slot) {
        slot = &t->v[0];
        for (size_t i = 1; i < t->max; i++)
            if (t->v[i].expires_ms < slot->expires_ms)
                slot = &t->v[i];
        drop(slot);
    }
    memcpy(slot->id, id, sizeof(slot->id));
    memcpy(slot->user, user, n + 1);
    slot->expires_ms = now_ms + t->ttl_ms;
    pthread_mutex_unlock(&t->mu);
    return 0;
}

int tg_ui_session_lookup(tg_ui_sessions *t, const char *id, uint64_t now_ms, char *user,
                         size_t userlen)
{
    session *s;
    int rc = TG_ENOT_FOUND;

    pthread_mutex_lock(&t->mu);
    s = find(t, id);
    if (s && s->expires_ms <= now_ms) {
        drop(s);
        s = NULL;
    }
    if (s) {
        snprintf(user, userlen, "%s", s->user);
        rc = 0;
    }
    pthread_mutex_unlock(&t->mu);
    return rc;
}

int tg_ui_session_remove(tg_ui_sessions *t, const char *id)
{
    session *s;

    pthread_mutex_lock(&t->mu);
    s = find(t, id);
    if (s)
        drop(s);
    pthread_mutex_unlock(&t->mu);
    return s ? 0 : TG_ENOT_FOUND;
}

size_t tg_ui_sessions_count(tg_ui_sessions *t, uint64_t now_ms)
{
    size_t n = 0;

    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < t->max; i++)
        if (t->v[i].id[0] && t->v[i].expires_ms > now_ms)
            n++;
    pthread_mutex_unlock(&t->mu);
    return n;
}

int tg_ui_cookie_get(const char *header, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    const char *p = header;

    if (!p || !nlen || !outlen)
        return -1;
    while (*p) {
        const char *end, *eq;

        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        end = p + strcspn(p, ";");
        eq = memchr(p, '=', (size_t)(end - p));
        if (eq && (size_t)(eq - p) == nlen && memcmp(p, name, nlen) == 0) {
            const char *v = eq + 1, *ve = end;
            size_t vlen;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            if (ve - v >= 2 && v[0] == '"' && ve[-1] == '"') {
                v++;
                ve--;
            }
            vlen = (size_t)(ve - v);
            if (vlen == 0 || vlen >= outlen)
                return -1;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return (int)vlen;
        }
        p = end;
    }
    return -1;
}
