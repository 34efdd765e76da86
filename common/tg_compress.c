/* gzip / deflate (zlib) and zstd for request bodies and stored records.
 *
 * Decompression streams into an arena buffer and checks the running output
 * size against `limit` after every step, so a bomb stops at limit + 1
 * bytes whatever its headers claim. Size hints from the stream (gzip's
 * ISIZE trailer, zstd's frame content size) only choose the first buffer
 * size; a zstd frame that declares more than the limit is refused before
 * any work. `limit` is taken literally (0 allows only empty output); pass
 * SIZE_MAX for no bound. */
#include "tg_compress.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

/* zstd.h defines this only for static linking; 27 is its documented value. */
#ifndef ZSTD_WINDOWLOG_LIMIT_DEFAULT
#define ZSTD_WINDOWLOG_LIMIT_DEFAULT 27
#endif

#include "tg_err.h"

int tg_compression_parse(const char *name, size_t len, enum tg_compression *out)
{
    static const struct {
        const char *token;
        enum tg_compression c;
    } map[] = {
        {"identity", TG_COMP_NONE},   {"gzip", TG_COMP_GZIP},
        {"x-gzip", TG_COMP_GZIP},     {"zstd", TG_COMP_ZSTD},
        {"deflate", TG_COMP_DEFLATE},
    };

    if (!name || !out)
        return TG_EINVAL;
    while (len && (*name == ' ' || *name == '\t')) {
        name++;
        len--;
    }
    while (len && (name[len - 1] == ' ' || name[len - 1] == '\t'))
        len--;
    if (len == 0) {
        *out = TG_COMP_NONE;
        return 0;
    }
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strlen(map[i].token) == len && strncasecmp(map[i].token, name, len) == 0) {
            *out = map[i].c;
            return 0;
        }
    }
    return TG_EUNSUPPORTED;
}

const char *tg_compression_name(enum tg_compression c)
{
    switch (c) {
    case TG_COMP_NONE:
        return "identity";
    case TG_COMP_GZIP:
        return "gzip";
    case TG_COMP_ZSTD:
        return "zstd";
    case TG_COMP_DEFLATE:
        return "deflate";
    }
    return "unknown";
}

/* ---- output buffer ------------------------------------------------------ */

/* Capacity never exceeds limit + 1: one byte past the limit is enough to
 * know the output is too big. */
typedef struct obuf {
    tg_arena *arena;
    uint8_t *p;
    size_t len, cap, max;
} obuf;

static int obuf_init(obuf *o, tg_arena *arena, size_t limit, size_t hint)
{
    o->arena = arena;
    o->len = 0;
    o->max = limit == SIZE_MAX ? SIZE_MAX : limit + 1;
    o->cap = hint >= o->max ? o->max : hint + 1;
    if (o->cap < 256)
        o->cap = o->max < 256 ? o->max : 256;
    o->p = tg_arena_alloc(arena, o->cap);
    return o->p ? 0 : TG_ETOO_BIG;
}

/* Make room for more output; TG_ETOO_BIG once the limit is reached. */
static int obuf_grow(obuf *o)
{
    size_t cap;
    uint8_t *p;

    if (o->len < o->cap)
        return 0;
    if (o->cap >= o->max)
        return TG_ETOO_BIG;
    cap = o->cap > o->max / 2 ? o->max : o->cap * 2;
    p = tg_arena_alloc(o->arena, cap);
    if (!p)
        return TG_ETOO_BIG; /* the arena's own limit */
    memcpy(p, o->p, o->len);
    o->p = p;
    o->cap = cap;
    return 0;
}

/* ---- zlib --------------------------------------------------------------- */

static size_t gzip_hint(const uint8_t *in, size_t inlen)
{
    /* ISIZE is the last member's size mod 2^32; a liar only changes the
     * first buffer size, and deflate cannot expand more than ~1032:1. */
    uint32_t isize;

    if (inlen < 18)
        return 0;
    isize = (uint32_t)in[inlen - 4] | (uint32_t)in[inlen - 3] << 8 |
            (uint32_t)in[inlen - 2] << 16 | (uint32_t)in[inlen - 1] << 24;
    if (inlen < SIZE_MAX / 1100 && isize > inlen * 1100)
        return inlen * 4;
    return isize;
}

/* Byte k of the input not yet consumed by zlib. */
static uint8_t peek(const z_stream *zs, const uint8_t *in, size_t in_off, size_t k)
{
    return k < zs->avail_in ? zs->next_in[k] : in[in_off + k - zs->avail_in];
}

static int inflate_run(int wbits, const uint8_t *in, size_t inlen, obuf *o)
{
    z_stream zs;
    size_t in_off = 0;
    int rc, ret = 0;

    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, wbits) != Z_OK)
        return TG_ENOMEM;
    for (;;) {
        size_t before;

        if (zs.avail_in == 0 && in_off < inlen) {
            size_t chunk = inlen - in_off > UINT_MAX ? UINT_MAX : inlen - in_off;
            zs.next_in = (Bytef *)(uintptr_t)(in + in_off);
            zs.avail_in = (uInt)chunk;
            in_off += chunk;
        }
        if ((ret = obuf_grow(o)))
            break;
        zs.next_out = o->p + o->len;
        zs.avail_out = o->cap - o->len > UINT_MAX ? UINT_MAX : (uInt)(o->cap - o->len);
        before = zs.avail_out;
        rc = inflate(&zs, Z_NO_FLUSH);
        o->len += before - zs.avail_out;
        if (o->len >= o->max) {
            ret = TG_ETOO_BIG;
            break;
        }
        if (rc == Z_STREAM_END) {
            size_t rest = zs.avail_in + (inlen - in_off);
            if (rest == 0)
                break;
            /* Concatenated gzip members are one valid gzip stream. */
            if (wbits > MAX_WBITS && rest >= 2 && peek(&zs, in, in_off, 0) == 0x1f &&
                peek(&zs, in, in_off, 1) == 0x8b) {
                if (inflateReset(&zs) != Z_OK) {
                    ret = TG_EPARSE;
                    break;
                }
                continue;
            }
            ret = TG_EPARSE; /* trailing garbage */
            break;
        }
        if (rc == Z_MEM_ERROR) {
            ret = TG_ENOMEM;
            break;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            ret = TG_EPARSE;
            break;
        }
        if (zs.avail_in == 0 && in_off == inlen && zs.avail_out > 0) {
            ret = TG_EPARSE; /* input ended inside the stream */
            break;
        }
    }
    inflateEnd(&zs);
    return ret;
}

static int inflate_all(enum tg_compression c, const uint8_t *in, size_t inlen,
                       size_t limit, tg_arena *arena, uint8_t **out, size_t *outlen)
{
    obuf o;
    int rc;

    rc = obuf_init(&o, arena, limit, c == TG_COMP_GZIP ? gzip_hint(in, inlen) : inlen);
    if (rc)
        return rc;
    if (c == TG_COMP_GZIP) {
        rc = inflate_run(16 + MAX_WBITS, in, inlen, &o);
    } else {
        /* HTTP's "deflate" is zlib-wrapped, but some clients send raw
         * deflate; a bad zlib header means try raw. */
        rc = inflate_run(MAX_WBITS, in, inlen, &o);
        if (rc == TG_EPARSE && (inlen < 2 || ((in[0] << 8) | in[1]) % 31 != 0 ||
                                (in[0] & 0x0f) != Z_DEFLATED)) {
            o.len = 0;
            rc = inflate_run(-MAX_WBITS, in, inlen, &o);
        }
    }
    if (rc)
        return rc;
    *out = o.p;
    *outlen = o.len;
    return 0;
}

/* ---- zstd --------------------------------------------------------------- */

static int zstd_all(const uint8_t *in, size_t inlen, size_t limit, tg_arena *arena,
                    uint8_t **out, size_t *outlen)
{
    unsigned long long fcs = ZSTD_getFrameContentSize(in, inlen);
    ZSTD_inBuffer ib = {in, inlen, 0};
    ZSTD_DCtx *dctx;
    size_t hint = inlen < SIZE_MAX / 4 ? inlen * 4 : SIZE_MAX;
    int wlog = 23, ret = 0;
    obuf o;

    if (fcs == ZSTD_CONTENTSIZE_ERROR)
        return TG_EPARSE;
    if (fcs != ZSTD_CONTENTSIZE_UNKNOWN) {
        if (fcs > limit)
            return TG_ETOO_BIG;
        hint = (size_t)fcs;
    }
    /* The decoder allocates the frame's window up front: keep a hostile
     * window near the size limit, but never refuse an ordinary stream. */
    while (wlog < ZSTD_WINDOWLOG_LIMIT_DEFAULT && ((size_t)1 << wlog) < limit)
        wlog++;
    if ((ret = obuf_init(&o, arena, limit, hint)))
        return ret;
    dctx = ZSTD_createDCtx();
    if (!dctx)
        return TG_ENOMEM;
    ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, wlog);
    for (;;) {
        ZSTD_outBuffer ob;
        size_t r;

        if ((ret = obuf_grow(&o)))
            break;
        ob.dst = o.p + o.len;
        ob.size = o.cap - o.len;
        ob.pos = 0;
        r = ZSTD_decompressStream(dctx, &ob, &ib);
        o.len += ob.pos;
        if (ZSTD_isError(r)) {
            switch (ZSTD_getErrorCode(r)) {
            case ZSTD_error_memory_allocation:
                ret = TG_ENOMEM;
                break;
            case ZSTD_error_frameParameter_windowTooLarge:
                ret = TG_ETOO_BIG;
                break;
            default:
                ret = TG_EPARSE;
            }
            break;
        }
        if (o.len >= o.max) {
            ret = TG_ETOO_BIG;
            break;
        }
        if (ib.pos == ib.size) {
            if (r == 0)
                break; /* last frame complete */
            if (ob.pos < ob.size) {
                ret = TG_EPARSE; /* input ended inside a frame */
                break;
            }
        }
    }
    ZSTD_freeDCtx(dctx);
    if (ret)
        return ret;
    *out = o.p;
    *outlen = o.len;
    return 0;
}

size_t tg_decompress_cap(size_t inlen, size_t limit, uint64_t max_ratio, size_t floor)
{
    size_t cap;

    if (!max_ratio)
        return limit;
    cap = inlen > SIZE_MAX / max_ratio ? SIZE_MAX : inlen * (size_t)max_ratio;
    if (cap < floor)
        cap = floor;
    return cap < limit ? cap : limit;
}

int tg_decompress(enum tg_compression c, const uint8_t *in, size_t inlen, size_t limit,
                  tg_arena *arena, uint8_t **out, size_t *outlen)
{
    static const uint8_t empty[1];

    if (!arena || !out || !outlen || (inlen && !in))
        return TG_EINVAL;
    if (!in)
        in = empty;
    switch (c) {
    case TG_COMP_NONE:
        if (inlen > limit)
            return TG_ETOO_BIG;
        *out = tg_arena_alloc(arena, inlen ? inlen : 1);
        if (!*out)
            return TG_ETOO_BIG;
        memcpy(*out, in, inlen);
        *outlen = inlen;
        return 0;
    case TG_COMP_GZIP:
    case TG_COMP_DEFLATE:
        return inflate_all(c, in, inlen, limit, arena, out, outlen);
    case TG_COMP_ZSTD:
        return zstd_all(in, inlen, limit, arena, out, outlen);
    }
    return TG_EUNSUPPORTED;
}

/* ---- compression -------------------------------------------------------- */

static int deflate_all(int wbits, int level, const uint8_t *in, size_t inlen,
                       uint8_t **out, size_t *outlen)
{
    z_stream zs;
    size_t cap, in_off = 0;
    uint8_t *buf;
    int rc;

    memset(&zs, 0, sizeof(zs));
    if (level == 0)
        level = Z_DEFAULT_COMPRESSION;
    if (level > Z_BEST_COMPRESSION)
        level = Z_BEST_COMPRESSION;
    if (level < Z_DEFAULT_COMPRESSION)
        level = Z_DEFAULT_COMPRESSION;
    if (deflateInit2(&zs, level, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return TG_ENOMEM;
    /* deflateBound takes a uLong; beyond it, add the stored-block
     * overhead ourselves. */
    cap = inlen <= ULONG_MAX / 2 ? deflateBound(&zs, (uLong)inlen)
                                 : inlen + inlen / 1000 + 64;
    buf = malloc(cap ? cap : 1);
    if (!buf) {
        deflateEnd(&zs);
        return TG_ENOMEM;
    }
    zs.next_out = buf;
    for (;;) {
        size_t produced, chunk;
        int flush;

        if (zs.avail_in == 0 && in_off < inlen) {
            chunk = inlen - in_off > UINT_MAX ? UINT_MAX : inlen - in_off;
            zs.next_in = (Bytef *)(uintptr_t)(in + in_off);
            zs.avail_in = (uInt)chunk;
            in_off += chunk;
        }
        flush = in_off == inlen ? Z_FINISH : Z_NO_FLUSH;
        produced = (size_t)(zs.next_out - buf);
        zs.avail_out = cap - produced > UINT_MAX ? UINT_MAX : (uInt)(cap - produced);
        rc = deflate(&zs, flush);
        if (rc == Z_STREAM_END)
            break;
        if ((rc != Z_OK && rc != Z_BUF_ERROR) || (size_t)(zs.next_out - buf) >= cap) {
            free(buf);
            deflateEnd(&zs);
            return TG_ENOMEM;
        }
    }
    *outlen = (size_t)(zs.next_out - buf);
    *out = buf;
    deflateEnd(&zs);
    return 0;
}

int tg_compress(enum tg_compression c, int level, const uint8_t *in, size_t inlen,
                uint8_t **out, size_t *outlen)
{
    static const uint8_t empty[1];

    if (!out || !outlen || (inlen && !in))
        return TG_EINVAL;
    if (!in)
        in = empty;
    switch (c) {
    case TG_COMP_NONE:
        *out = malloc(inlen ? inlen : 1);
        if (!*out)
            return TG_ENOMEM;
        memcpy(*out, in, inlen);
        *outlen = inlen;
        return 0;
    case TG_COMP_GZIP:
        return deflate_all(16 + MAX_WBITS, level, in, inlen, out, outlen);
    case TG_COMP_DEFLATE:
        return deflate_all(MAX_WBITS, level, in, inlen, out, outlen);
    case TG_COMP_ZSTD: {
        size_t cap = ZSTD_compressBound(inlen), n;
        uint8_t *buf;
        if (ZSTD_isError(cap))
            return TG_ETOO_BIG;
        buf = malloc(cap ? cap : 1);
        if (!buf)
            return TG_ENOMEM;
        n = ZSTD_compress(buf, cap, in, inlen, level ? level : ZSTD_CLEVEL_DEFAULT);
        if (ZSTD_isError(n)) {
            free(buf);
            return TG_ENOMEM;
        }
        *out = buf;
        *outlen = n;
        return 0;
    }
    }
    return TG_EUNSUPPORTED;
}

/* ---- a reusable zstd context ---------------------------------------------- */

struct tg_zstd_ctx {
    ZSTD_CCtx *cctx;
    int level;
};

tg_zstd_ctx *tg_zstd_ctx_new(int level)
{
    tg_zstd_ctx *z = calloc(1, sizeof(*z));

    if (!z)
        return NULL;
    z->cctx = ZSTD_createCCtx();
    if (!z->cctx) {
        free(z);
        return NULL;
    }
    z->level = level ? level : ZSTD_CLEVEL_DEFAULT;
    return z;
}

void tg_zstd_ctx_free(tg_zstd_ctx *z)
{
    if (!z)
        return;
    ZSTD_freeCCtx(z->cctx);
    free(z);
}

int tg_zstd_ctx_compress(tg_zstd_ctx *z, const uint8_t *in, size_t inlen, tg_arena *arena,
                         uint8_t **out, size_t *outlen)
{
    size_t cap = ZSTD_compressBound(inlen), n;
    uint8_t *buf;

    if (ZSTD_isError(cap))
        return TG_ETOO_BIG;
    buf = tg_arena_alloc(arena, cap);
    if (!buf)
        return TG_ENOMEM;
    n = ZSTD_compressCCtx(z->cctx, buf, cap, in, inlen, z->level);
    if (ZSTD_isError(n))
        return TG_EIO;
    *out = buf;
    *outlen = n;
    return 0;
}
