#include "query_http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "tg_err.h"
#include "tg_strbuf.h"

typedef struct sink {
    tg_strbuf buf;
    size_t max;
    int too_big;
} sink;

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
    sink *s = ud;
    size_t n = size * nmemb;

    if (n > s->max - s->buf.len) {
        s->too_big = 1;
        return 0; /* aborts the transfer */
    }
    tg_strbuf_put(&s->buf, p, n);
    return s->buf.oom ? 0 : n;
}

int tg_query_http_get(const tg_query_http_req *r, tg_query_http_answer *a)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    char errbuf[CURL_ERROR_SIZE] = "", auth[4096];
    sink s = {.max = r->max_body};
    CURLcode rc;

    memset(a, 0, sizeof(*a));
    if (!c) {
        snprintf(a->err, sizeof(a->err), "cannot initialise libcurl");
        return TG_ENOMEM;
    }
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    if (r->token && *r->token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", r->token);
        hdrs = curl_slist_append(hdrs, auth);
    }
    curl_easy_setopt(c, CURLOPT_URL, r->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     r->timeout_ms < 5000 ? r->timeout_ms : 5000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, r->timeout_ms);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "tollgate/" TG_VERSION);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    if (r->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, r->ca_file);
    if (r->cert_file) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, r->cert_file);
        curl_easy_setopt(c, CURLOPT_SSLKEY, r->key_file ? r->key_file : r->cert_file);
    }
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    a->body = s.buf.p;
    a->len = s.buf.len;
    a->too_big = s.too_big;
    if (s.too_big)
        return TG_ETOO_BIG;
    if (s.buf.oom)
        return TG_ENOMEM;
    if (rc != CURLE_OK) {
        a->status = 0;
        snprintf(a->err, sizeof(a->err), "%s",
                 errbuf[0] ? errbuf : curl_easy_strerror(rc));
        return TG_EIO;
    }
    return 0;
}
