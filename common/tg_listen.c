/* Listening sockets with SO_REUSEPORT and the caps shared by one
 * listener's servers on several loops: see tg_listen.h. */
#include "tg_listen.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tg_err.h"

int tg_listen_parse_addr(const char *addr, struct sockaddr_storage *ss)
{
    char host[256];
    const char *hs, *he, *ps;
    char *end;
    long port;
    size_t hl;
    int v6 = 0;

    if (!addr)
        return TG_EINVAL;
    if (addr[0] == '[') {
        hs = addr + 1;
        he = strchr(hs, ']');
        if (!he || he[1] != ':')
            return TG_EINVAL;
        ps = he + 2;
        v6 = 1;
    } else {
        hs = addr;
        he = strrchr(addr, ':');
        if (!he)
            return TG_EINVAL;
        ps = he + 1;
        if (memchr(hs, ':', (size_t)(he - hs)))
            return TG_EINVAL; /* IPv6 needs brackets */
    }
    hl = (size_t)(he - hs);
    if (hl >= sizeof(host) || *ps < '0' || *ps > '9')
        return TG_EINVAL;
    errno = 0;
    port = strtol(ps, &end, 10);
    if (errno || *end || port < 0 || port > 65535)
        return TG_EINVAL;
    memcpy(host, hs, hl);
    host[hl] = '\0';
    memset(ss, 0, sizeof(*ss));
    if (v6)
        return uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) == 0 ? 0
                                                                            : TG_EINVAL;
    if (hl == 0)
        memcpy(host, "0.0.0.0", sizeof("0.0.0.0"));
    if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0)
        return 0;
    {
        struct addrinfo hints, *res = NULL;

        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE;
        if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
            return TG_EINVAL;
        if (res->ai_addrlen > sizeof(*ss)) {
            freeaddrinfo(res);
            return TG_EINVAL;
        }
        memcpy(ss, res->ai_addr, res->ai_addrlen);
        freeaddrinfo(res);
        if (ss->ss_family == AF_INET)
            ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
        else if (ss->ss_family == AF_INET6)
            ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
        else
            return TG_EINVAL;
    }
    return 0;
}

int tg_listen_bind(uv_tcp_t *h, const struct sockaddr *sa, int reuseport)
{
    int fd, one = 1, rc;
    socklen_t len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                              : sizeof(struct sockaddr_in);

    if (!reuseport)
        return uv_tcp_bind(h, sa, 0);
    fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return uv_translate_sys_error(errno);
    /* SO_REUSEADDR as libuv sets it on its own listeners (a restart binds
     * while old connections sit in TIME_WAIT). */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
        bind(fd, sa, len) != 0) {
        rc = uv_translate_sys_error(errno);
        close(fd);
        return rc;
    }
    rc = uv_tcp_open(h, fd);
    if (rc)
        close(fd);
    return rc;
}

/* ---- shared caps ----------------------------------------------------------- */

typedef struct source_count {
    uint8_t src[16];
    uint8_t len;
    size_t n;
} source_count;

struct tg_listen_caps {
    size_t max_conns, max_per_source, max_buffered;
    pthread_mutex_t mu; /* guards active and the sources */
    size_t active;
    source_count *sources; /* addresses holding a slot; a walk per accept */
    size_t n_sources, cap_sources;
    _Atomic size_t buffered;
};

tg_listen_caps *tg_listen_caps_new(size_t max_connections, size_t max_per_source,
                                   size_t max_buffered_bytes)
{
    tg_listen_caps *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->max_conns = max_connections;
    c->max_per_source = max_per_source;
    c->max_buffered = max_buffered_bytes;
    atomic_init(&c->buffered, 0);
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

void tg_listen_caps_free(tg_listen_caps *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->mu);
    free(c->sources);
    free(c);
}

static source_count *find_source(tg_listen_caps *c, const uint8_t *src, size_t len)
{
    for (size_t i = 0; i < c->n_sources; i++)
        if (c->sources[i].len == len && memcmp(c->sources[i].src, src, len) == 0)
            return &c->sources[i];
    return NULL;
}

int tg_listen_caps_take(tg_listen_caps *c, const uint8_t *src, size_t len)
{
    int per_source = c->max_per_source && c->max_per_source < c->max_conns && len &&
                     len <= sizeof(c->sources[0].src);
    source_count *sc = NULL;
    int rc = TG_LISTEN_OK;

    pthread_mutex_lock(&c->mu);
    if (c->max_conns && c->active >= c->max_conns) {
        rc = TG_LISTEN_FULL;
    } else if (per_source) {
        sc = find_source(c, src, len);
        if (sc && sc->n >= c->max_per_source) {
            rc = TG_LISTEN_SOURCE_FULL;
        } else if (!sc) {
            if (c->n_sources == c->cap_sources) {
                size_t cap = c->cap_sources ? c->cap_sources * 2 : 16;
                source_count *p = realloc(c->sources, cap * sizeof(*p));
                if (!p) {
                    pthread_mutex_unlock(&c->mu);
                    return TG_LISTEN_FULL;
                }
                c->sources = p;
                c->cap_sources = cap;
            }
            sc = &c->sources[c->n_sources++];
            memcpy(sc->src, src, len);
            sc->len = (uint8_t)len;
            sc->n = 0;
        }
    }
    if (rc == TG_LISTEN_OK) {
        c->active++;
        if (sc)
            sc->n++;
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void tg_listen_caps_give(tg_listen_caps *c, const uint8_t *src, size_t len)
{
    int per_source = c->max_per_source && c->max_per_source < c->max_conns && len &&
                     len <= sizeof(c->sources[0].src);
    source_count *sc;

    pthread_mutex_lock(&c->mu);
    if (c->active)
        c->active--;
    if (per_source && (sc = find_source(c, src, len)) && sc->n && --sc->n == 0)
        *sc = c->sources[--c->n_sources];
    pthread_mutex_unlock(&c->mu);
}

int tg_listen_caps_over_budget(const tg_listen_caps *c, size_t more)
{
    return c->max_buffered && atomic_load(&c->buffered) + more > c->max_buffered;
}

void tg_listen_caps_buffered(tg_listen_caps *c, size_t add, size_t sub)
{
    if (add)
        atomic_fetch_add(&c->buffered, add);
    if (sub)
        atomic_fetch_sub(&c->buffered, sub);
}
