/* Fan-out to sites: real sockets on loopback, one per kind of site (one
 * that answers, one that refuses, one that stalls, one that is down, one
 * pruned), asked at once under a deadline. */
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
#include <jansson.h>

#include "tg_fanout.h"
#include "tg_time.h"

enum mode { ANSWER, REFUSE, STALL };

struct fake_site {
    int fd;
    int port;
    enum mode mode;
    char request[4096]; /* what the one connection sent */
    pthread_t thread;
};

static int listen_any(int *port)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* Serves exactly one connection the way its mode says. */
static void *serve(void *arg)
{
    struct fake_site *s = arg;
    int c = accept(s->fd, NULL, NULL);
    size_t got = 0;
    char buf[512];
    ssize_t n;

    if (c < 0)
        return NULL;
    while (got + 1 < sizeof(s->request) && !strstr(s->request, "\r\n\r\n")) {
        n = read(c, s->request + got, sizeof(s->request) - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        s->request[got] = '\0';
    }
    if (s->mode == ANSWER) {
        const char *body = "{\"traces\":[{\"traceID\":\"ab\"}]}";
        int len = snprintf(buf, sizeof(buf),
                           "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                           "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                           strlen(body), body);
        assert_true(write(c, buf, (size_t)len) == len);
    } else if (s->mode == REFUSE) {
        const char *body = "{\"error\":\"view raw is beyond this client's cap\"}";
        int len = snprintf(buf, sizeof(buf),
                           "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n"
                           "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                           strlen(body), body);
        assert_true(write(c, buf, (size_t)len) == len);
    } else {
        /* Stall: hold the connection, say nothing, until the client goes. */
        while (read(c, buf, sizeof(buf)) > 0)
            ;
    }
    close(c);
    return NULL;
}

static void start_site(struct fake_site *s, enum mode m)
{
    memset(s, 0, sizeof(*s));
    s->mode = m;
    s->fd = listen_any(&s->port);
    assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void stop_site(struct fake_site *s)
{
    pthread_join(s->thread, NULL);
    close(s->fd);
}

/* A port nothing listens on: bound, then closed. */
static int dead_port(void)
{
    int port, fd = listen_any(&port);
    close(fd);
    return port;
}

static void test_every_outcome_named_within_the_deadline(void **state)
{
    struct fake_site ok, refuse, stall;
    char urls[5][128];
    tg_fanout_target t[5];
    tg_fanout_result r[5];
    tg_fanout_options o;
    uint64_t t0;
    double elapsed_ms;
    json_t *block;
    int partial = -1;
    char *warn;
    (void)state;

    start_site(&ok, ANSWER);
    start_site(&refuse, REFUSE);
    start_site(&stall, STALL);
    snprintf(urls[0], sizeof(urls[0]), "http://127.0.0.1:%d/api/v1/query?q=x", ok.port);
    snprintf(urls[1], sizeof(urls[1]), "http://127.0.0.1:%d/api/v1/query", refuse.port);
    snprintf(urls[2], sizeof(urls[2]), "http://127.0.0.1:%d/api/v1/query", stall.port);
    snprintf(urls[3], sizeof(urls[3]), "http://127.0.0.1:%d/api/v1/query", dead_port());
    snprintf(urls[4], sizeof(urls[4]), "http://127.0.0.1:1/never-asked");
    memset(t, 0, sizeof(t));
    t[0] = (tg_fanout_target){.name = "fra", .url = urls[0], .token = "tok-fra"};
    t[1] = (tg_fanout_target){.name = "nyc", .url = urls[1], .token = "tok-nyc"};
    t[2] = (tg_fanout_target){.name = "sgp", .url = urls[2]};
    t[3] = (tg_fanout_target){.name = "syd", .url = urls[3]};
    t[4] = (tg_fanout_target){.name = "gru",
                              .url = urls[4],
                              .skip = 1,
                              .skip_reason = "outside the time range"};

    tg_fanout_options_default(&o);
    o.site_timeout_ms = 400;
    o.deadline_ms = 1500;
    t0 = tg_mono_ns();
    assert_int_equal(tg_fanout_run(t, 5, &o, r), 0);
    elapsed_ms = (double)(tg_mono_ns() - t0) / 1e6;
    /* The fake sites' threads are done (each served its one connection):
     * join them before reading what they recorded. */
    stop_site(&ok);
    stop_site(&refuse);
    stop_site(&stall);
    /* Bounded by the site timeout, not by the stalled site: generous slack
     * for a loaded machine, still far below "hangs". */
    assert_true(elapsed_ms < 5000);

    assert_int_equal(r[0].state, TG_SITE_SUCCESSFUL);
    assert_int_equal(r[0].http_status, 200);
    assert_non_null(strstr(r[0].body, "\"traceID\":\"ab\""));
    assert_non_null(strstr(ok.request, "Authorization: Bearer tok-fra"));
    assert_non_null(strstr(ok.request, "GET /api/v1/query?q=x "));

    assert_int_equal(r[1].state, TG_SITE_FAILED);
    assert_string_equal(r[1].reason, "refused");
    assert_int_equal(r[1].http_status, 403);
    assert_string_equal(r[1].message, "view raw is beyond this client's cap");

    assert_int_equal(r[2].state, TG_SITE_TIMED_OUT);
    assert_string_equal(r[2].reason, "timeout");
    assert_true(r[2].took_ms >= 390);
    assert_null(strstr(stall.request, "Authorization"));

    assert_int_equal(r[3].state, TG_SITE_FAILED);
    assert_string_equal(r[3].reason, "unreachable");

    assert_int_equal(r[4].state, TG_SITE_SKIPPED);
    assert_string_equal(r[4].reason, "outside the time range");

    block = tg_fanout_status_json(t, r, 5, &partial);
    assert_int_equal(partial, 1);
    assert_int_equal(json_integer_value(json_object_get(block, "total")), 5);
    assert_int_equal(json_integer_value(json_object_get(block, "successful")), 1);
    assert_int_equal(json_integer_value(json_object_get(block, "failed")), 2);
    assert_int_equal(json_integer_value(json_object_get(block, "timed_out")), 1);
    assert_int_equal(json_integer_value(json_object_get(block, "skipped")), 1);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(block, "details"), "sgp"), "status")),
        "timed_out");
    json_decref(block);

    warn = tg_fanout_warning_text(t, r, 5);
    assert_non_null(warn);
    assert_non_null(strstr(warn, "site nyc: failed (refused)"));
    assert_non_null(strstr(warn, "site sgp: timed_out (timeout)"));
    assert_non_null(strstr(warn, "site syd: failed (unreachable)"));
    assert_null(strstr(warn, "fra"));
    assert_null(strstr(warn, "gru"));
    free(warn);

    tg_fanout_results_free(r, 5);
}

/* When the query's deadline is shorter than a site's own limit, the site
 * is cut at the deadline and the reason says so. */
static void test_deadline_cuts_a_slow_site(void **state)
{
    struct fake_site stall;
    char url[128];
    tg_fanout_target t;
    tg_fanout_result r;
    tg_fanout_options o;
    int partial = 0;
    json_t *block;
    (void)state;

    start_site(&stall, STALL);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", stall.port);
    t = (tg_fanout_target){.name = "sgp", .url = url};
    tg_fanout_options_default(&o);
    o.site_timeout_ms = 60000;
    o.deadline_ms = 300;
    assert_int_equal(tg_fanout_run(&t, 1, &o, &r), 0);
    assert_int_equal(r.state, TG_SITE_TIMED_OUT);
    assert_string_equal(r.reason, "deadline");
    assert_true(r.took_ms < 5000);
    block = tg_fanout_status_json(&t, &r, 1, &partial);
    assert_int_equal(partial, 1);
    json_decref(block);
    tg_fanout_results_free(&r, 1);
    stop_site(&stall);
}

/* A complete answer: nothing partial, no warning text. */
static void test_all_answered_is_complete(void **state)
{
    struct fake_site a, b;
    char u1[128], u2[128];
    tg_fanout_target t[2];
    tg_fanout_result r[2];
    int partial = -1;
    json_t *block;
    (void)state;

    start_site(&a, ANSWER);
    start_site(&b, ANSWER);
    snprintf(u1, sizeof(u1), "http://127.0.0.1:%d/", a.port);
    snprintf(u2, sizeof(u2), "http://127.0.0.1:%d/", b.port);
    t[0] = (tg_fanout_target){.name = "a", .url = u1};
    t[1] = (tg_fanout_target){.name = "b", .url = u2};
    assert_int_equal(tg_fanout_run(t, 2, NULL, r), 0);
    block = tg_fanout_status_json(t, r, 2, &partial);
    assert_int_equal(partial, 0);
    assert_int_equal(json_integer_value(json_object_get(block, "successful")), 2);
    assert_null(tg_fanout_warning_text(t, r, 2));
    json_decref(block);
    tg_fanout_results_free(r, 2);
    stop_site(&a);
    stop_site(&b);
}

/* An answer over the size cap fails that site, not the fan-out. */
static void test_oversized_answer_fails_the_site(void **state)
{
    struct fake_site a;
    char url[128];
    tg_fanout_target t;
    tg_fanout_result r;
    tg_fanout_options o;
    (void)state;

    start_site(&a, ANSWER);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", a.port);
    t = (tg_fanout_target){.name = "a", .url = url};
    tg_fanout_options_default(&o);
    o.max_body_bytes = 8;
    assert_int_equal(tg_fanout_run(&t, 1, &o, &r), 0);
    assert_int_equal(r.state, TG_SITE_FAILED);
    assert_string_equal(r.reason, "too_large");
    tg_fanout_results_free(&r, 1);
    stop_site(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_outcome_named_within_the_deadline),
        cmocka_unit_test(test_deadline_cuts_a_slow_site),
        cmocka_unit_test(test_all_answered_is_complete),
        cmocka_unit_test(test_oversized_answer_fails_the_site),
    };
    int rc;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
