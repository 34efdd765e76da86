/* tollgate's transport encoding (proto/tollgate/v1/forward.proto): batches
 * in each protocol version, zstd framing, and the helpers both ends share.
 *
 * In memory a batch is canonical: protocol 2's layout (times as offsets
 * from base_time_unix_nano, every string and id in its plain field). The
 * site's outbox keeps batches packed in the highest version the site
 * speaks (protocol 3: span summaries coded per batch, wire_v3.c), which it
 * sends as they are; for an older centre it re-encodes them. Whatever
 * arrives is decoded back to the canonical form with absolute times. */
#ifndef TG_WIRE_H
#define TG_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "tg_arena.h"
#include "tg_time.h"
#include "tollgate/v1/forward.pb-c.h"

#define TG_PROTOCOL_MIN 1
#define TG_PROTOCOL_MAX 3

/* The range this process speaks: [TG_PROTOCOL_MIN, TG_PROTOCOL_MAX], or
 * narrowed by the test hook TOLLGATE_TEST_PROTOCOL="MIN-MAX" (or "N"),
 * which simulates an older or newer peer in the version-skew tests. */
void tg_protocol_range(unsigned *min, unsigned *max);

/* zstd, malloc'd output. */
int tg_zstd_compress(const uint8_t *in, size_t len, int level, uint8_t **out,
                     size_t *outlen);
/* Bounded decompression into the arena: more than `limit` bytes fails
 * with TG_ETOO_BIG, a corrupt or truncated frame with TG_EPARSE. */
int tg_zstd_decompress(const uint8_t *in, size_t len, size_t limit, tg_arena *arena,
                       uint8_t **out, size_t *outlen);

/* Packs canonical `b` as `version` (1 to 3) and compresses it. `b` is
 * restored before return. *rawlen gets the uncompressed size. Version 3
 * refuses (TG_EINVAL) a span summary without a trace id or span id, which
 * the summariser never makes. */
int tg_wire_pack_batch(Tollgate__V1__Batch *b, unsigned version, int level, uint8_t **out,
                       size_t *outlen, size_t *rawlen);

/* Decompresses (bounded by `limit`) and unpacks a batch into the arena,
 * resolves protocol 3's coding (TG_EPARSE for a reference outside its
 * table; TG_ETOO_BIG when the batch and the text its references stand for
 * exceed `limit`), then normalises every time to absolute unix nanoseconds
 * (start_time_unix_nano, time_unix_nano), whatever the version. */
int tg_wire_unpack_batch(const uint8_t *z, size_t zlen, size_t limit, tg_arena *arena,
                         Tollgate__V1__Batch **out, size_t *rawlen);

/* Turns a stored canonical batch into `version`'s encoding (malloc'd). */
int tg_wire_transcode(const uint8_t *z, size_t zlen, unsigned version, int level,
                      uint8_t **out, size_t *outlen, size_t *rawlen);

/* Wall clock in unix nanoseconds as the forwarder sees it: with the test
 * hook TOLLGATE_TEST_CLOCK_SKEW_MS=<signed ms> it is shifted by that much,
 * to test that a skewed site is reported with its offset. */
uint64_t tg_fwd_now_ns(void);
/* A monotonic clock for the forwarder's rates (the outbox fill rate and
 * the time its budget has left). Both run faster under the test hook
 * TOLLGATE_TEST_CLOCK_RATE=N (N times real time). */
uint64_t tg_fwd_mono_ns(void);

/* The token in `path` (a site's token file), surrounding whitespace
 * removed. 0, TG_EIO, TG_ECONFIG (the file is readable or writable by its
 * group or others) or TG_EINVAL (empty, too long, or a byte that cannot go
 * into an HTTP header). */
int tg_wire_read_token(const char *path, char *out, size_t cap);

/* Why tg_wire_read_token failed, for a message that names the file. */
const char *tg_wire_token_why(int rc);

#endif
