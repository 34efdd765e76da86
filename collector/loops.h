/* The ingest loops: N event loops, each a thread with its own OTLP/gRPC
 * and OTLP/HTTP listening sockets (SO_REUSEPORT: the kernel spreads new
 * connections over them), its own tg_ingest (decode arena, counters) and
 * its own door into the one group committer (tg_commit_port). Loop 0 is
 * the collector's main loop, which also runs the site API, the signals and
 * the committer's completions; loops 1..N-1 run on threads of their own.
 *
 * A connection stays on the loop that accepted it: it is read, decoded,
 * classified, submitted and answered there, and nothing of a request
 * crosses loops but its committed copy. What the loops share is
 * thread-safe by construction: the rules slot (a reload swaps it
 * atomically, so SIGHUP reaches every loop at its next request), the
 * committer's queue, the TLS context, the listeners' caps
 * (tg_listen_caps) and the read-only tokens.
 *
 * Lifecycle, all called on the main loop's thread: tg_loops_start() binds
 * every loop's listeners (on failure nothing is left running); then
 * tg_loops_run() starts the threads; tg_loops_stop() stops every loop's
 * listeners, lets each answer what it holds, and calls done on the main
 * loop once every loop has finished; tg_loops_destroy() joins and frees. */
#ifndef TG_LOOPS_H
#define TG_LOOPS_H

#include <uv.h>

#include "committer.h"
#include "ingest.h"
#include "receivers.h"
#include "stats.h"
#include "tg_config.h"

typedef struct tg_loops tg_loops;

typedef struct tg_loops_options {
    uv_loop_t *main;                 /* loop 0 */
    const tg_collector_config *cfg;  /* must outlive the loops */
    unsigned n;                      /* loops, at least 1 */
    tg_committer *committer;         /* created on `main` */
    const tg_ingest_options *ingest; /* port is set here per loop */
    const tg_receivers *rx;          /* tokens, TLS, retry_after: copied per loop */
    tg_stats *main_stats;            /* loop 0 counts here (the API's own) */
} tg_loops_options;

/* NULL with a message for the operator in err (which listener, which
 * address, why). */
tg_loops *tg_loops_start(const tg_loops_options *o, char *err, size_t errlen);

/* Starts loops 1..N-1's threads. 0 or TG_ENOMEM (then call tg_loops_stop). */
int tg_loops_run(tg_loops *l);

/* Stops accepting on every loop; done(ctx) runs on the main loop once
 * every loop has answered what it holds and no commit submitted through a
 * loop's port is outstanding (loop 0's are the committer's to drain). */
void tg_loops_stop(tg_loops *l, void (*done)(void *ctx), void *ctx);

/* After done (or after a tg_loops_start that was never run, with the main
 * loop run once more to close its handles): joins the threads, frees. */
void tg_loops_destroy(tg_loops *l);

unsigned tg_loops_count(const tg_loops *l);

/* Loops 1..N-1's counters (loop 0 counts in main_stats), for /metrics;
 * *n is N-1. Valid until tg_loops_destroy(). */
const tg_stats *const *tg_loops_stats(const tg_loops *l, size_t *n);

#endif
