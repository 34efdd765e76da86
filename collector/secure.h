/* Who may reach the collector's listeners: TLS on the site API and both
 * OTLP receivers (certificates from files, reloaded on SIGHUP), the
 * receivers' bearer tokens and what each may send for, and the rule that
 * an API reachable beyond this host is served only over TLS and only to
 * query clients with tokens, unless the operator says otherwise on purpose
 * (api.insecure / --insecure-api). */
#ifndef TG_SECURE_H
#define TG_SECURE_H

#include <stddef.h>

#include "tg_access.h"
#include "tg_config.h"
#include "tg_http.h"
#include "tg_otlp.h"

/* 1 when `addr` (HOST:PORT) listens on loopback only: 127.0.0.0/8, ::1 or
 * localhost. A wildcard (0.0.0.0, [::]) or any other host is not. */
int tg_secure_is_loopback(const char *addr);

/* 0, or TG_ECONFIG with the reason in err when the API would listen beyond
 * loopback without TLS or without query clients and api.insecure is off;
 * also checks that the tls.* keys of the API and the OTLP receivers go
 * together. */
int tg_secure_check(const tg_collector_config *cfg, size_t n_query_clients, char *err,
                    size_t errlen);

/* The TLS contexts the configuration asks for (NULL where it asks for
 * none). Returns 0, or TG_ECONFIG with a message naming the file. */
typedef struct tg_secure_tls {
    tg_http_tls *api, *http, *grpc; /* grpc's context selects ALPN "h2" */
} tg_secure_tls;

int tg_secure_tls_load(const tg_collector_config *cfg, tg_secure_tls *out, char *err,
                       size_t errlen);
/* On SIGHUP, on the loop thread: loads every certificate again; a context
 * whose files fail keeps its old ones (logged). */
void tg_secure_tls_reload(const tg_collector_config *cfg, tg_secure_tls *t);
void tg_secure_tls_free(tg_secure_tls *t);

/* What one receiver token may send for: the services (resource
 * service.name, "unknown_service" for a resource without one) it lists,
 * or any when it lists none. */
typedef struct tg_secure_scope {
    char name[64]; /* the token's name, or its file's for token_files */
    const char (*services)[128];
    size_t n_services;
} tg_secure_scope;

/* A receiver's bearer tokens: access.v[i] is the token of scope[i]. */
typedef struct tg_secure_tokens {
    tg_access access;
    tg_secure_scope *scope;
    tg_config_token *entries; /* copies of the config's entries (their services) */
} tg_secure_tokens;

/* The bearer tokens of `files` (one per file, mode 600, as every token
 * file; named after their files, any service) and of `named` (the
 * receiver's tokens: list, with their services). Empty when there are
 * none. 0, or TG_ECONFIG with a message naming the file or the token that
 * appears twice (`what` names the receiver's section). */
int tg_secure_tokens_load(const char *what, const char (*files)[1024], size_t n_files,
                          const tg_config_token *named, size_t n_named,
                          tg_secure_tokens *out, char *err, size_t errlen);
void tg_secure_tokens_free(tg_secure_tokens *t);
/* 1 when the receiver asks for a token. */
int tg_secure_tokens_required(const tg_secure_tokens *t);
/* The scope of the token an Authorization value ("Bearer TOKEN") presents,
 * or NULL (constant time per token, tg_access_authenticate). */
const tg_secure_scope *tg_secure_authenticate(const tg_secure_tokens *t,
                                              const char *authorization);
/* The same from a request's Authorization header. */
const tg_secure_scope *tg_secure_authenticate_request(const tg_secure_tokens *t,
                                                      const tg_http_request *req);
/* A tg_http_header_check for a receiver whose tokens are `t`: 401 before
 * the body is read when a token is required and the request presents none
 * that is known. */
int tg_secure_check_headers(const tg_secure_tokens *t, const tg_http_request *req,
                            tg_http_response *resp);

/* 0 when every service of a request (its index) is one the scope may send
 * for; else TG_EFORBIDDEN with a message for the client naming the first
 * service refused and the token. A NULL scope allows everything. */
int tg_secure_scope_check(const tg_secure_scope *scope, const tg_otlp_index *ix,
                          char *msg, size_t msglen);

#endif
