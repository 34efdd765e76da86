/* A YAML document as a small tree with positions: the one YAML layer that
 * every file tollgate reads goes through (the collector's configuration,
 * its forward section, the central view's configuration and sites
 * registry, and the residency policy files).
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
    int quoted;       /* scalar was '...' or "..." (its text starts a column later) */
    size_t n;         /* items (seq) or pairs (map) */
    tg_ynode **items; /* seq items or map values */
    tg_ynode **keys;  /* map keys (scalars) */
};

/* Why a document did not load. `message` is the whole message without the
 * "file:line:col: " prefix; the other fields let a caller that words some
 * failures its own way do so. */
enum tg_yaml_fail_kind {
    TG_YAML_FAIL_SYNTAX = 1, /* libyaml refused the text */
    TG_YAML_FAIL_ALIAS,      /* an alias (*name): refused, see above */
    TG_YAML_FAIL_KEY,        /* a mapping key that is not a scalar */
    TG_YAML_FAIL_DUPLICATE,  /* a key repeated within one mapping */
    TG_YAML_FAIL_EXTRA_DOC,  /* a second document in the stream */
    TG_YAML_FAIL_LIMIT,      /* too deep, too many nodes, out of memory */
};

typedef struct tg_yaml_failure {
    enum tg_yaml_fail_kind kind;
    unsigned line, col;         /* 1-based; 0 when the failure has no position */
    unsigned first_line;        /* DUPLICATE: where the key was first set */
    unsigned doc_line, doc_col; /* EXTRA_DOC: the second document's "---" */
    char key[128];              /* DUPLICATE: the repeated key, as written */
    char message[512];
} tg_yaml_failure;

/* Builds the tree of one document. Returns NULL with *f filled in. An
 * empty document (or a null one) gives an empty mapping. */
tg_ynode *tg_yaml_parse(const char *buf, size_t len, tg_yaml_failure *f);

/* tg_yaml_parse() with the failure written as "name:line:col: message"
 * into err; `name` stands for the file in messages. */
tg_ynode *tg_yaml_load_buffer(const char *name, const char *buf, size_t len, char *err,
                              size_t errlen);
tg_ynode *tg_yaml_load_file(const char *path, char *err, size_t errlen);
void tg_yaml_free(tg_ynode *n);

/* A plain "", "~", "null", "Null" or "NULL": YAML's null. */
int tg_yaml_is_null(const tg_ynode *n);
/* "a scalar", "a list" or "a mapping", for messages. */
const char *tg_yaml_kind_name(const tg_ynode *n);

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
/* A duration in the one grammar of tg_units.h, in milliseconds. */
int tg_yaml_duration_ms(const char *file, const tg_ynode *n, uint64_t *out, char *err,
                        size_t errlen);

/* Checks that every key of `map` is in the NULL-terminated `allowed`
 * list; an unknown key is an error at its position, with a hint when a
 * known key is close. */
int tg_yaml_check_keys(const char *file, const tg_ynode *map, const char *const *allowed,
                       char *err, size_t errlen);

#endif
