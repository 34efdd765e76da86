/* Merging the sites' answers to one search.
 *
 * Each site answers a TraceQL search with Tempo-shaped hits
 * ({"traces":[{"traceID","rootServiceName","rootTraceName",
 * "startTimeUnixNano","durationMs","spanSets":[...],"serviceStats":{}}]}).
 * A trace that crossed sites is a hit at several of them, each seeing its
 * own fragment; the centre keeps one hit per trace id, as Tempo's combiner
 * does: the earliest start, the longest duration, the first non-empty root
 * service and name (a fragment without the root says "root span not yet
 * received" until one with it arrives), every site's span sets, and the
 * larger of each service's counts. Each hit also lists the sites it came
 * from ("sites").
 *
 * The order is deterministic: newest start first, then trace id, so two
 * runs over the same data give the same page (Tempo's default combiner
 * stops at the first `limit` hits it happens to receive; ours waits for
 * every site the fan-out asked, then cuts). */
#ifndef TG_MERGE_H
#define TG_MERGE_H

#include <jansson.h>
#include <stddef.h>

typedef struct {
    const char *site;
    const json_t *answer; /* the site's {"traces":[...]} or NULL */
} tg_merge_part;

/* The merged hits as a new JSON array, at most `limit` (0: no limit), and
 * *total set to the number of distinct traces before the cut. NULL when
 * out of memory. */
json_t *tg_merge_search(const tg_merge_part *parts, size_t n, size_t limit,
                        size_t *total);

#endif
