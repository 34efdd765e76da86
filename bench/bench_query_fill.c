/* Fills one site's store for the federated query benchmark
 * (bench/bench-query.sh): REQUESTS stored requests of 1,000 spans each
 * (100 traces of 10 spans), written straight into the LMDB store the way
 * the committer does. Trace ids are the same at every site (site index
 * 0..2 holds spans 0-9, 10-19, 20-29 of a trace, parents chained across
 * sites), so a trace read at the centre crosses all three.
 *
 *   bench_query_fill DATA_DIR SITE_INDEX REQUESTS [IDS_FILE]
 *
 * IDS_FILE receives one trace id (hex) per line, a sample of 1,000. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"
#include "tg_arena.h"
#include "tg_codec.h"
#include "tg_err.h"
#include "tg_otlp.h"
#include "tg_strbuf.h"
#include "tg_time.h"

#define TRACES 100
#define SPANS_PER_TRACE 10

static void id_bytes(uint8_t *out, size_t n, uint64_t a, uint64_t b)
{
    uint64_t x = a * 0x9e3779b97f4a7c15ull ^ (b + 0x632be59bd9b4e019ull);

    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out[i] = (uint8_t)x;
    }
    out[0] |= 1; /* never all zero */
}

static void span_id(char *hex, unsigned site, uint64_t req, unsigned t, unsigned k)
{
    uint8_t b[8];
    id_bytes(b, 8, (req << 16) | (t << 4) | k, site + 1);
    tg_hex_encode(b, 8, hex);
}

int main(int argc, char **argv)
{
    tg_store_options so;
    tg_store *st;
    unsigned site;
    uint64_t requests, base = tg_wall_ns() - 3600ull * 1000000000ull;
    FILE *ids = NULL;
    int err = 0;
    double t0 = (double)tg_mono_ns();

    if (argc < 4) {
        fprintf(stderr,
                "usage: bench_query_fill DATA_DIR SITE_INDEX REQUESTS [IDS_FILE]\n");
        return 2;
    }
    site = (unsigned)strtoul(argv[2], NULL, 10);
    requests = strtoull(argv[3], NULL, 10);
    if (argc > 4 && !(ids = fopen(argv[4], "w"))) {
        perror(argv[4]);
        return 1;
    }
    tg_store_options_default(&so);
    so.no_sync = 1;
    so.max_bytes = 64ull << 30;
    so.max_age_sec = 30ull * 86400;
    if (!(st = tg_store_open(argv[1], &so, &err))) {
        fprintf(stderr, "cannot open the store in %s: %s\n", argv[1], tg_strerror(err));
        return 1;
    }
    for (uint64_t r = 0; r < requests; r++) {
        tg_strbuf b = {0};
        tg_arena a;
        tg_otlp_request req;
        tg_otlp_index ix;
        tg_store_record rec;
        uint8_t *pb;
        size_t pblen;
        char msg[256];

        tg_strbuf_printf(
            &b,
            "{\"resourceSpans\":[{\"resource\":{\"attributes\":["
            "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"svc-%u\"}}]},"
            "\"scopeSpans\":[{\"spans\":[",
            site);
        for (unsigned t = 0; t < TRACES; t++) {
            uint8_t tid[16];
            char thex[33], sid[17], pid[17];
            uint64_t start = base + (r * TRACES + t) * 1000000ull;

            id_bytes(tid, 16, r * TRACES + t, 7);
            tg_hex_encode(tid, 16, thex);
            if (ids && site == 0 &&
                (r * TRACES + t) % ((requests * TRACES) / 1000 + 1) == 0)
                fprintf(ids, "%s\n", thex);
            for (unsigned k = 0; k < SPANS_PER_TRACE; k++) {
                span_id(sid, site, r, t, k);
                if (k > 0)
                    span_id(pid, site, r, t, k - 1);
                else if (site > 0)
                    span_id(pid, site - 1, r, t, SPANS_PER_TRACE - 1);
                else
                    pid[0] = '\0';
                tg_strbuf_printf(
                    &b,
                    "%s{\"traceId\":\"%s\",\"spanId\":\"%s\"%s%s%s,\"name\":\"op-%u\","
                    "\"kind\":%u,\"startTimeUnixNano\":\"%" PRIu64
                    "\",\"endTimeUnixNano\":\"%" PRIu64
                    "\",\"attributes\":[{\"key\":\"http.route\",\"value\":{"
                    "\"stringValue\":"
                    "\"/api/v1/items/"
                    "%u\"}},{\"key\":\"http.response.status_code\",\"value\":"
                    "{\"intValue\":\"%u\"}}],\"status\":{\"code\":%u}}",
                    t || k ? "," : "", thex, sid, pid[0] ? ",\"parentSpanId\":\"" : "",
                    pid, pid[0] ? "\"" : "", k, k == 0 ? 2u : 3u,
                    (uint64_t)(start + k * 1000u),
                    (uint64_t)(start + k * 1000u + 900000u - k * 50000u), k,
                    (t % 100) ? 200u : 500u, (t % 100) ? 0u : 2u);
            }
        }
        tg_strbuf_printf(&b, "]}]}]}");
        if (b.oom) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
        tg_arena_init(&a, 1 << 20, 0);
        if (tg_otlp_decode(TG_SIGNAL_TRACES, TG_ENC_JSON, (const uint8_t *)b.p, b.len, &a,
                           &req, msg, sizeof(msg)) != 0 ||
            tg_otlp_pack(&req, &a, &pb, &pblen) != 0 ||
            tg_otlp_index_build(&req, &a, &ix) != 0) {
            fprintf(stderr, "request %" PRIu64 ": %s\n", r, msg);
            return 1;
        }
        memset(&rec, 0, sizeof(rec));
        rec.signal = TG_SIGNAL_TRACES;
        rec.data = pb;
        rec.len = pblen;
        rec.index = &ix;
        if ((err = tg_store_write(st, &rec, 1, NULL)) != 0) {
            fprintf(stderr, "store write: %s\n", tg_strerror(err));
            return 1;
        }
        tg_arena_destroy(&a);
        free(b.p);
    }
    tg_store_close(st);
    if (ids)
        fclose(ids);
    fprintf(stderr, "site %u: %" PRIu64 " spans in %.1f s\n", site,
            requests * TRACES * SPANS_PER_TRACE, ((double)tg_mono_ns() - t0) / 1e9);
    return 0;
}
