/* Configuration key tables: a configuration struct described once, key by
 * key (dotted path, type, default, offsetof, bounds, flag, help), drives its
 * defaults, its loading from a tg_yaml tree, the flags that set the same
 * keys, and the Markdown reference the docs are generated from. The
 * collector's configuration, the forwarder's `forward:` section and the
 * central view's configuration are each one table.
 *
 * Errors are "FILE:LINE:COLUMN: key.path: reason"; an unknown key names the
 * closest known one. A key's value is checked, converted and stored in one
 * place (tg_cfgtab_set), so a flag and the file accept the same text. */
#ifndef TG_CFGTAB_H
#define TG_CFGTAB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tg_yaml.h"

enum tg_cfg_type {
    TG_CFG_STRING,
    TG_CFG_ADDRESS,     /* string, validated as HOST:PORT */
    TG_CFG_SIZE,        /* uint64_t bytes */
    TG_CFG_DURATION,    /* uint64_t, in units of `unit_ms` */
    TG_CFG_UINT,        /* uint32_t, uint64_t or int (by `size`), bounded */
    TG_CFG_BOOL,        /* int 0 / 1 (inverted with `invert`) */
    TG_CFG_ENUM,        /* one of `choices`: the string, or values[i] as an int */
    TG_CFG_STRING_LIST, /* char[N][item_size] plus a size_t count at count_offset */
    TG_CFG_DOUBLE,      /* double, finite, within dmin..dmax */
    TG_CFG_CUSTOM,      /* read by `load` from the tree (lists of records, maps) */
};

/* Checks a string value; 0, or TG_EINVAL with the reason in why. */
typedef int (*tg_cfg_check_fn)(const char *value, char *why, size_t whylen);
/* Reads a TG_CFG_CUSTOM key's node into base; errors as tg_yaml_error(). */
typedef int (*tg_cfg_load_fn)(void *base, const tg_ynode *v, const char *file, char *err,
                              size_t errlen);

struct tg_cfg_key {
    const char *path; /* "store.max_bytes", relative to the table's root */
    enum tg_cfg_type type;
    const char *def; /* default, written as it would be in the file */
    size_t offset;
    size_t size; /* sizeof the member (a string's capacity) */
    size_t count_offset, item_size;
    uint64_t min, max; /* bounds for size, duration (ms) and uint */
    double dmin, dmax; /* bounds for double (both 0: none) */
    uint64_t unit_ms;  /* duration members: 1 stores ms, 1000 seconds */
    int truncate;      /* duration: drop a fraction of unit_ms instead of refusing it */
    int invert;        /* bool: store !value */
    const char *const *choices; /* enum: NULL-terminated */
    const int *values;          /* enum: stored as int; NULL stores the string */
    const char *invalid;        /* enum: the whole message for a value not in choices */
    tg_cfg_check_fn check;
    tg_cfg_load_fn load;
    const char *type_text; /* custom: the type column of the reference */
    const char *flag;      /* long option that sets it, or NULL */
    const char *metavar;   /* the flag's argument in --help */
    const char *help;
};

typedef struct tg_cfgtab {
    const struct tg_cfg_key *keys;
    size_t n;
} tg_cfgtab;

#define TG_CFG_FIELD(type, m) .offset = offsetof(type, m), .size = sizeof(((type *)0)->m)

/* Every key set to its default (the struct is zeroed first). */
void tg_cfgtab_defaults(const tg_cfgtab *t, void *base);

/* Sets key k from its text form (a flag's argument, or a scalar of the
 * file); a list key appends one item. 0, or TG_EINVAL with the reason. */
int tg_cfgtab_set(const struct tg_cfg_key *k, void *base, const char *v, char *why,
                  size_t whylen);
/* Empties a list key. */
void tg_cfgtab_clear(const struct tg_cfg_key *k, void *base);

/* Loads the keys of mapping `map` over base (not undone on error: load a
 * copy). Top-level names in `skip` (NULL-terminated, may be NULL) belong to
 * someone else and are passed over. *n_set (may be NULL) counts keys set. */
int tg_cfgtab_load(const tg_cfgtab *t, void *base, const tg_ynode *map, const char *file,
                   const char *const *skip, size_t *n_set, char *err, size_t errlen);

/* The table as Markdown: key, type, default, flag (only if a key has
 * one), description. */
void tg_cfgtab_write_reference(const tg_cfgtab *t, FILE *f);

/* 0 if `addr` is HOST:PORT (IPv4, [IPv6] or a hostname; port 0-65535),
 * else TG_EINVAL with the reason in why. */
int tg_cfgtab_check_address(const char *addr, char *why, size_t whylen);

#endif
