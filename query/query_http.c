#include "query_http.h"

#include <stdio.h>
#include <string.h>

#include "tg_err.h"

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
    tg_query_http_body *b = ud;
    size_t n = size * nmemb;

    if (n > b->max - b->buf.len) {
        b->too_big = 1;
        return 0; /* fails the transfer with CURLE_WRITE_ERROR */
    }
    tg_strbuf_put(&b->buf, p, n);
    return b->buf.oom ? 0 : n;
}

void tg_query_http_setup(CURL *easy, const tg_query_http_req *r, tg_query_http_body *body,
                         struct curl_slist **hdrs, char *errbuf)
{
    char line[4200];
    long connect_ms = r->connect_timeout_ms ? r->connect_timeout_ms : 5000;

    memset(body, 0, sizeof(*body));
    body->max = r->max_body;
    errbuf[0] = '\0';
    snprintf(line, sizeof(line), "Accept: %s",
             r->accept ? r->accept : "application/json");
    *hdrs = curl_slist_append(*hdrs, line);
    if (r->token && *r->token) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", r->token);
        *hdrs = curl_slist_append(*hdrs, line);
    }
    curl_easy_setopt(easy, CURLOPT_URL, r->url);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, *hdrs);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     connect_ms < r->timeout_ms ? connect_ms : r->timeout_ms);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, r->timeout_ms);
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "tollgate/" TG_VERSION);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, body);
    if (r->ca_file)
        curl_easy_setopt(easy, CURLOPT_CAINFO, r->ca_file);
    if (r->cert_file)
        curl_easy_setopt(easy, CURLOPT_SSLCERT, r->cert_file);
    if (r->key_file)
        curl_easy_setopt(easy, CURLOPT_SSLKEY, r->key_file);
}

int tg_query_http_get(const tg_query_http_req *r, tg_query_http_answer *a)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    char errbuf[CURL_ERROR_SIZE];
    tg_query_http_body body;
    CURLcode rc;

    memset(a, 0, sizeof(*a));
    if (!c) {
        snprintf(a->err, sizeof(a->err), "cannot initialise libcurl");
        return TG_ENOMEM;
    }
    tg_query_http_setup(c, r, &body, &hdrs, errbuf);
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    a->body = body.buf.p;
    a->len = body.buf.len;
    a->too_big = body.too_big;
    if (body.too_big)
        return TG_ETOO_BIG;
    if (body.buf.oom)
        return TG_ENOMEM;
    if (rc != CURLE_OK) {
        snprintf(a->err, sizeof(a->err), "%s",
                 errbuf[0] ? errbuf : curl_easy_strerror(rc));
        return TG_EIO;
    }
    return 0;
}

const char *tg_query_http_error_words(const char *body, size_t len, json_t **doc)
{
    const json_t *m;

    *doc = len ? json_loadb(body, len, 0, NULL) : NULL;
    m = json_object_get(*doc, "error");
    if (json_is_object(m))
        m = json_object_get(m, "message");
    if (!json_is_string(m))
        m = json_object_get(*doc, "message");
    return json_string_value(m);
}

char *tg_query_http_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, (int)strlen(s)), *out;

    if (!e)
        return NULL;
    out = strdup(e); /* the caller frees with free(), not curl_free() */
    curl_free(e);
    return out;
}
