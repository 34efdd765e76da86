/* Internals of tg_config.c shared with its tests and fuzz target only. */
#ifndef TG_CONFIG_INTERNAL_H
#define TG_CONFIG_INTERNAL_H

#include <stddef.h>

#include "tg_config.h"

/* tg_config_load() on an in-memory document; `name` stands for the file
 * name in messages. On success *n_set (may be NULL) counts the keys the
 * document set. cfg is left untouched on error. */
int tg_config_load_buffer(const char *name, const char *buf, size_t len,
                          tg_collector_config *cfg, size_t *n_set, char *err,
                          size_t errlen);

/* How many keys the table declares. */
size_t tg_config_key_count(void);

#endif
