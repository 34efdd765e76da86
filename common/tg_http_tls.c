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
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct tg_http_tls {
    SSL_CTX *ctx;
    int64_t cert_not_after;
};

/* One context may serve the servers of several loops (tg_listen.h), so a
 * reload's swap and a new connection's read of ctx take this lock; SSL_new
 * takes its own reference, so the old context lives on in the
 * connections that hold it. Rare and short: a lock per handshake. */
static pthread_mutex_t ctx_mu = PTHREAD_MUTEX_INITIALIZER;

struct tg_http_tls_conn {
    SSL *ssl;
    BIO *in, *out; /* owned by ssl */
    int ready;     /* handshake done */
    int failed;    /* fatal error: no close_notify */
    char client_cn[256];
    int64_t client_not_after;
};

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
    /* Connections made before keep the context they hold a reference to. */
    pthread_mutex_lock(&ctx_mu);
    old = t->ctx;
    t->ctx = n->ctx;
    t->cert_not_after = n->cert_not_after;
    pthread_mutex_unlock(&ctx_mu);
    n->ctx = old;
    tg_http_tls_free(n);
    return 0;
}

void tg_http_tls_free(tg_http_tls *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    free(t);
}

int64_t tg_http_tls_cert_not_after(const tg_http_tls *t)
{
    return t ? t->cert_not_after : 0;
}

/* ---- per connection ------------------------------------------------------ */

int tg_http__tls_conn_new(tg_http_conn *c, tg_http_tls *t)
{
    tg_http_tls_conn *tc = calloc(1, sizeof(*tc));

    if (!tc)
        return TG_ENOMEM;
    pthread_mutex_lock(&ctx_mu);
    tc->ssl = SSL_new(t->ctx);
    pthread_mutex_unlock(&ctx_mu);
    tc->in = BIO_new(BIO_s_mem());
    tc->out = BIO_new(BIO_s_mem());
    if (!tc->ssl || !tc->in || !tc->out) {
        BIO_free(tc->in);
        BIO_free(tc->out);
        SSL_free(tc->ssl);
        free(tc);
        ERR_clear_error();
        return TG_ENOMEM;
    }
    /* An empty input BIO reads as "retry", not EOF. */
    BIO_set_mem_eof_return(tc->in, -1);
    SSL_set_bio(tc->ssl, tc->in, tc->out);
    SSL_set_accept_state(tc->ssl);
    c->tls = tc;
    return 0;
}

void tg_http__tls_conn_free(tg_http_conn *c)
{
    if (!c->tls)
        return;
    SSL_free(c->tls->ssl);
    free(c->tls);
    c->tls = NULL;
}

int tg_http__tls_feed(tg_http_conn *c, const char *p, size_t n)
{
    if (n > INT_MAX || BIO_write(c->tls->in, p, (int)n) != (int)n)
        return TG_ENOMEM;
    return 0;
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
    tg_http_tls_conn *tc = c->tls;
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
             c->peer, e ? ERR_reason_error_string(e) : "connection");
    ERR_clear_error();
    return TG_EPROTOCOL;
}

int tg_http__tls_encrypt(tg_http_conn *c, const void *p, size_t n)
{
    tg_http_tls_conn *tc = c->tls;
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
    if (BIO_read(c->tls->out, o->data, (int)n) != (int)n) {
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
