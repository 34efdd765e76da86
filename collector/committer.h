/* Group commit between the event loop and the store.
 *
 * Receivers submit records from the loop thread; a writer thread takes
 * everything queued, writes it in one tg_store_write() (one transaction,
 * one fsync), then completes each submission on the loop thread through
 * uv_async. A client is acknowledged only from that completion, so an
 * acknowledged request is always on disk.
 *
 * Backpressure: the queue is bounded in bytes; a submission that would
 * exceed it fails at once with TG_EBUSY (the receiver answers 429 /
 * RESOURCE_EXHAUSTED) and its callback is never called. */
#ifndef TG_COMMITTER_H
#define TG_COMMITTER_H

#include <uv.h>

#include "store.h"

typedef struct tg_committer tg_committer;

/* Called on the loop thread once the record is durable (status 0) or the
 * write failed (negative). */
typedef void (*tg_commit_cb)(void *ctx, int status);

typedef struct tg_committer_options {
    size_t max_pending_bytes; /* queue bound; default 32 MiB */
    size_t max_batch_bytes;   /* cap per transaction; default 16 MiB */
} tg_committer_options;

/* Commit latency observer, called on the writer thread after each
 * transaction with its duration and size (for /metrics). */
typedef void (*tg_commit_observer)(void *ctx, double seconds, size_t records,
                                   size_t bytes);

tg_committer *tg_committer_create(uv_loop_t *loop, tg_store *st,
                                  const tg_committer_options *opt, tg_commit_observer obs,
                                  void *obs_ctx);

/* Copies the record (data, index and classification) and queues it.
 * Returns 0, TG_EBUSY (queue full) or TG_ECLOSED (draining). */
int tg_committer_submit(tg_committer *c, const tg_store_record *rec, tg_commit_cb cb,
                        void *ctx);

/* A loop other than the committer's own that submits records (one ingest
 * loop of several, collector/loops.c): its callbacks run on its own loop
 * thread, woken by its own uv_async. Create it before the loop runs (or on
 * its thread); submit through it from that thread only. */
typedef struct tg_commit_port tg_commit_port;

tg_commit_port *tg_commit_port_create(tg_committer *c, uv_loop_t *loop);

/* As tg_committer_submit(), from the port's loop thread; cb runs there. */
int tg_committer_submit_port(tg_committer *c, tg_commit_port *port,
                             const tg_store_record *rec, tg_commit_cb cb, void *ctx);

/* Submissions through the port whose callback has not run yet. */
size_t tg_commit_port_outstanding(const tg_commit_port *port);

/* On the port's loop thread, once nothing is outstanding through it:
 * closes its handle and frees it when the loop runs the close. */
void tg_commit_port_close(tg_commit_port *port);

/* Bytes currently queued or being written. */
size_t tg_committer_pending_bytes(tg_committer *c);

/* Stops accepting, commits everything queued, completes every callback,
 * then calls done_cb on the loop thread. */
void tg_committer_drain(tg_committer *c, void (*done_cb)(void *ctx), void *ctx);

/* After drain: joins the thread, closes handles, frees. */
void tg_committer_destroy(tg_committer *c);

#endif
