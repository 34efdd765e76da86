#include "tg_wire.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zstd.h>

#include "tg_err.h"
#include "tg_time.h"
#include "wire_v3.h"

/* The TOLLGATE_TEST_* environment hooks exist only in test builds
 * (TG_TEST_HOOKS, see CMakeLists.txt): a release binary holds neither
 * their names nor the code that reads them. */
#ifdef TG_TEST_HOOKS
#define TEST_HOOK(name) getenv("TOLLGATE_TEST_" name)
#else
#define TEST_HOOK(name) ((const char *)NULL)
#endif

void tg_protocol_range(unsigned *min, unsigned *max)
{
    const char *h = TEST_HOOK("PROTOCOL");
    unsigned long a, b;
    char *end;

    *min = TG_PROTOCOL_MIN;
    *max = TG_PROTOCOL_MAX;
    if (!h || !*h)
        return;
    errno = 0;
    a = strtoul(h, &end, 10);
    if (errno || end == h)
        return;
    b = a;
    if (*end == '-') {
        const char *p = end + 1;
        b = strtoul(p, &end, 10);
        if (errno || end == p)
            return;
    }
    if (*end || a == 0 || b < a || b > 100)
        return;
    *min = (unsigned)a;
    *max = (unsigned)b;
}

int tg_zstd_compress(const uint8_t *in, size_t len, int level, uint8_t **out,
                     size_t *outlen)
{
    size_t cap = ZSTD_compressBound(len), n;
    uint8_t *buf = malloc(cap ? cap : 1);

    if (!buf)
        return TG_ENOMEM;
    n = ZSTD_compress(buf, cap, in, len, level > 0 ? level : 3);
    if (ZSTD_isError(n)) {
        free(buf);
        return TG_EIO;
    }
    *out = buf;
    *outlen = n;
    return 0;
}

int tg_zstd_decompress(const uint8_t *in, size_t len, size_t limit, tg_arena *arena,
                       uint8_t **out, size_t *outlen)
{
    unsigned long long fsize = ZSTD_getFrameContentSize(in, len);
    unsigned long long csize = ZSTD_findFrameCompressedSize(in, len);
    uint8_t *buf;
    size_t n;

    /* Every tollgate producer records the content size in the frame; one
     * without it (or with trailing bytes) is refused rather than streamed
     * into an allocation sized by the limit. */
    if (fsize == ZSTD_CONTENTSIZE_ERROR || fsize == ZSTD_CONTENTSIZE_UNKNOWN ||
        ZSTD_isError(csize) || csize != len)
        return TG_EPARSE;
    if (fsize > limit)
        return TG_ETOO_BIG;
    buf = tg_arena_alloc(arena, fsize ? (size_t)fsize : 1);
    if (!buf)
        return TG_ENOMEM;
    n = ZSTD_decompress(buf, (size_t)fsize, in, len);
    if (ZSTD_isError(n) || n != fsize)
        return TG_EPARSE;
    *out = buf;
    *outlen = n;
    return 0;
}

/* Rewrites times between the two layouts. to_abs: offsets -> absolute. */
static void set_layout(Tollgate__V1__Batch *b, int to_abs)
{
    uint64_t base = b->base_time_unix_nano;

    for (size_t i = 0; i < b->n_spans; i++) {
        Tollgate__V1__ServiceSpans *ss = b->spans[i];
        for (size_t j = 0; j < ss->n_spans; j++) {
            Tollgate__V1__SpanSummary *sp = ss->spans[j];
            if (to_abs) {
                if (!sp->start_time_unix_nano)
                    sp->start_time_unix_nano = base + (uint64_t)sp->start_offset_ns;
                sp->start_offset_ns = 0;
            } else {
                sp->start_offset_ns = (int64_t)(sp->start_time_unix_nano - base);
                sp->start_time_unix_nano = 0;
            }
        }
    }
    for (size_t i = 0; i < b->n_metrics; i++) {
        Tollgate__V1__MetricPoint *p = b->metrics[i];
        if (to_abs) {
            if (!p->time_unix_nano)
                p->time_unix_nano = base + (uint64_t)p->time_offset_ns;
            p->time_offset_ns = 0;
        } else {
            p->time_offset_ns = (int64_t)(p->time_unix_nano - base);
            p->time_unix_nano = 0;
        }
    }
}

int tg_wire_pack_batch(Tollgate__V1__Batch *b, unsigned version, int level, uint8_t **out,
                       size_t *outlen, size_t *rawlen)
{
    size_t n;
    uint8_t *raw;
    unsigned saved = b->protocol_version;
    Tollgate__V1__Batch coded, *pb = b;
    tg_arena a;
    int rc;

    if (version < 1 || version > 3)
        return TG_EINVAL;
    tg_arena_init(&a, 64 * 1024, 0);
    b->protocol_version = version;
    if (version == 1)
        set_layout(b, 1);
    if (version == 3) {
        rc = tg_wire_v3_code(b, &a, &coded);
        if (rc)
            goto out;
        pb = &coded;
    }
    n = protobuf_c_message_get_packed_size(&pb->base);
    raw = malloc(n ? n : 1);
    if (!raw) {
        rc = TG_ENOMEM;
        goto out;
    }
    protobuf_c_message_pack(&pb->base, raw);
    rc = tg_zstd_compress(raw, n, level, out, outlen);
    free(raw);
    if (rc == 0 && rawlen)
        *rawlen = n;
out:
    tg_arena_destroy(&a);
    if (version == 1)
        set_layout(b, 0);
    b->protocol_version = saved;
    return rc;
}

int tg_wire_unpack_batch(const uint8_t *z, size_t zlen, size_t limit, tg_arena *arena,
                         Tollgate__V1__Batch **out, size_t *rawlen)
{
    uint8_t *raw;
    size_t n;
    Tollgate__V1__Batch *b;
    int rc = tg_zstd_decompress(z, zlen, limit, arena, &raw, &n);

    if (rc)
        return rc;
    b = tollgate__v1__batch__unpack(&arena->pb, n, raw);
    if (!b)
        return TG_EPARSE;
    /* The batch says how it is coded; the upload's version only says what
     * the centre agreed to read, and an outbox may hold batches of an
     * older version. */
    if (b->protocol_version == 3 && (rc = tg_wire_v3_resolve(b, arena, limit - n)) != 0)
        return rc;
    set_layout(b, 1);
    *out = b;
    if (rawlen)
        *rawlen = n;
    return 0;
}

int tg_wire_transcode(const uint8_t *z, size_t zlen, unsigned version, int level,
                      uint8_t **out, size_t *outlen, size_t *rawlen)
{
    tg_arena a;
    Tollgate__V1__Batch *b;
    int rc;

    tg_arena_init(&a, 64 * 1024, 0);
    rc = tg_wire_unpack_batch(z, zlen, (size_t)1 << 30, &a, &b, NULL);
    if (rc == 0) {
        /* unpack made times absolute; pack expects canonical offsets. */
        set_layout(b, 0);
        rc = tg_wire_pack_batch(b, version, level, out, outlen, rawlen);
    }
    tg_arena_destroy(&a);
    return rc;
}

static int64_t clock_skew;
static pthread_once_t clock_skew_once = PTHREAD_ONCE_INIT;

static void load_skew(void)
{
    const char *h = TEST_HOOK("CLOCK_SKEW_MS");

    if (h && *h) {
        char *end;
        long long ms;
        errno = 0;
        ms = strtoll(h, &end, 10);
        if (!errno && !*end && ms > -86400000LL * 365 && ms < 86400000LL * 365)
            clock_skew = (int64_t)ms * 1000000;
    }
}

static int64_t tg_fwd_clock_skew_ns(void)
{
    /* Read once: the hook is fixed for the life of the process. */
    pthread_once(&clock_skew_once, load_skew);
    return clock_skew;
}

/* The fast test clock: TOLLGATE_TEST_CLOCK_RATE=N (1 to 100000) makes the
 * forwarder's clocks run N times faster than real time from the first
 * reading on, so a test can stand for an hour or a day of a partition in a
 * minute (the failure-budget tests). */
static uint64_t clock_rate = 1, clock_base_wall, clock_base_mono;
static pthread_once_t clock_rate_once = PTHREAD_ONCE_INIT;

static void load_rate(void)
{
    const char *h = TEST_HOOK("CLOCK_RATE");

    clock_base_wall = tg_wall_ns();
    clock_base_mono = tg_mono_ns();
    if (h && *h) {
        char *end;
        unsigned long long r;
        errno = 0;
        r = strtoull(h, &end, 10);
        if (!errno && !*end && r >= 1 && r <= 100000)
            clock_rate = r;
    }
}

static uint64_t scaled(uint64_t now, uint64_t base)
{
    return now >= base ? base + (now - base) * clock_rate : now;
}

uint64_t tg_fwd_now_ns(void)
{
    pthread_once(&clock_rate_once, load_rate);
    return scaled(tg_wall_ns(), clock_base_wall) + (uint64_t)tg_fwd_clock_skew_ns();
}

uint64_t tg_fwd_mono_ns(void)
{
    pthread_once(&clock_rate_once, load_rate);
    return scaled(tg_mono_ns(), clock_base_mono);
}
