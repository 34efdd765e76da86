/* tg_http over TLS: the server on a real libuv loop in its own thread, a
 * blocking OpenSSL client on 127.0.0.1, and certificates made here at run
 * time with OpenSSL's API (two CAs, a server, and clients: good, from the
 * other CA, expired) in a temporary directory. Covers the handshake paths
 * (plain TLS, mutual, no client certificate when optional, required and
 * missing, wrong CA, expired, not TLS at all, stalled), what a handler sees
 * of the client certificate, and HTTP over the session: keep-alive,
 * pipelining, bodies spanning many records, routes on worker threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tg_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define DAY 86400L

static char dir[64];
static int64_t good_not_after, server_not_after;

static const char *pki(const char *name)
{
    static char paths[8][256];
    static int next;
    char *p = paths[next++ % 8];

    snprintf(p, sizeof(paths[0]), "%s/%s", dir, name);
    return p;
}

/* ---- certificates -------------------------------------------------------- */

static void add_ext(X509 *issuer, X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *e;

    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(e);
    assert_int_equal(X509_add_ext(x, e, -1), 1);
    X509_EXTENSION_free(e);
}

/* A certificate for `key`, valid from now+from_s to now+to_s, signed by
 * issuer (self-signed when NULL); a CA when is_ca. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                       long from_s, long to_s, int is_ca)
{
    static long serial = 1;
    X509 *x = X509_new();
    X509_NAME *n;

    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), from_s);
    X509_gmtime_adj(X509_getm_notAfter(x), to_s);
    X509_set_pubkey(x, key);
    n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                               0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
    if (is_ca) {
        add_ext(issuer ? issuer : x, x, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(issuer ? issuer : x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(issuer ? issuer : x, x, NID_basic_constraints, "CA:FALSE");
        add_ext(issuer ? issuer : x, x, NID_subject_alt_name, "IP:127.0.0.1");
    }
    assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
    return x;
}

static void write_pem(const char *name, X509 *x, EVP_PKEY *key)
{
    char file[128];
    FILE *f;

    snprintf(file, sizeof(file), "%s.pem", name);
    f = fopen(pki(file), "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_X509(f, x), 1);
    fclose(f);
    snprintf(file, sizeof(file), "%s.key", name);
    f = fopen(pki(file), "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
}

static int64_t not_after(X509 *x)
{
    struct tm tm;

    assert_int_equal(ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm), 1);
    return (int64_t)timegm(&tm);
}

static int make_pki(void **state)
{
    EVP_PKEY *k[6];
    X509 *ca, *other, *x;

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/tg_http_tls_XXXXXX");
    assert_non_null(mkdtemp(dir));
    for (int i = 0; i < 6; i++)
        assert_non_null(k[i] = EVP_EC_gen("P-256"));
    ca = make_cert(k[0], "test-ca", NULL, NULL, -DAY, 30 * DAY, 1);
    other = make_cert(k[1], "other-ca", NULL, NULL, -DAY, 30 * DAY, 1);
    write_pem("ca", ca, k[0]);
    write_pem("other-ca", other, k[1]);
    x = make_cert(k[2], "127.0.0.1", ca, k[0], -DAY, 20 * DAY, 0);
    server_not_after = not_after(x);
    write_pem("server", x, k[2]);
    X509_free(x);
    x = make_cert(k[3], "site-a", ca, k[0], -DAY, 3 * DAY, 0);
    good_not_after = not_after(x);
    write_pem("good", x, k[3]);
    X509_free(x);
    x = make_cert(k[4], "site-a", other, k[1], -DAY, 3 * DAY, 0);
    write_pem("wrong-ca", x, k[4]);
    X509_free(x);
    x = make_cert(k[5], "site-a", ca, k[0], -3 * DAY, -DAY, 0);
    write_pem("expired", x, k[5]);
    X509_free(x);
    X509_free(ca);
    X509_free(other);
    for (int i = 0; i < 6; i++)
        EVP_PKEY_free(k[i]);
    return 0;
}

static int remove_pki(void **state)
{
    static const char *const names[] = {"ca",   "other-ca", "server",
                                        "good", "wrong-ca", "expired"};
    char file[128];

    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(file, sizeof(file), "%s.pem", names[i]);
        unlink(pki(file));
        snprintf(file, sizeof(file), "%s.key", names[i]);
        unlink(pki(file));
    }
    rmdir(dir);
    return 0;
}

/* ---- server fixture ------------------------------------------------------ */

typedef struct fx {
    uv_loop_t loop;
    uv_async_t async;
    uv_thread_t thread;
    tg_http_server *srv;
    tg_http_tls *tls;
    tg_http_router router;
    int port;
} fx;

static fx *cur;

/* On a worker thread: what the handler sees of the connection. */
static void who(const tg_http_request *req, tg_http_response *resp, void *data)
{
    char body[512];
    int n;

    (void)data;
    n = snprintf(body, sizeof(body), "tls=%d cn=%s not_after=%lld", tg_http_is_tls(req),
                 tg_http_client_cn(req), (long long)tg_http_client_not_after(req));
    tg_http_response_set(resp, 200, "text/plain", body, (size_t)n);
}

/* On the loop thread: the body back. */
static void echo(tg_http_request *req, void *data)
{
    size_t len;
    const uint8_t *b = tg_http_body(req, &len);

    (void)data;
    tg_http_respond(req, 200, "application/octet-stream", NULL, b, len);
}

static const tg_http_route routes[] = {
    {"GET", "/who", 0, NULL, who},
    {"POST", "/echo", 0, echo, NULL},
};

static void on_done(void *ctx)
{
    fx *f = ctx;

    uv_close((uv_handle_t *)&f->async, NULL);
}

static void on_async(uv_async_t *a)
{
    fx *f = a->data;

    tg_http_server_stop(f->srv, on_done, f);
}

static void loop_main(void *arg)
{
    uv_run(&((fx *)arg)->loop, UV_RUN_DEFAULT);
}

/* A TLS server; ca: the client CA file or NULL. */
static fx *fx_start(const char *ca, int require, uint64_t header_timeout_ms)
{
    fx *f = calloc(1, sizeof(*f));
    tg_http_tls_options to = {pki("server.pem"), pki("server.key"), ca, require};
    tg_http_options o;
    char err[256];
    int rc = 0;

    assert_non_null(f);
    f->tls = tg_http_tls_new(&to, err, sizeof(err));
    assert_non_null(f->tls);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    tg_http_options_default(&o);
    o.tls = f->tls;
    if (header_timeout_ms)
        o.header_timeout_ms = header_timeout_ms;
    f->router.routes = routes;
    f->router.n = sizeof(routes) / sizeof(routes[0]);
    f->srv = tg_http_server_start(&f->loop, "127.0.0.1:0", &o, tg_http_dispatch,
                                  &f->router, &rc);
    assert_non_null(f->srv);
    f->port = tg_http_server_port(f->srv);
    uv_async_init(&f->loop, &f->async, on_async);
    f->async.data = f;
    assert_int_equal(uv_thread_create(&f->thread, loop_main, f), 0);
    cur = f;
    return f;
}

static void fx_end(fx *f)
{
    if (!f)
        return;
    uv_async_send(&f->async);
    uv_thread_join(&f->thread);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    tg_http_tls_free(f->tls);
    if (cur == f)
        cur = NULL;
    free(f);
}

static int teardown(void **state)
{
    (void)state;
    fx_end(cur);
    return 0;
}

/* ---- client -------------------------------------------------------------- */

typedef struct cli {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    char buf[1 << 17];
    size_t len;
} cli;

static int tcp_connect(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct timeval tv = {5, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* Connects and handshakes, presenting certificate `name` (NULL: none).
 * The server's certificate is verified against our CA. Returns the
 * client; *ok says whether SSL_connect succeeded (in TLS 1.3 a client
 * certificate is judged after that, so a refusal may show only on read). */
static cli *cli_open(fx *f, const char *name, int *ok)
{
    cli *c = calloc(1, sizeof(*c));
    char file[64];

    assert_non_null(c);
    c->ctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(c->ctx);
    assert_int_equal(SSL_CTX_load_verify_locations(c->ctx, pki("ca.pem"), NULL), 1);
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    if (name) {
        snprintf(file, sizeof(file), "%s.pem", name);
        assert_int_equal(
            SSL_CTX_use_certificate_file(c->ctx, pki(file), SSL_FILETYPE_PEM), 1);
        snprintf(file, sizeof(file), "%s.key", name);
        assert_int_equal(SSL_CTX_use_PrivateKey_file(c->ctx, pki(file), SSL_FILETYPE_PEM),
                         1);
    }
    c->fd = tcp_connect(f->port);
    c->ssl = SSL_new(c->ctx);
    SSL_set_fd(c->ssl, c->fd);
    *ok = SSL_connect(c->ssl) == 1;
    ERR_clear_error();
    return c;
}

static void cli_close(cli *c)
{
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
    close(c->fd);
    free(c);
}

static int cli_send(cli *c, const void *p, size_t n)
{
    int w = SSL_write(c->ssl, p, (int)n);

    ERR_clear_error();
    return w == (int)n ? 0 : -1;
}

/* Reads one response: status, and its body (NUL-terminated) into body.
 * Returns the status, or -1 when the session ended first. */
static int cli_read(cli *c, char *body, size_t cap)
{
    for (;;) {
        char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        int n;

        if (end) {
            size_t hlen = (size_t)(end - c->buf) + 4, blen = 0;
            char *cl;
            int status;

            *end = '\0';
            cl = strcasestr(c->buf, "content-length:");
            if (cl)
                blen = strtoul(cl + 15, NULL, 10);
            if (c->len >= hlen + blen) {
                assert_int_equal(sscanf(c->buf, "HTTP/1.1 %d", &status), 1);
                assert_true(blen < cap);
                memcpy(body, c->buf + hlen, blen);
                body[blen] = '\0';
                memmove(c->buf, c->buf + hlen + blen, c->len - hlen - blen);
                c->len -= hlen + blen;
                return status;
            }
            *end = '\r';
        }
        assert_true(c->len < sizeof(c->buf));
        n = SSL_read(c->ssl, c->buf + c->len, (int)(sizeof(c->buf) - c->len));
        ERR_clear_error();
        if (n <= 0)
            return -1;
        c->len += (size_t)n;
    }
}

static int cli_get(cli *c, const char *path, char *body, size_t cap)
{
    char req[256];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);

    if (cli_send(c, req, (size_t)n) != 0)
        return -1;
    return cli_read(c, body, cap);
}

/* The connection ends without an HTTP response. */
static void expect_refused(fx *f, const char *name)
{
    char body[256];
    int ok;
    cli *c = cli_open(f, name, &ok);

    if (ok)
        assert_int_equal(cli_get(c, "/who", body, sizeof(body)), -1);
    cli_close(c);
}

static void expect_who(fx *f, const char *name, const char *want)
{
    char body[256];
    int ok;
    cli *c = cli_open(f, name, &ok);

    assert_true(ok);
    assert_int_equal(cli_get(c, "/who", body, sizeof(body)), 200);
    assert_string_equal(body, want);
    cli_close(c);
}

/* ---- tests --------------------------------------------------------------- */

static void test_tls_plain_success(void **state)
{
    fx *f = fx_start(NULL, 0, 0);
    char body[256];
    int ok;
    cli *c = cli_open(f, NULL, &ok);

    (void)state;
    assert_true(ok);
    assert_int_equal(tg_http_tls_cert_not_after(f->tls), server_not_after);
    /* Keep-alive: two requests on one session. */
    assert_int_equal(cli_get(c, "/who", body, sizeof(body)), 200);
    assert_string_equal(body, "tls=1 cn= not_after=0");
    assert_int_equal(cli_get(c, "/nowhere", body, sizeof(body)), 404);
    assert_string_equal(body, "not found\n");
    cli_close(c);
    /* A client certificate nobody asked for is not looked at. */
    expect_who(f, "good", "tls=1 cn= not_after=0");
    fx_end(f);
}

static void test_mutual_success(void **state)
{
    fx *f = fx_start(pki("ca.pem"), 1, 0);
    char want[128];

    (void)state;
    snprintf(want, sizeof(want), "tls=1 cn=site-a not_after=%lld",
             (long long)good_not_after);
    expect_who(f, "good", want);
    fx_end(f);
}

static void test_no_client_cert_when_optional(void **state)
{
    fx *f = fx_start(pki("ca.pem"), 0, 0);
    char want[128];

    (void)state;
    expect_who(f, NULL, "tls=1 cn= not_after=0");
    snprintf(want, sizeof(want), "tls=1 cn=site-a not_after=%lld",
             (long long)good_not_after);
    expect_who(f, "good", want);
    /* Optional does not mean unchecked. */
    expect_refused(f, "wrong-ca");
    expect_refused(f, "expired");
    fx_end(f);
}

static void test_client_cert_required_and_missing(void **state)
{
    fx *f = fx_start(pki("ca.pem"), 1, 0);
    char want[128];

    (void)state;
    expect_refused(f, NULL);
    /* The server is fine afterwards. */
    snprintf(want, sizeof(want), "tls=1 cn=site-a not_after=%lld",
             (long long)good_not_after);
    expect_who(f, "good", want);
    fx_end(f);
}

static void test_client_cert_wrong_ca(void **state)
{
    fx *f = fx_start(pki("ca.pem"), 1, 0);

    (void)state;
    expect_refused(f, "wrong-ca");
    fx_end(f);
}

static void test_client_cert_expired(void **state)
{
    fx *f = fx_start(pki("ca.pem"), 1, 0);

    (void)state;
    expect_refused(f, "expired");
    fx_end(f);
}

/* Plain HTTP to a TLS port, and a client that never starts the handshake:
 * closed, never answered in plaintext. */
static void test_not_tls_and_stalled(void **state)
{
    fx *f = fx_start(NULL, 0, 200);
    static const char get[] = "GET /who HTTP/1.1\r\nHost: t\r\n\r\n";
    char b[256];
    ssize_t n;
    int fd = tcp_connect(f->port);

    (void)state;
    assert_int_equal(send(fd, get, sizeof(get) - 1, MSG_NOSIGNAL),
                     (ssize_t)sizeof(get) - 1);
    while ((n = recv(fd, b, sizeof(b), 0)) > 0)
        assert_true(n < 5 || memcmp(b, "HTTP/", 5) != 0);
    assert_true(n == 0 || errno == ECONNRESET);
    close(fd);
    fd = tcp_connect(f->port);
    n = recv(fd, b, sizeof(b), 0);
    assert_true(n == 0 || (n < 0 && errno == ECONNRESET)); /* header timeout */
    close(fd);
    fx_end(f);
}

/* Pipelined requests in one record, and a body spanning many records. */
static void test_pipelined_and_large_body(void **state)
{
    fx *f = fx_start(NULL, 0, 0);
    static const char two[] = "GET /who HTTP/1.1\r\nHost: t\r\n\r\n"
                              "GET /who HTTP/1.1\r\nHost: t\r\n\r\n";
    size_t big = 100000;
    char *req = malloc(big + 128), *body = malloc(big + 1);
    int ok, n;
    cli *c = cli_open(f, NULL, &ok);

    (void)state;
    assert_true(ok);
    assert_int_equal(cli_send(c, two, sizeof(two) - 1), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(cli_read(c, body, big + 1), 200);
        assert_string_equal(body, "tls=1 cn= not_after=0");
    }
    n = snprintf(req, 128,
                 "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n", big);
    for (size_t i = 0; i < big; i++)
        req[n + (int)i] = (char)('a' + i % 26);
    assert_int_equal(cli_send(c, req, (size_t)n + big), 0);
    assert_int_equal(cli_read(c, body, big + 1), 200);
    assert_int_equal(strlen(body), big);
    assert_memory_equal(body, req + n, big);
    /* A route with another method: 405 naming the one it takes. */
    assert_int_equal(cli_get(c, "/echo", body, big + 1), 405);
    assert_string_equal(body, "POST only\n");
    cli_close(c);
    free(req);
    free(body);
    fx_end(f);
}

static void test_bad_files(void **state)
{
    tg_http_tls_options o = {pki("missing.pem"), pki("server.key"), NULL, 0};
    char err[256];

    (void)state;
    assert_null(tg_http_tls_new(&o, err, sizeof(err)));
    assert_non_null(strstr(err, "missing.pem"));
    o.cert_file = pki("server.pem");
    o.key_file = pki("good.key"); /* another certificate's key */
    assert_null(tg_http_tls_new(&o, err, sizeof(err)));
    assert_non_null(strstr(err, "good.key"));
    o.key_file = pki("server.key");
    o.client_ca_file = pki("missing-ca.pem");
    assert_null(tg_http_tls_new(&o, err, sizeof(err)));
    assert_non_null(strstr(err, "missing-ca.pem"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test_teardown(test_tls_plain_success, teardown),
        cmocka_unit_test_teardown(test_mutual_success, teardown),
        cmocka_unit_test_teardown(test_no_client_cert_when_optional, teardown),
        cmocka_unit_test_teardown(test_client_cert_required_and_missing, teardown),
        cmocka_unit_test_teardown(test_client_cert_wrong_ca, teardown),
        cmocka_unit_test_teardown(test_client_cert_expired, teardown),
        cmocka_unit_test_teardown(test_not_tls_and_stalled, teardown),
        cmocka_unit_test_teardown(test_pipelined_and_large_body, teardown),
    };

    return cmocka_run_group_tests(tests, make_pki, remove_pki);
}
