/* The one way tollgate asks another tollgate over HTTP for an answer: a GET
 * with libcurl, http and https only, no redirects followed (a bearer token
 * is for the endpoint named, nowhere else), no signals, JSON asked for, a
 * bearer token and TLS files when given, the body gathered in memory up
 * to a cap.
 *
 * tg_query_http_get makes one blocking request (tollgate query, tollgate
 * status); tg_query_http_setup prepares a handle the same way for a caller
 * that drives many at once (the fan-out's libcurl multi). The caller has
 * called curl_global_init(). */
#ifndef TG_QUERY_HTTP_H
#define TG_QUERY_HTTP_H

#include <curl/curl.h>
#include <jansson.h>
#include <stddef.h>

#include "tg_strbuf.h"

typedef struct tg_query_http_req {
    const char *url;
    const char *accept;      /* the Accept header; NULL: application/json */
    const char *token;       /* sent as "Authorization: Bearer"; NULL or "": none */
    const char *ca_file;     /* CA bundle for https; NULL: the system's */
    const char *cert_file;   /* client certificate; NULL: none */
    const char *key_file;    /* its key; NULL: libcurl reads it from cert_file */
    long connect_timeout_ms; /* 0: 5 s; never more than timeout_ms */
    long timeout_ms;         /* the whole exchange */
    size_t max_body;         /* a longer answer fails the transfer (too_big) */
} tg_query_http_req;

/* Where an answer's body gathers while it arrives. */
typedef struct tg_query_http_body {
    tg_strbuf buf; /* on the heap: whoever takes buf.p frees it */
    size_t max;
    int too_big; /* the answer was longer than max: the transfer failed */
} tg_query_http_body;

/* Configures `easy` for r. The headers it sends go to *hdrs (free them with
 * curl_slist_free_all once the transfer is over), the body into *body
 * (zeroed here), libcurl's words about a failure into errbuf
 * (CURL_ERROR_SIZE bytes). Both must outlive the transfer. */
void tg_query_http_setup(CURL *easy, const tg_query_http_req *r, tg_query_http_body *body,
                         struct curl_slist **hdrs, char *errbuf);

typedef struct tg_query_http_answer {
    long status; /* the HTTP status; 0 when no answer came */
    char *body;  /* NUL-terminated, NULL when empty; the caller frees it */
    size_t len;
    int too_big;   /* the answer was longer than max_body */
    char err[256]; /* why no answer came (libcurl's words) */
} tg_query_http_answer;

/* GETs r->url into *a (zeroed first). Returns 0 when an HTTP answer of any
 * status arrived whole, TG_ETOO_BIG when it was longer than r->max_body,
 * TG_EIO when none arrived (the reason in a->err), TG_ENOMEM. a->body may
 * hold a partial answer on failure: free it in every case. */
int tg_query_http_get(const tg_query_http_req *r, tg_query_http_answer *a);

/* A server's own words about a failure, from an error answer's body: the
 * string at "error", "error.message" or "message" of a JSON object. Returns
 * it (it lives in *doc: json_decref(*doc) when done, in every case), or
 * NULL when the body says nothing that way and the caller shows its start
 * instead. */
const char *tg_query_http_error_words(const char *body, size_t len, json_t **doc);

/* `s` percent-encoded for a query string (RFC 3986 unreserved kept),
 * malloc'd, or NULL when out of memory. */
char *tg_query_http_escape(const char *s);

#endif
