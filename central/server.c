#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <http_parser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tg_log.h"
#include "tg_time.h"

#define MAX_HEADER_BYTES (64 * 1024)

typedef struct conn conn;

struct tg_srv {
    int fd;
    int port;
    tg_srv_options opt;
    tg_srv_handler handler;
    void *ctx;
    SSL_CTX *ssl;
    int64_t cert_not_after;
    pthread_t acceptor;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    size_t n_conns;
    conn *conns; /* live connections, for shutdown */
};

struct conn {
    tg_srv *srv;
    int fd;
    SSL *ssl;
    conn *next, *prev;
    http_parser parser;
    tg_srv_request req;
    uint8_t *body;
    size_t body_len, body_cap;
    size_t header_bytes;
    char hname[64];
    int in_value;
    int complete;
    int too_big;
    int bad;
    char peer[64];
};

/* ---- responses ------------------------------------------------------------ */

void tg_srv_reply(tg_srv_response *resp, int status, const char *content_type,
                  const void *body, size_t len)
{
    free(resp->body);
    resp->status = status;
    resp->content_type = content_type;
    resp->body = malloc(len ? len : 1);
    resp->len = resp->body ? len : 0;
    if (resp->body && len)
        memcpy(resp->body, body, len);
}

void tg_srv_reply_text(tg_srv_response *resp, int status, const char *text)
{
    tg_srv_reply(resp, status, "text/plain; charset=utf-8", text, strlen(text));
}

const char *tg_srv_header(const tg_srv_request *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 426:
        return "Upgrade Required";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 507:
        return "Insufficient Storage";
    default:
        return "Status";
    }
}

static int io_write(conn *c, const void *p, size_t n)
{
    const uint8_t *b = p;

    while (n > 0) {
        ssize_t w;
        if (c->ssl) {
            int r = SSL_write(c->ssl, b, n > 1 << 30 ? 1 << 30 : (int)n);
            if (r <= 0)
                return -1;
            w = r;
        } else {
            w = send(c->fd, b, n, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return -1;
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static ssize_t io_read(conn *c, void *p, size_t n)
{
    if (c->ssl) {
        int r = SSL_read(c->ssl, p, n > 1 << 30 ? 1 << 30 : (int)n);
        return r > 0 ? r : -1;
    }
    for (;;) {
        ssize_t r = recv(c->fd, p, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        return r;
    }
}

static int send_response(conn *c, const tg_srv_response *r, int keep_alive)
{
    char head[1024];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: %s\r\n%s\r\n",
                     r->status, reason(r->status),
                     r->content_type ? r->content_type : "text/plain; charset=utf-8",
                     r->len, keep_alive ? "keep-alive" : "close", r->headers);

    if (n < 0 || (size_t)n >= sizeof(head))
        return -1;
    if (io_write(c, head, (size_t)n) != 0)
        return -1;
    return r->len ? io_write(c, r->body, r->len) : 0;
}

static void send_error(conn *c, int status, const char *msg)
{
    tg_srv_response r;

    memset(&r, 0, sizeof(r));
    tg_srv_reply_text(&r, status, msg);
    send_response(c, &r, 0);
    free(r.body);
}

/* ---- parsing ------------------------------------------------------------------ */

static int on_url(http_parser *p, const char *at, size_t len)
{
    conn *c = p->data;
    size_t cur = strlen(c->req.path);

    c->header_bytes += len;
    if (cur + len >= sizeof(c->req.path)) {
        c->bad = 414;
        return 1;
    }
    memcpy(c->req.path + cur, at, len);
    c->req.path[cur + len] = '\0';
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    conn *c = p->data;
    size_t cur;

    c->header_bytes += len;
    if (c->header_bytes > MAX_HEADER_BYTES) {
        c->bad = 431;
        return 1;
    }
    if (c->in_value) {
        c->in_value = 0;
        if (c->req.n_headers < TG_SRV_MAX_HEADERS)
            c->req.n_headers++;
        c->hname[0] = '\0';
    }
    cur = strlen(c->hname);
    if (cur + len < sizeof(c->hname)) {
        memcpy(c->hname + cur, at, len);
        c->hname[cur + len] = '\0';
    }
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    conn *c = p->data;
    size_t i = c->req.n_headers, cur;

    c->header_bytes += len;
    if (c->header_bytes > MAX_HEADER_BYTES) {
        c->bad = 431;
        return 1;
    }
    if (i >= TG_SRV_MAX_HEADERS)
        return 0; /* beyond the ones we keep */
    if (!c->in_value) {
        c->in_value = 1;
        snprintf(c->req.headers[i].name, sizeof(c->req.headers[i].name), "%s", c->hname);
        c->req.headers[i].value[0] = '\0';
    }
    cur = strlen(c->req.headers[i].value);
    if (cur + len < sizeof(c->req.headers[i].value)) {
        memcpy(c->req.headers[i].value + cur, at, len);
        c->req.headers[i].value[cur + len] = '\0';
    }
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    conn *c = p->data;

    if (c->in_value && c->req.n_headers < TG_SRV_MAX_HEADERS)
        c->req.n_headers++;
    c->in_value = 0;
    snprintf(c->req.method, sizeof(c->req.method), "%s",
             http_method_str((enum http_method)p->method));
    if (p->content_length != ULLONG_MAX &&
        p->content_length > c->srv->opt.max_body_bytes) {
        c->too_big = 1;
        return 1;
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    conn *c = p->data;

    if (c->body_len + len > c->srv->opt.max_body_bytes) {
        c->too_big = 1;
        return 1;
    }
    if (c->body_len + len > c->body_cap) {
        size_t nc = c->body_cap ? c->body_cap : 65536;
        uint8_t *nb;
        while (nc < c->body_len + len)
            nc *= 2;
        nb = realloc(c->body, nc);
        if (!nb) {
            c->too_big = 1;
            return 1;
        }
        c->body = nb;
        c->body_cap = nc;
    }
    memcpy(c->body + c->body_len, at, len);
    c->body_len += len;
    return 0;
}

static int on_message_complete(http_parser *p)
{
    conn *c = p->data;

    c->complete = 1;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings settings = {
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void split_query(tg_srv_request *r)
{
    char *q = strchr(r->path, '?');

    r->query[0] = '\0';
    if (q) {
        snprintf(r->query, sizeof(r->query), "%s", q + 1);
        *q = '\0';
    }
}

static void reset_request(conn *c)
{
    memset(&c->req, 0, sizeof(c->req));
    snprintf(c->req.peer, sizeof(c->req.peer), "%s", c->peer);
    c->body_len = 0;
    c->header_bytes = 0;
    c->hname[0] = '\0';
    c->in_value = 0;
    c->complete = 0;
    c->bad = 0;
}

static void set_timeout(int fd, uint64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void read_peer_cert(conn *c)
{
    X509 *x = SSL_get1_peer_certificate(c->ssl);
    struct tm tm;

    c->req.client_cert_cn[0] = '\0';
    c->req.client_cert_not_after = 0;
    if (!x)
        return;
    if (SSL_get_verify_result(c->ssl) == X509_V_OK) {
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
                                  c->req.client_cert_cn, sizeof(c->req.client_cert_cn));
        if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
            c->req.client_cert_not_after = (int64_t)timegm(&tm);
    }
    X509_free(x);
}

static void serve(conn *c)
{
    tg_srv *s = c->srv;
    char buf[65536];
    size_t off = 0, have = 0;
    char cn[256] = "";
    int64_t cert_na = 0;

    if (c->ssl) {
        set_timeout(c->fd, s->opt.timeout_ms);
        if (SSL_accept(c->ssl) != 1) {
            tg_debug("TLS handshake failed", "peer=%s", c->peer);
            return;
        }
        read_peer_cert(c);
        snprintf(cn, sizeof(cn), "%s", c->req.client_cert_cn);
        cert_na = c->req.client_cert_not_after;
    }
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    reset_request(c);
    for (;;) {
        size_t used;
        if (off == have) {
            ssize_t n;
            /* Idle between requests, the request timeout once one began. */
            set_timeout(c->fd, c->header_bytes || c->body_len ? s->opt.timeout_ms
                                                              : s->opt.idle_ms);
            n = io_read(c, buf, sizeof(buf));
            if (n <= 0) {
                if (c->header_bytes || c->body_len)
                    send_error(c, 408, "request timed out or connection closed\n");
                return;
            }
            off = 0;
            have = (size_t)n;
        }
        used = http_parser_execute(&c->parser, &settings, buf + off, have - off);
        off += used;
        if (c->too_big) {
            send_error(c, 413, "request body too large\n");
            return;
        }
        if (c->bad) {
            send_error(c, c->bad, "request line or headers too large\n");
            return;
        }
        if (HTTP_PARSER_ERRNO(&c->parser) != HPE_OK &&
            HTTP_PARSER_ERRNO(&c->parser) != HPE_PAUSED) {
            send_error(c, 400, "malformed HTTP request\n");
            return;
        }
        if (c->complete) {
            tg_srv_response resp;
            int keep = http_should_keep_alive(&c->parser);
            memset(&resp, 0, sizeof(resp));
            split_query(&c->req);
            c->req.body = c->body;
            c->req.body_len = c->body_len;
            c->req.tls = c->ssl != NULL;
            snprintf(c->req.client_cert_cn, sizeof(c->req.client_cert_cn), "%s", cn);
            c->req.client_cert_not_after = cert_na;
            c->req.received_ns = tg_wall_ns();
            s->handler(s->ctx, &c->req, &resp);
            if (!resp.status)
                tg_srv_reply_text(&resp, 500, "no response\n");
            pthread_mutex_lock(&s->mu);
            if (s->stop)
                keep = 0;
            pthread_mutex_unlock(&s->mu);
            if (send_response(c, &resp, keep) != 0)
                keep = 0;
            free(resp.body);
            if (!keep)
                return;
            http_parser_pause(&c->parser, 0);
            reset_request(c);
            /* Keep the body buffer for the next request unless it grew big. */
            if (c->body_cap > (4u << 20)) {
                free(c->body);
                c->body = NULL;
                c->body_cap = 0;
            }
        }
    }
}

static void *conn_main(void *arg)
{
    conn *c = arg;
    tg_srv *s = c->srv;

    serve(c);
    if (c->ssl) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    pthread_mutex_lock(&s->mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->n_conns--;
    close(c->fd);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    free(c->body);
    free(c);
    return NULL;
}

static void *accept_main(void *arg)
{
    tg_srv *s = arg;

    for (;;) {
        struct pollfd pfd = {s->fd, POLLIN, 0};
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        pthread_attr_t attr;
        pthread_t t;
        conn *c;
        int fd, stop, one = 1;

        pthread_mutex_lock(&s->mu);
        stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        if (stop)
            break;
        if (poll(&pfd, 1, 200) <= 0)
            continue;
        fd = accept(s->fd, (struct sockaddr *)&ss, &sl);
        if (fd < 0)
            continue;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        c = calloc(1, sizeof(*c));
        if (!c) {
            close(fd);
            continue;
        }
        c->srv = s;
        c->fd = fd;
        if (ss.ss_family == AF_INET6) {
            char ip[INET6_ADDRSTRLEN];
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
            snprintf(c->peer, sizeof(c->peer), "[%s]:%u", ip, ntohs(a->sin6_port));
        } else {
            char ip[INET_ADDRSTRLEN];
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
            snprintf(c->peer, sizeof(c->peer), "%s:%u", ip, ntohs(a->sin_port));
        }
        pthread_mutex_lock(&s->mu);
        if (s->n_conns >= s->opt.max_connections) {
            pthread_mutex_unlock(&s->mu);
            if (!s->ssl) {
                static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
                                           "Content-Length: 0\r\nConnection: close\r\n"
                                           "Retry-After: 1\r\n\r\n";
                if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL) < 0)
                    tg_debug("refusal not sent", "peer=%s", c->peer);
            }
            close(fd);
            free(c);
            continue;
        }
        if (s->ssl) {
            c->ssl = SSL_new(s->ssl);
            if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
                pthread_mutex_unlock(&s->mu);
                SSL_free(c->ssl);
                close(fd);
                free(c);
                continue;
            }
        }
        c->next = s->conns;
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
        s->n_conns++;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, conn_main, c) != 0) {
            s->conns = c->next;
            if (c->next)
                c->next->prev = NULL;
            s->n_conns--;
            pthread_mutex_unlock(&s->mu);
            SSL_free(c->ssl);
            close(fd);
            free(c);
        } else {
            pthread_mutex_unlock(&s->mu);
        }
        pthread_attr_destroy(&attr);
    }
    return NULL;
}

static int tls_setup(tg_srv *s, char *err, size_t errlen)
{
    const tg_srv_options *o = &s->opt;
    X509 *x;
    struct tm tm;

    s->ssl = SSL_CTX_new(TLS_server_method());
    if (!s->ssl) {
        snprintf(err, errlen, "cannot create a TLS context");
        return -1;
    }
    SSL_CTX_set_min_proto_version(s->ssl, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(s->ssl, o->tls_cert_file) != 1) {
        snprintf(err, errlen, "cannot load the TLS certificate %s", o->tls_cert_file);
        return -1;
    }
    if (SSL_CTX_use_PrivateKey_file(s->ssl, o->tls_key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(s->ssl) != 1) {
        snprintf(err, errlen,
                 "cannot load the TLS key %s (or it does not match the "
                 "certificate)",
                 o->tls_key_file);
        return -1;
    }
    if (o->tls_client_ca_file && o->tls_client_ca_file[0]) {
        STACK_OF(X509_NAME) * names;
        if (SSL_CTX_load_verify_locations(s->ssl, o->tls_client_ca_file, NULL) != 1) {
            snprintf(err, errlen, "cannot load the client CA %s", o->tls_client_ca_file);
            return -1;
        }
        names = SSL_load_client_CA_file(o->tls_client_ca_file);
        if (names)
            SSL_CTX_set_client_CA_list(s->ssl, names);
        SSL_CTX_set_verify(
            s->ssl,
            SSL_VERIFY_PEER |
                (o->tls_require_client_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
            NULL);
    }
    x = SSL_CTX_get0_certificate(s->ssl);
    if (x && ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
        s->cert_not_after = (int64_t)timegm(&tm);
    return 0;
}

static int bind_addr(tg_srv *s, const char *addr, char *err, size_t errlen)
{
    char host[256], port[16];
    const char *colon = strrchr(addr, ':');
    struct addrinfo hints, *res = NULL;
    int fd = -1, one = 1, rc;
    size_t hl;

    if (!colon || colon == addr || strlen(colon + 1) == 0 ||
        strlen(colon + 1) >= sizeof(port)) {
        snprintf(err, errlen, "listen address must be HOST:PORT, got \"%s\"", addr);
        return -1;
    }
    hl = (size_t)(colon - addr);
    if (addr[0] == '[' && hl >= 2 && addr[hl - 1] == ']') {
        addr++;
        hl -= 2;
    }
    if (hl >= sizeof(host)) {
        snprintf(err, errlen, "host name too long");
        return -1;
    }
    memcpy(host, addr, hl);
    host[hl] = '\0';
    snprintf(port, sizeof(port), "%s", colon + 1);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", addr, gai_strerror(rc));
        return -1;
    }
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 128) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
        return -1;
    }
    {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        getsockname(fd, (struct sockaddr *)&ss, &sl);
        s->port = ss.ss_family == AF_INET6
                      ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                      : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    s->fd = fd;
    return 0;
}

tg_srv *tg_srv_start(const char *addr, const tg_srv_options *opt, tg_srv_handler h,
                     void *ctx, char *err, size_t errlen)
{
    tg_srv *s = calloc(1, sizeof(*s));

    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->fd = -1;
    s->opt = *opt;
    if (!s->opt.max_connections)
        s->opt.max_connections = 256;
    if (!s->opt.max_body_bytes)
        s->opt.max_body_bytes = 64u << 20;
    if (!s->opt.timeout_ms)
        s->opt.timeout_ms = 30000;
    if (!s->opt.idle_ms)
        s->opt.idle_ms = 120000;
    s->handler = h;
    s->ctx = ctx;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (opt->tls_cert_file && opt->tls_cert_file[0] && tls_setup(s, err, errlen) != 0)
        goto fail;
    if (bind_addr(s, addr, err, errlen) != 0)
        goto fail;
    if (pthread_create(&s->acceptor, NULL, accept_main, s) != 0) {
        snprintf(err, errlen, "cannot start the accept thread");
        goto fail;
    }
    return s;
fail:
    if (s->fd >= 0)
        close(s->fd);
    if (s->ssl)
        SSL_CTX_free(s->ssl);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
    return NULL;
}

int tg_srv_port(const tg_srv *s)
{
    return s->port;
}

int64_t tg_srv_cert_not_after(const tg_srv *s)
{
    return s->cert_not_after;
}

void tg_srv_stop(tg_srv *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->acceptor, NULL);
    close(s->fd);
    pthread_mutex_lock(&s->mu);
    /* Wake every connection thread out of its blocking read. */
    for (conn *c = s->conns; c; c = c->next)
        shutdown(c->fd, SHUT_RDWR);
    while (s->n_conns > 0)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    if (s->ssl)
        SSL_CTX_free(s->ssl);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}
