/* Who may ask for data, with which token, up to what: the one reader of
 * token lists that both sides of the link use.
 *
 *   users:                       # the centre's --users FILE
 *     - {name: alice, token_file: alice.token, role: sre}
 *   query:                       # a site's config: the clients it answers
 *     clients:
 *       - {name: central, token_file: central-query.token, max_view: central}
 *       - {name: dpo-cli, token_file: dpo.token, max_view: raw}
 *
 * Each entry is a name, a token read from its token file (relative to the
 * file that names it) and one grant: a role at the centre, the most
 * permissive view at a site. One token, one entry, one grant: two entries
 * with the same token are refused at load, so a caller's clearance is never
 * the union of two (Elasticsearch's rule for cross-cluster API keys). */
#ifndef TG_ACCESS_H
#define TG_ACCESS_H

#include <stddef.h>

#include "tg_yaml.h"

typedef struct tg_access_entry {
    char name[64];
    char token[512];
    char grant[64];
} tg_access_entry;

typedef struct tg_access {
    tg_access_entry *v;
    size_t n;
} tg_access;

/* Reads the list `list` (a sequence node of `file`) whose items are
 * mappings with name, token_file and `grant_key` (required), plus any key
 * in `extra_keys` (NULL-terminated, may be NULL; read by the caller).
 * Token files resolve against base_dir. Errors name file:line:column.
 * Returns 0 or TG_ECONFIG / TG_ENOMEM. */
int tg_access_read(const char *file, const char *base_dir, const tg_ynode *list,
                   const char *grant_key, const char *const *extra_keys, tg_access *out,
                   char *err, size_t errlen);

void tg_access_free(tg_access *a);

/* The entry whose token an Authorization header value ("Bearer TOKEN")
 * presents, or NULL (no header, another scheme, unknown token). Every
 * entry is compared, each in constant time. */
const tg_access_entry *tg_access_authenticate(const tg_access *a,
                                              const char *authorization);

const tg_access_entry *tg_access_find(const tg_access *a, const char *name);

#endif
