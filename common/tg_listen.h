/* Listening sockets for servers that run on several event loops at once,
 * and the caps those servers share.
 *
 * Several loops serve one address by each binding its own socket with
 * SO_REUSEPORT: the kernel spreads new connections over them (by a hash
 * of the connection's addresses), and each loop accepts, reads, decodes
 * and answers its own connections without touching another loop's. The
 * Debian 12 libuv (1.44) has no UV_TCP_REUSEPORT (1.49), so the socket is
 * made here and handed to libuv with uv_tcp_open().
 *
 * A listener's limits (max_connections, max_connections_per_source, the
 * buffer budget) are the configuration's for the address as a whole,
 * whatever loop the kernel picks: a tg_listen_caps is shared by the
 * listener's servers on every loop. Thread-safe. */
#ifndef TG_LISTEN_H
#define TG_LISTEN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

/* "HOST:PORT", "[V6]:PORT" or ":PORT" (all IPv4 interfaces). HOST may be a
 * name, resolved here once (blocking: this runs at start). 0 or TG_EINVAL. */
int tg_listen_parse_addr(const char *addr, struct sockaddr_storage *ss);

/* Binds `h` (initialised with uv_tcp_init, not yet bound) to `sa`; with
 * `reuseport`, on a socket made here with SO_REUSEPORT, so the servers of
 * other loops may bind the same address. 0 or a libuv error code. */
int tg_listen_bind(uv_tcp_t *h, const struct sockaddr *sa, int reuseport);

typedef struct tg_listen_caps tg_listen_caps;

/* 0 in a cap: none. NULL when out of memory. */
tg_listen_caps *tg_listen_caps_new(size_t max_connections, size_t max_per_source,
                                   size_t max_buffered_bytes);
void tg_listen_caps_free(tg_listen_caps *c);

enum { TG_LISTEN_OK = 0, TG_LISTEN_FULL = 1, TG_LISTEN_SOURCE_FULL = 2 };

/* Takes a connection slot for a client at `src` (its 4 or 16 address
 * bytes; len 0: unknown, counted against the total only). Returns
 * TG_LISTEN_OK (give it back with tg_listen_caps_give), TG_LISTEN_FULL or
 * TG_LISTEN_SOURCE_FULL. */
int tg_listen_caps_take(tg_listen_caps *c, const uint8_t *src, size_t len);
void tg_listen_caps_give(tg_listen_caps *c, const uint8_t *src, size_t len);

/* The buffer budget: whether growing a buffer by `more` bytes would exceed
 * it, and the accounting of what is held. Check and grow are separate
 * steps, so loops racing may pass the budget by one buffer each. */
int tg_listen_caps_over_budget(const tg_listen_caps *c, size_t more);
void tg_listen_caps_buffered(tg_listen_caps *c, size_t add, size_t sub);

#endif
