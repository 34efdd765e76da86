/* Private to forwarder.c and sender.c. */
#ifndef TG_FWD_INTERNAL_H
#define TG_FWD_INTERNAL_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>

#include "tg_forward.h"
#include "tg_outbox.h"
#include "tg_summary.h"

#define TG_CLOCK_SAMPLES 8

typedef struct clock_sample {
    int64_t offset; /* site minus centre, ns */
    uint64_t delay; /* round trip minus the centre's time, ns */
} clock_sample;

struct tg_forwarder {
    tg_forward_config cfg;
    char site[128];
    char url[1024];
    char upload_url[1100];
    char token[512];
    char software_version[32];
    tg_fwd_source src;
    const tg_view_desc *view;
    void *view_ctx;
    tg_view_allowlist allow; /* for the built-in view */
    const char *allow_ptrs[TG_FWD_MAX_ALLOW];

    tg_outbox *outbox;
    tg_summarizer *sum;

    pthread_mutex_t mu; /* guards everything below and the condvars */
    pthread_cond_t work_cv, send_cv;
    int stop;
    int work_kicked, send_kicked;
    pthread_t worker, sender, witness;
    int worker_started, sender_started, witness_started;
    pthread_cond_t witness_cv;
    int witness_kicked;

    /* worker figures */
    uint64_t requests_read, requests_skipped, decode_failures, view_failures;
    uint64_t mem_cursor, source_last;
    uint64_t mem_decode_peak, mem_summary_peak;
    /* A fresh outbox (cursor 0) summarises nothing until the centre has
     * said, in its first answer, how far it already holds this site's
     * source: a site that lost its outbox resumes there (sender.c). */
    int resume_pending;
    uint64_t resumed_from;
    /* the outbox's last append (worker) or ledger write (sender) failed */
    int outbox_put_failed, ledger_failed;
    char outbox_why[160];
    uint64_t n_spans, n_red, n_logs, n_metrics, n_costs, batches_appended;
    uint64_t names_raw, names_sent; /* distinct span names per period, summed */
    tg_egress_tally tally_total;    /* since start, for /metrics */
    char policy_version_now[96];

    /* fill rate of the outbox, bytes per second (EWMA) */
    double fill_rate;
    uint64_t fill_last_bytes, fill_last_ns, fill_last_real_ns;

    /* sender figures */
    unsigned version;    /* negotiated protocol version */
    unsigned vmin, vmax; /* what this site speaks */
    char central_version[32];
    uint64_t uploads_accepted, uploads_duplicate, heartbeats, upload_errors;
    uint64_t auth_failures, version_refusals, wire_bytes, raw_bytes, batches_delivered;
    uint64_t last_contact_ns, last_contact_mono;
    uint64_t backoff_ms;
    clock_sample samples[TG_CLOCK_SAMPLES];
    size_t n_samples, next_sample;
    int clock_valid;
    int64_t clock_offset_ns;
    uint64_t clock_rtt_ns;
    int64_t server_cert_not_after, client_cert_not_after;
    char last_error[160];

    /* witness figures (witness_submit.c) */
    uint64_t witness_size, witness_cosigned_ns, witness_forks, witness_errors;
    char witness_error[160];
};

/* witness_submit.c: submits the log's checkpoints to the centre's witness
 * and proves its batches' leaves, on its own thread and HTTP handle so
 * forwarding never waits on it. */
void *tg_fwd_witness_main(void *arg);
/* Wakes the witness thread (a new checkpoint). */
void tg_fwd_witness_kick(tg_forwarder *f);

/* sender.c */
void *tg_fwd_sender_main(void *arg);
/* The health report sent with every upload (strings borrowed from f). */
void tg_fwd_fill_health(tg_forwarder *f, Tollgate__V1__SiteHealth *h);

/* A libcurl handle for talking to the centre as configured (timeouts,
 * TLS, aborted when the forwarder stops): the sender's and the witness
 * submitter's. NULL when libcurl cannot make one. */
CURL *tg_fwd__curl_handle(tg_forwarder *f);

#endif
