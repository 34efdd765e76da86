/* TLS for the HTTP server: OpenSSL over memory BIOs, so the socket stays
 * libuv's and one loop thread serves plain and TLS connections alike.
 *
 * Ciphertext read from the socket is written into the connection's input
 * BIO; SSL_read() runs the handshake and gives plaintext to the HTTP
 * framing. What OpenSSL has to send (handshake messages, records, session
 * tickets, alerts) accumulates in the output BIO until the connection
 * drains it into one uv_write(). Memory BIOs never block, so the only
 * "want" SSL_read() can report is more input. */
#include "tg_http_internal.h"

#include "tg_err.h"
#include "tg_log.h"

#include <limits.h>
#include <openssl/err.h>
#include <stdatomic.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct tg_http_tls {
    /* Guards ctx: one context may serve the servers of several loops
     * (tg_listen.h) and a reload may come from another thread, so a
     * reload's swap and a new connection's read of ctx take it; SSL_new
     * takes its own reference, so the old context lives on in the
     * connections that hold it. Rare and short: a lock per handshake. */
    pthread_mutex_t mu;
    SSL_CTX *ctx;
    _Atomic int64_t cert_not_after;
};

struct tg_http_tls_conn {
    SSL *ssl;
    BIO *in, *out; /* owned by ssl */
    int ready;     /* handshake done */
    int failed;    /* fatal error: no close_notify */
    char client_cn[256];
    int64_t client_not_after;
    char peer[64];
};

/* ALPN protocol lists in wire form, static so that a context outliving
 * its tg_http_tls (held by an open connection) never points at freed
 * memory. */
static const unsigned char alpn_h2[] = "\x02h2";
static const unsigned char alpn_http11[] = "\x08http/1.1";

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned inlen, void *arg)
{
    const unsigned char *want = arg;
    unsigned char *sel = NULL;

    (void)ssl;
    if (SSL_select_next_proto(&sel, outlen, want, (unsigned)want[0] + 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL; /* no_application_protocol */
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

static int64_t asn1_unix(const ASN1_TIME *t)
{
    struct tm tm;

    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return (int64_t)timegm(&tm);
}

tg_http_tls *tg_http_tls_new(const tg_http_tls_options *o, char *err, size_t errlen)
{
    tg_http_tls *t;

    if (!o || !o->cert_file || !o->cert_file[0] || !o->key_file || !o->key_file[0]) {
        snprintf(err, errlen, "TLS needs a certificate file and a key file");
        return NULL;
    }
    t = calloc(1, sizeof(*t));
    if (!t || !(t->ctx = SSL_CTX_new(TLS_server_method()))) {
        snprintf(err, errlen, "cannot create a TLS context");
        free(t);
        return NULL;
    }
    pthread_mutex_init(&t->mu, NULL);
    if (o->alpn && o->alpn[0]) {
        const unsigned char *w = strcmp(o->alpn, "h2") == 0         ? alpn_h2
                                 : strcmp(o->alpn, "http/1.1") == 0 ? alpn_http11
                                                                    : NULL;
        if (!w) {
            snprintf(err, errlen, "unsupported ALPN protocol %s", o->alpn);
            goto fail;
        }
        SSL_CTX_set_alpn_select_cb(t->ctx, alpn_select, (void *)w);
    }
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
    /* Idle keep-alive connections give their record buffers back. */
    SSL_CTX_set_mode(t->ctx, SSL_MODE_RELEASE_BUFFERS);
    /* A client asking to renegotiate costs us a handshake each time. */
    SSL_CTX_set_options(t->ctx, SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_use_certificate_chain_file(t->ctx, o->cert_file) != 1) {
        snprintf(err, errlen, "cannot load the TLS certificate %s", o->cert_file);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(t->ctx, o->key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(t->ctx) != 1) {
        snprintf(err, errlen,
                 "cannot load the TLS key %s (or it does not match the certificate)",
                 o->key_file);
        goto fail;
    }
    if (o->client_ca_file && o->client_ca_file[0]) {
        STACK_OF(X509_NAME) * names;

        if (SSL_CTX_load_verify_locations(t->ctx, o->client_ca_file, NULL) != 1) {
            snprintf(err, errlen, "cannot load the client CA %s", o->client_ca_file);
            goto fail;
        }
        names = SSL_load_client_CA_file(o->client_ca_file);
        if (names)
            SSL_CTX_set_client_CA_list(t->ctx, names);
        /* SSL_VERIFY_PEER: a certificate that does not verify fails the
         * handshake, required or not. */
        SSL_CTX_set_verify(
            t->ctx,
            SSL_VERIFY_PEER |
                (o->require_client_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
            NULL);
    }
    t->cert_not_after = asn1_unix(X509_get0_notAfter(SSL_CTX_get0_certificate(t->ctx)));
    ERR_clear_error();
    return t;
fail:
    ERR_clear_error();
    tg_http_tls_free(t);
    return NULL;
}

int tg_http_tls_reload(tg_http_tls *t, const tg_http_tls_options *o, char *err,
                       size_t errlen)
{
    tg_http_tls *n = tg_http_tls_new(o, err, errlen);
    SSL_CTX *old;

    if (!n)
        return TG_ECONFIG;
    /* Connections made before keep the context they hold a reference to
     * (SSL_new takes one): the old context is freed when the last goes. */
    pthread_mutex_lock(&t->mu);
    old = t->ctx;
    t->ctx = n->ctx;
    atomic_store(&t->cert_not_after, atomic_load(&n->cert_not_after));
    pthread_mutex_unlock(&t->mu);
    n->ctx = old;
    tg_http_tls_free(n);
    return 0;
}

void tg_http_tls_free(tg_http_tls *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

int64_t tg_http_tls_cert_not_after(const tg_http_tls *t)
{
    return t ? atomic_load(&t->cert_not_after) : 0;
}

/* ---- per session --------------------------------------------------------- */

tg_http_tls_session *tg_http_tls_session_new(tg_http_tls *t, const char *peer)
{
    tg_http_tls_conn *tc = calloc(1, sizeof(*tc));

    if (!tc)
        return NULL;
    pthread_mutex_lock(&t->mu);
    tc->ssl = SSL_new(t->ctx);
    pthread_mutex_unlock(&t->mu);
    tc->in = BIO_new(BIO_s_mem());
    tc->out = BIO_new(BIO_s_mem());
    if (!tc->ssl || !tc->in || !tc->out) {
        BIO_free(tc->in);
        BIO_free(tc->out);
        SSL_free(tc->ssl);
        free(tc);
        ERR_clear_error();
        return NULL;
    }
    /* An empty input BIO reads as "retry", not EOF. */
    BIO_set_mem_eof_return(tc->in, -1);
    SSL_set_bio(tc->ssl, tc->in, tc->out);
    SSL_set_accept_state(tc->ssl);
    snprintf(tc->peer, sizeof(tc->peer), "%s", peer ? peer : "");
    return tc;
}

void tg_http_tls_session_free(tg_http_tls_session *s)
{
    if (!s)
        return;
    SSL_free(s->ssl);
    free(s);
}

int tg_http_tls_session_feed(tg_http_tls_session *s, const void *p, size_t n)
{
    if (n > INT_MAX || BIO_write(s->in, p, (int)n) != (int)n)
        return TG_ENOMEM;
    return 0;
}

size_t tg_http_tls_session_pending(const tg_http_tls_session *s)
{
    return BIO_ctrl_pending(s->out);
}

size_t tg_http_tls_session_take(tg_http_tls_session *s, void *buf, size_t n)
{
    int r;

    if (n > INT_MAX)
        n = INT_MAX;
    r = n ? BIO_read(s->out, buf, (int)n) : 0;
    return r > 0 ? (size_t)r : 0;
}

int tg_http_tls_session_ready(const tg_http_tls_session *s)
{
    return s && s->ready && !s->failed;
}

/* ---- per connection of tg_http -------------------------------------------- */

int tg_http__tls_conn_new(tg_http_conn *c, tg_http_tls *t)
{
    c->tls = tg_http_tls_session_new(t, c->peer);
    return c->tls ? 0 : TG_ENOMEM;
}

void tg_http__tls_conn_free(tg_http_conn *c)
{
    tg_http_tls_session_free(c->tls);
    c->tls = NULL;
}

int tg_http__tls_feed(tg_http_conn *c, const char *p, size_t n)
{
    return tg_http_tls_session_feed(c->tls, p, n);
}

/* Only a certificate that verified counts: the CN of one that did not is
 * whatever its holder chose. */
static void read_client_cert(tg_http_tls_conn *tc)
{
    X509 *x = SSL_get1_peer_certificate(tc->ssl);

    if (!x)
        return;
    if (SSL_get_verify_result(tc->ssl) == X509_V_OK) {
        if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
                                      tc->client_cn, sizeof(tc->client_cn)) < 0)
            tc->client_cn[0] = '\0';
        tc->client_not_after = asn1_unix(X509_get0_notAfter(x));
    }
    X509_free(x);
}

ptrdiff_t tg_http__tls_read(tg_http_conn *c, char *buf, size_t cap)
{
    return tg_http_tls_session_read(c->tls, buf, cap);
}

ptrdiff_t tg_http_tls_session_read(tg_http_tls_session *tc, void *buf, size_t cap)
{
    unsigned long e;
    int n, why;

    if (tc->failed)
        return TG_EPROTOCOL;
    ERR_clear_error();
    n = SSL_read(tc->ssl, buf, cap > INT_MAX ? INT_MAX : (int)cap);
    if (!tc->ready && SSL_is_init_finished(tc->ssl)) {
        tc->ready = 1;
        read_client_cert(tc);
    }
    if (n > 0)
        return n;
    why = SSL_get_error(tc->ssl, n);
    if (why == SSL_ERROR_WANT_READ)
        return 0;
    if (why == SSL_ERROR_ZERO_RETURN)
        return TG_ECLOSED;
    tc->failed = 1;
    e = ERR_peek_error();
    tg_debug(tc->ready ? "TLS session failed" : "TLS handshake failed", "peer=%s err=%s",
             tc->peer, e ? ERR_reason_error_string(e) : "connection");
    ERR_clear_error();
    return TG_EPROTOCOL;
}

int tg_http__tls_encrypt(tg_http_conn *c, const void *p, size_t n)
{
    return tg_http_tls_session_write(c->tls, p, n);
}

int tg_http_tls_session_write(tg_http_tls_session *tc, const void *p, size_t n)
{
    const char *b = p;

    if (!tc->ready || tc->failed)
        return TG_EPROTOCOL;
    while (n > 0) {
        int chunk = n > INT_MAX ? INT_MAX : (int)n;
        int w;

        ERR_clear_error();
        w = SSL_write(tc->ssl, b, chunk);
        if (w <= 0) {
            tc->failed = 1;
            ERR_clear_error();
            return TG_EPROTOCOL;
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

void tg_http__tls_close_notify(tg_http_conn *c)
{
    tg_http_tls_conn *tc = c->tls;

    if (!tc || !tc->ready || tc->failed)
        return;
    ERR_clear_error();
    (void)SSL_shutdown(tc->ssl);
    ERR_clear_error();
}

tg_http_out *tg_http__tls_drain(tg_http_conn *c, size_t *len)
{
    size_t n = BIO_ctrl_pending(c->tls->out);
    tg_http_out *o;

    *len = n;
    if (n == 0 || n > INT_MAX)
        return NULL;
    o = malloc(sizeof(*o) + n);
    if (!o)
        return NULL;
    if (tg_http_tls_session_take(c->tls, o->data, n) != n) {
        free(o);
        return NULL;
    }
    o->conn = c;
    return o;
}

int tg_http__tls_ready(const tg_http_conn *c)
{
    return c->tls && c->tls->ready && !c->tls->failed;
}

const char *tg_http__tls_client_cn(const tg_http_conn *c)
{
    return c->tls ? c->tls->client_cn : "";
}

int64_t tg_http__tls_client_not_after(const tg_http_conn *c)
{
    return c->tls ? c->tls->client_not_after : 0;
}
