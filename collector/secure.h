/* Who may reach the collector's listeners: TLS on the site API and the
 * OTLP/HTTP receiver (certificates from files, reloaded on SIGHUP), and
 * the rule that an API reachable beyond this host is served only over TLS
 * and only to query clients with tokens, unless the operator says
 * otherwise on purpose (api.insecure / --insecure-api). */
#ifndef TG_SECURE_H
#define TG_SECURE_H

#include <stddef.h>

#include "tg_access.h"
#include "tg_config.h"
#include "tg_http.h"

/* 1 when `addr` (HOST:PORT) listens on loopback only: 127.0.0.0/8, ::1 or
 * localhost. A wildcard (0.0.0.0, [::]) or any other host is not. */
int tg_secure_is_loopback(const char *addr);

/* 0, or TG_ECONFIG with the reason in err when the API would listen beyond
 * loopback without TLS or without query clients and api.insecure is off;
 * also checks that the tls.* keys of the API and the OTLP/HTTP receiver
 * go together. */
int tg_secure_check(const tg_collector_config *cfg, size_t n_query_clients, char *err,
                    size_t errlen);

/* The TLS contexts the configuration asks for (NULL where it asks for
 * none). Returns 0, or TG_ECONFIG with a message naming the file. */
typedef struct tg_secure_tls {
    tg_http_tls *api, *http;
} tg_secure_tls;

int tg_secure_tls_load(const tg_collector_config *cfg, tg_secure_tls *out, char *err,
                       size_t errlen);
/* On SIGHUP, on the loop thread: loads every certificate again; a context
 * whose files fail keeps its old ones (logged). */
void tg_secure_tls_reload(const tg_collector_config *cfg, tg_secure_tls *t);
void tg_secure_tls_free(tg_secure_tls *t);

/* The bearer tokens of `files` (one per file, mode 600, as every token
 * file) as an access list whose entries are named after their files. An
 * empty list when n is 0. 0, or TG_ECONFIG with a message naming the file
 * (`what` names the key). */
int tg_secure_tokens_load(const char *what, const char (*files)[1024], size_t n,
                          tg_access *out, char *err, size_t errlen);

#endif
