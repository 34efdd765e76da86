/* Protocol 3's coding of span summaries (forward.proto, "Protocol
 * versions"), internal to wire/: tg_wire_pack_batch and
 * tg_wire_unpack_batch are the only callers. */
#ifndef TG_WIRE_V3_H
#define TG_WIRE_V3_H

#include "tg_arena.h"
#include "tollgate/v1/forward.pb-c.h"

/* Fills *out with a copy of canonical `in` whose span summaries are coded
 * as protocol 3 (the string table, trace ids, parents, start deltas and
 * hashes as bytes). Everything new lives in `a`; `in` is not changed, and
 * *out shares what is not coded (the RED, log, metric and cost records)
 * with it. TG_EINVAL when a span has no trace id (version 3 cannot say
 * so), TG_ENOMEM. */
int tg_wire_v3_code(const Tollgate__V1__Batch *in, tg_arena *a, Tollgate__V1__Batch *out);

/* Turns a protocol-3 batch just unpacked into arena `a` back into the
 * canonical form (plain strings, ids and start offsets from the base),
 * clearing the coding fields. Strings are shared, not copied. TG_EPARSE
 * when a reference points outside its table or a column is used up too
 * soon or not at all, TG_ETOO_BIG when the references stand for more than
 * `limit` bytes of text, TG_ENOMEM when `a` is full. */
int tg_wire_v3_resolve(Tollgate__V1__Batch *b, tg_arena *a, size_t limit);

#endif
