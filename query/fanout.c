/* Fan-out to sites with libcurl multi: every site asked at once, each
 * under its own timeout, the whole under the query's deadline. See
 * tg_fanout.h for the contract. */
#include "tg_fanout.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query_http.h"
#include "tg_err.h"
#include "tg_time.h"

/* The state's name as it appears in answers ("timed_out"). */
static const char *tg_site_state_name(tg_site_state s)
{
    switch (s) {
#define TG_SITE_STATE_NAME(name, str)                                                    \
    case TG_SITE_##name:                                                                 \
        return str;
        TG_SITE_STATES(TG_SITE_STATE_NAME)
#undef TG_SITE_STATE_NAME
    }
    return "failed";
}

void tg_fanout_options_default(tg_fanout_options *o)
{
    memset(o, 0, sizeof(*o));
    o->site_timeout_ms = 5000;
    o->deadline_ms = 10000;
    o->connect_timeout_ms = 2000;
    o->max_body_bytes = 64u << 20;
    o->accept = "application/json";
}

/* One site's exchange while it is in flight. */
struct call {
    CURL *easy;
    struct curl_slist *hdrs;
    tg_fanout_result *res;
    tg_query_http_body body;
    int done;
    char errbuf[CURL_ERROR_SIZE];
};

/* Hands what arrived to the result, which owns it from then on. */
static void take_body(struct call *c)
{
    if (!c->body.buf.p)
        return;
    c->res->body = c->body.buf.p;
    c->res->body_len = c->body.buf.len;
    c->body.buf = (tg_strbuf){0};
}

/* Copies s into the result's message with control bytes replaced: a
 * site's words reach terminals and web pages. */
static void set_message(tg_fanout_result *r, const char *s, size_t len)
{
    size_t o = 0;

    for (size_t i = 0; i < len && o + 1 < sizeof(r->message); i++) {
        unsigned char ch = (unsigned char)s[i];
        r->message[o++] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
    }
    r->message[o] = '\0';
}

/* The site's own words about a failure: {"error":"..."},
 * {"error":{"message":"..."}} or {"message":"..."}, else the body's
 * start. */
static void message_from_body(tg_fanout_result *r)
{
    json_t *doc;
    const char *words;

    if (!r->body_len)
        return;
    words = tg_query_http_error_words(r->body, r->body_len, &doc);
    if (words)
        set_message(r, words, strlen(words));
    else
        set_message(r, r->body, r->body_len < 200 ? r->body_len : 200);
    json_decref(doc);
}

/* capped: the site's own limit was longer than the query's deadline, so
 * a timeout is the deadline's. */
static void finish(struct call *c, CURLcode rc, int capped)
{
    tg_fanout_result *r = c->res;

    c->done = 1;
    take_body(c);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &r->http_status);
        if ((r->http_status >= 200 && r->http_status < 300) || r->http_status == 404) {
            r->state = TG_SITE_SUCCESSFUL;
            r->reason = NULL;
            return;
        }
        r->state = TG_SITE_FAILED;
        r->reason =
            (r->http_status == 401 || r->http_status == 403) ? "refused" : "http_status";
        message_from_body(r);
        return;
    }
    if (c->body.too_big) {
        r->state = TG_SITE_FAILED;
        r->reason = "too_large";
        snprintf(r->message, sizeof(r->message), "answer larger than %zu bytes",
                 c->body.max);
        return;
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        r->state = TG_SITE_TIMED_OUT;
        r->reason = capped ? "deadline" : "timeout";
        snprintf(r->message, sizeof(r->message), "no answer after %.0f ms", r->took_ms);
        return;
    }
    r->state = TG_SITE_FAILED;
    r->reason = "unreachable";
    set_message(r, c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc),
                strlen(c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc)));
}

static int setup(struct call *c, const tg_fanout_target *t, const tg_fanout_options *o,
                 uint64_t timeout_ms)
{
    const tg_query_http_req r = {.url = t->url,
                                 .accept = o->accept,
                                 .token = t->token,
                                 .ca_file = o->ca_file,
                                 .cert_file = o->cert_file,
                                 .key_file = o->key_file,
                                 .connect_timeout_ms = (long)o->connect_timeout_ms,
                                 .timeout_ms = (long)timeout_ms,
                                 .max_body = o->max_body_bytes};

    if (!(c->easy = curl_easy_init()))
        return TG_ENOMEM;
    tg_query_http_setup(c->easy, &r, &c->body, &c->hdrs, c->errbuf);
    curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
    return 0;
}

/* Records every transfer libcurl reports finished since the last call. */
static void collect_done(CURLM *multi, uint64_t t0, int capped)
{
    for (;;) {
        int left;
        CURLMsg *m = curl_multi_info_read(multi, &left);
        struct call *c;

        if (!m)
            break;
        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
        c->res->took_ms = (double)(tg_mono_ns() - t0) / 1e6;
        finish(c, m->data.result, capped);
    }
}

int tg_fanout_run(const tg_fanout_target *targets, size_t n, const tg_fanout_options *opt,
                  tg_fanout_result *out)
{
    tg_fanout_options def;
    struct call *calls;
    CURLM *multi;
    uint64_t t0 = tg_mono_ns(), deadline_ns, site_ms;
    int running = 0, rc = 0, capped;

    if (!opt) {
        tg_fanout_options_default(&def);
        opt = &def;
    }
    if (n && (!targets || !out))
        return TG_EINVAL;
    memset(out, 0, n * sizeof(*out));
    if (!(calls = calloc(n ? n : 1, sizeof(*calls))))
        return TG_ENOMEM;
    if (!(multi = curl_multi_init())) {
        free(calls);
        return TG_ENOMEM;
    }
    deadline_ns = t0 + opt->deadline_ms * 1000000ull;
    site_ms = opt->site_timeout_ms && opt->site_timeout_ms < opt->deadline_ms
                  ? opt->site_timeout_ms
                  : opt->deadline_ms;
    capped = site_ms == opt->deadline_ms;
    for (size_t i = 0; i < n; i++) {
        calls[i].res = &out[i];
        if (targets[i].skip) {
            out[i].state = TG_SITE_SKIPPED;
            out[i].reason = targets[i].skip_reason ? targets[i].skip_reason : "skipped";
            calls[i].done = 1;
            continue;
        }
        if ((rc = setup(&calls[i], &targets[i], opt, site_ms)) != 0)
            goto out;
        curl_multi_add_handle(multi, calls[i].easy);
    }

    curl_multi_perform(multi, &running);
    while (running) {
        uint64_t now = tg_mono_ns();
        int wait_ms, numfds;

        if (now >= deadline_ns)
            break;
        wait_ms = (int)((deadline_ns - now) / 1000000ull) + 1;
        if (wait_ms > 100)
            wait_ms = 100;
        curl_multi_poll(multi, NULL, 0, wait_ms, &numfds);
        curl_multi_perform(multi, &running);
        collect_done(multi, t0, capped);
    }
    /* Collect what finished in the last perform, then whoever is still
     * out ran past the deadline. */
    collect_done(multi, t0, capped);
    for (size_t i = 0; i < n; i++) {
        if (calls[i].done)
            continue;
        out[i].took_ms = (double)(tg_mono_ns() - t0) / 1e6;
        out[i].state = TG_SITE_TIMED_OUT;
        out[i].reason = "deadline";
        snprintf(out[i].message, sizeof(out[i].message),
                 "no answer before the query's deadline (%llu ms)",
                 (unsigned long long)opt->deadline_ms);
    }
out:
    for (size_t i = 0; i < n; i++) {
        take_body(&calls[i]);
        if (calls[i].easy) {
            curl_multi_remove_handle(multi, calls[i].easy);
            curl_easy_cleanup(calls[i].easy);
        }
        curl_slist_free_all(calls[i].hdrs);
    }
    curl_multi_cleanup(multi);
    free(calls);
    if (rc)
        tg_fanout_results_free(out, n);
    return rc;
}

void tg_fanout_results_free(tg_fanout_result *r, size_t n)
{
    for (size_t i = 0; r && i < n; i++) {
        free(r[i].body);
        r[i].body = NULL;
        r[i].body_len = 0;
    }
}

json_t *tg_fanout_status_json(const tg_fanout_target *targets, const tg_fanout_result *r,
                              size_t n, int *is_partial)
{
    size_t counts[TG_SITE_TIMED_OUT + 1] = {0};
    json_t *block = json_object(), *details = json_object();
    int partial = 0;

    for (size_t i = 0; i < n; i++) {
        json_t *d = json_object();

        counts[r[i].state]++;
        if (r[i].state != TG_SITE_SUCCESSFUL && r[i].state != TG_SITE_SKIPPED)
            partial = 1;
        json_object_set_new(d, "status", json_string(tg_site_state_name(r[i].state)));
        json_object_set_new(d, "took_ms", json_real(r[i].took_ms));
        if (r[i].reason)
            json_object_set_new(d, "reason", json_string(r[i].reason));
        if (r[i].message[0])
            json_object_set_new(d, "message", json_string(r[i].message));
        if (r[i].http_status)
            json_object_set_new(d, "http_status", json_integer(r[i].http_status));
        json_object_set_new(details, targets[i].name, d);
    }
    json_object_set_new(block, "total", json_integer((json_int_t)n));
#define TG_SITE_STATE_COUNT(name, str)                                                   \
    json_object_set_new(block, str, json_integer((json_int_t)counts[TG_SITE_##name]));
    TG_SITE_STATES(TG_SITE_STATE_COUNT)
#undef TG_SITE_STATE_COUNT
    json_object_set_new(block, "details", details);
    if (is_partial)
        *is_partial = partial;
    return block;
}

char *tg_fanout_warning_text(const tg_fanout_target *targets, const tg_fanout_result *r,
                             size_t n)
{
    size_t cap = 1, len = 0;
    char *s;

    for (size_t i = 0; i < n; i++)
        if (r[i].state != TG_SITE_SUCCESSFUL && r[i].state != TG_SITE_SKIPPED)
            cap += strlen(targets[i].name) + sizeof(r[i].message) + 64;
    if (cap == 1 || !(s = malloc(cap)))
        return NULL;
    s[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        int w;

        if (r[i].state == TG_SITE_SUCCESSFUL || r[i].state == TG_SITE_SKIPPED)
            continue;
        w = snprintf(s + len, cap - len, "%ssite %s: %s (%s)%s%s", len ? "; " : "",
                     targets[i].name, tg_site_state_name(r[i].state),
                     r[i].reason ? r[i].reason : "unknown", r[i].message[0] ? ": " : "",
                     r[i].message);
        if (w > 0)
            len += (size_t)w < cap - len ? (size_t)w : cap - len - 1;
    }
    return s;
}
