/* A YAML document as a small tree with positions, for the configuration
 * files of the forwarder and the central view (its config and its sites
 * registry).
 *
 * Parsing is libyaml's; this turns its events into nodes that remember
 * their line and column, so every error names "FILE:LINE:COLUMN". Aliases
 * are refused (they make a small file expand without bound); depth and node
 * count are capped. Ownership: tg_yaml_load_*() returns a tree the caller
 * frees with tg_yaml_free(). */
#ifndef TG_YAML_H
#define TG_YAML_H

#include <stddef.h>
#include <stdint.h>

enum tg_ynode_kind { TG_YNODE_SCALAR = 0, TG_YNODE_SEQ, TG_YNODE_MAP };

typedef struct tg_ynode tg_ynode;
struct tg_ynode {
    enum tg_ynode_kind kind;
    unsigned line, col; /* 1-based */
    char *str;          /* scalar text, NUL-terminated */
    size_t len;
    int plain;        /* scalar was unquoted (so "null", "~" mean null) */
    size_t n;         /* items (seq) or pairs (map) */
    tg_ynode **items; /* seq items or map values */
    tg_ynode **keys;  /* map keys (scalars) */
};

/* `name` is used in messages. Returns NULL with "name:line:col: message"
 * in err. An empty document gives an empty mapping. */
tg_ynode *tg_yaml_load_buffer(const char *name, const char *buf, size_t len, char *err,
                              size_t errlen);
tg_ynode *tg_yaml_load_file(const char *path, char *err, size_t errlen);
void tg_yaml_free(tg_ynode *n);

/* Value under `key` in a mapping, or NULL. */
const tg_ynode *tg_yaml_get(const tg_ynode *map, const char *key);

/* Writes "file:line:col: <fmt...>" into err; returns TG_ECONFIG. */
int tg_yaml_error(char *err, size_t errlen, const char *file, const tg_ynode *n,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Typed readers: each checks the node and on error writes a positioned
 * message and returns TG_ECONFIG. */
int tg_yaml_str(const char *file, const tg_ynode *n, char *out, size_t cap, char *err,
                size_t errlen);
int tg_yaml_bool(const char *file, const tg_ynode *n, int *out, char *err, size_t errlen);
int tg_yaml_u64(const char *file, const tg_ynode *n, uint64_t *out, char *err,
                size_t errlen);
int tg_yaml_double(const char *file, const tg_ynode *n, double *out, char *err,
                   size_t errlen);
/* "64MiB", "1GB", "512" (bytes). */
int tg_yaml_size(const char *file, const tg_ynode *n, uint64_t *out, char *err,
                 size_t errlen);
/* "250ms", "30s", "5m", "2h", "7d", a bare number is seconds. */
int tg_yaml_duration_ms(const char *file, const tg_ynode *n, uint64_t *out, char *err,
                        size_t errlen);

/* The same parsers on plain strings (for command-line flags). 0 or TG_EINVAL. */
int tg_parse_size_str(const char *s, uint64_t *out);
int tg_parse_duration_str(const char *s, uint64_t *out_ms);

/* Checks that every key of `map` is in the NULL-terminated `allowed`
 * list; an unknown key is an error at its position, with a hint when a
 * known key is close. */
int tg_yaml_check_keys(const char *file, const tg_ynode *map, const char *const *allowed,
                       char *err, size_t errlen);

#endif
