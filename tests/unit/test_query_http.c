/* tg_query_http_get: the one GET of the command-line tools, against a
 * one-shot server on a real socket: what it sends (JSON asked for, the
 * bearer token only when there is one, its user agent), what it brings
 * back (any status, the body whole), and where it stops (the body cap, an
 * endpoint that does not answer, redirects, schemes other than http(s)). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "query_http.h"
#include "tg_err.h"

typedef struct server {
    int fd, port;
    const char *response;
    char request[8192];
    pthread_t th;
} server;

static void *serve_once(void *arg)
{
    server *s = arg;
    size_t n = 0;
    int c = accept(s->fd, NULL, NULL);

    if (c < 0)
        return NULL;
    while (n < sizeof(s->request) - 1) {
        ssize_t k = read(c, s->request + n, sizeof(s->request) - 1 - n);
        if (k <= 0)
            break;
        n += (size_t)k;
        s->request[n] = '\0';
        if (strstr(s->request, "\r\n\r\n"))
            break;
    }
    for (size_t off = 0, len = strlen(s->response); off < len;) {
        ssize_t k = write(c, s->response + off, len - off);
        if (k <= 0)
            break;
        off += (size_t)k;
    }
    close(c);
    return NULL;
}

static int listen_local(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void start(server *s, const char *response)
{
    memset(s, 0, sizeof(*s));
    s->response = response;
    s->fd = listen_local(&s->port);
    assert_int_equal(pthread_create(&s->th, NULL, serve_once, s), 0);
}

static void stop(server *s)
{
    pthread_join(s->th, NULL);
    close(s->fd);
}

/* Serves `response` once and GETs `path` from it; the request the server
 * saw is left in s->request. */
static int get_once(server *s, const char *response, const char *path, const char *token,
                    size_t max_body, tg_query_http_answer *a)
{
    char url[64];
    int rc;

    start(s, response);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, path);
    {
        tg_query_http_req r = {
            .url = url, .token = token, .timeout_ms = 5000, .max_body = max_body};
        rc = tg_query_http_get(&r, a);
    }
    stop(s);
    return rc;
}

static void test_ok_and_what_is_sent(void **state)
{
    server s;
    tg_query_http_answer a;

    (void)state;
    assert_int_equal(
        get_once(&s,
                 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 "Content-Length: 11\r\nConnection: close\r\n\r\n{\"ok\":true}",
                 "/api/v1/estate", "s3cret", 1 << 20, &a),
        0);
    assert_int_equal(a.status, 200);
    assert_int_equal(a.len, 11);
    assert_string_equal(a.body, "{\"ok\":true}");
    assert_false(a.too_big);
    assert_non_null(strstr(s.request, "GET /api/v1/estate HTTP/1.1\r\n"));
    assert_non_null(strstr(s.request, "\r\nAccept: application/json\r\n"));
    assert_non_null(strstr(s.request, "\r\nAuthorization: Bearer s3cret\r\n"));
    assert_non_null(strstr(s.request, "\r\nUser-Agent: tollgate/"));
    free(a.body);
}

static void test_no_token_no_header_any_status(void **state)
{
    server s;
    tg_query_http_answer a;

    (void)state;
    assert_int_equal(
        get_once(
            &s,
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            "/api/v1/estate", "", 100, &a),
        0);
    assert_int_equal(a.status, 404);
    assert_int_equal(a.len, 0);
    assert_null(a.body);
    assert_null(strstr(s.request, "Authorization"));
}

static void test_redirect_not_followed(void **state)
{
    server s;
    tg_query_http_answer a;

    (void)state;
    assert_int_equal(
        get_once(&s,
                 "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/elsewhere\r\n"
                 "Content-Length: 0\r\nConnection: close\r\n\r\n",
                 "/", "t", 100, &a),
        0);
    assert_int_equal(a.status, 302);
    free(a.body);
}

static void test_body_cap(void **state)
{
    server s;
    tg_query_http_answer a;

    (void)state;
    assert_int_equal(
        get_once(&s,
                 "HTTP/1.1 200 OK\r\nContent-Length: 20\r\nConnection: close\r\n"
                 "\r\n01234567890123456789",
                 "/", NULL, 19, &a),
        TG_ETOO_BIG);
    assert_true(a.too_big);
    assert_true(a.len <= 19);
    free(a.body);
}

static void test_no_answer(void **state)
{
    int port, fd = listen_local(&port);
    char url[64];
    tg_query_http_answer a;

    (void)state;
    close(fd); /* nothing listens there now */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
    {
        tg_query_http_req r = {.url = url, .timeout_ms = 5000, .max_body = 100};
        assert_int_equal(tg_query_http_get(&r, &a), TG_EIO);
    }
    assert_int_equal(a.status, 0);
    assert_true(a.err[0] != '\0');
    free(a.body);
    {
        tg_query_http_req r = {
            .url = "ftp://127.0.0.1/x", .timeout_ms = 5000, .max_body = 100};
        assert_int_equal(tg_query_http_get(&r, &a), TG_EIO);
        assert_true(a.err[0] != '\0');
        free(a.body);
    }
}

static void words(const char *body, const char *want)
{
    json_t *doc;
    const char *w = tg_query_http_error_words(body, strlen(body), &doc);

    if (want)
        assert_string_equal(w, want);
    else
        assert_null(w);
    json_decref(doc);
}

static void test_error_words(void **state)
{
    (void)state;
    words("{\"error\":\"bad selector\"}", "bad selector");
    words("{\"error\":{\"code\":3,\"message\":\"too wide\"}}", "too wide");
    words("{\"message\":\"token expired\"}", "token expired");
    words("{\"error\":5,\"message\":\"fallback\"}", "fallback");
    words("{\"error\":{\"code\":3}}", NULL);
    words("<html>502 Bad Gateway</html>", NULL);
    words("", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok_and_what_is_sent),
        cmocka_unit_test(test_no_token_no_header_any_status),
        cmocka_unit_test(test_redirect_not_followed),
        cmocka_unit_test(test_body_cap),
        cmocka_unit_test(test_no_answer),
        cmocka_unit_test(test_error_words),
    };
    int rc;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
