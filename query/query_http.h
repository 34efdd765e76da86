/* The one HTTP GET the command-line tools make (tollgate query, tollgate
 * status): libcurl, http and https only, no redirects followed, no
 * signals, a bearer token and client TLS files when given, JSON asked
 * for, the answer gathered in memory up to a cap. Blocking; the caller
 * has called curl_global_init(). */
#ifndef TG_QUERY_HTTP_H
#define TG_QUERY_HTTP_H

#include <stddef.h>

typedef struct tg_query_http_req {
    const char *url;
    const char *token;     /* sent as "Authorization: Bearer"; NULL or "": none */
    const char *ca_file;   /* CA bundle for https; NULL: the system's */
    const char *cert_file; /* client certificate; NULL: none */
    const char *key_file;  /* its key; NULL: in cert_file */
    long timeout_ms;       /* the whole exchange; connecting gets at most 5 s */
    size_t max_body;       /* a longer answer is refused (too_big) */
} tg_query_http_req;

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

#endif
