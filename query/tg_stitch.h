/* Stitching one trace from the fragments each site holds.
 *
 * A request that crossed three sites is stored as three fragments, one per
 * site, each with parents the others hold. The centre asks every site for
 * the trace id and stitches the answers into one OTLP/JSON TracesData:
 *  - every resource is tagged with the site it came from
 *    (`tollgate.site`), unless it already says;
 *  - spans are deduplicated by (span id, kind), first copy wins, as Tempo
 *    does (a site answering twice, or a span forwarded twice, shows once);
 *  - clock skew between sites is corrected the way Jaeger's adjuster does,
 *    with the site as the host key: a child span on another site that does
 *    not fit inside its parent is shifted to sit centred in it, the shift
 *    inherited by that child's same-site descendants. Shifts larger than
 *    max_skew_ns are not applied, only annotated. Every shifted span
 *    carries `tollgate.skew.adjusted_ns` (the shift applied) and, when the
 *    centre has measured it, `tollgate.skew.site_offset_ns` (the site's
 *    clock offset as the centre measured it from the forwarding
 *    handshakes): adjusted data is always visibly marked.
 *
 * Ownership: the parts are read, never changed; the result is a new
 * document owned by the caller (json_decref). */
#ifndef TG_STITCH_H
#define TG_STITCH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *site;          /* the site that answered */
    const json_t *traces_data; /* its OTLP/JSON TracesData, or NULL */
    int64_t offset_ns;         /* site clock minus centre clock, if known */
    int offset_known;
} tg_stitch_part;

typedef struct {
    int64_t max_skew_ns; /* 0: never shift, only stitch */
} tg_stitch_options;

typedef struct {
    size_t spans;        /* spans in the result */
    size_t duplicates;   /* spans dropped as copies of (span id, kind) */
    size_t adjusted;     /* spans shifted for skew */
    size_t skew_refused; /* shifts larger than max_skew_ns, not applied */
    size_t sites;        /* parts that contributed at least one span */
    size_t roots;        /* spans without a parent in the trace */
} tg_stitch_stats;

/* The stitched TracesData (a new reference), or NULL when out of memory.
 * A part whose document is not TracesData-shaped contributes nothing. */
json_t *tg_stitch_trace(const tg_stitch_part *parts, size_t n, const tg_stitch_options *o,
                        tg_stitch_stats *stats);

#endif
