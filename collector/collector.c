/* tollgate collector: the site daemon.
 *
 * One libuv loop thread runs the three listeners (OTLP/gRPC, OTLP/HTTP,
 * site API), decoding and indexing; one writer thread commits to LMDB
 * (committer.c); libuv's pool answers API reads. Shutdown on SIGTERM or
 * SIGINT: stop accepting, let every queued request commit and be
 * answered, close the store, exit 0. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <uv.h>

#include "../cmd/commands.h"
#include "api.h"
#include "committer.h"
#include "ingest.h"
#include "receivers.h"
#include "recv_grpc.h"
#include "stats.h"
#include "store.h"
#include "tg_config.h"
#include "tg_fwd_glue.h"
#include "tg_err.h"
#include "tg_http.h"
#include "tg_log.h"

typedef struct collector {
    uv_loop_t *loop;
    tg_collector_config cfg;
    tg_store *store;
    tg_committer *committer;
    tg_ingest *ingest;
    tg_stats stats;
    tg_receivers rx;
    tg_api api;
    tg_grpc_server *grpc;
    tg_http_server *http;
    tg_http_server *api_http;
    uv_signal_t sigterm, sigint, sighup;
    uv_timer_t retention;
    uv_work_t retention_work;
    int retention_running;
    int draining;
    int pending_stops;
    int exit_code;
    tg_forward_link *fwd; /* forwarding to the central view, or NULL */
} collector;

static int mkdir_p(const char *path)
{
    char buf[1024];
    size_t len = strlen(path);

    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0750) != 0 && errno != EEXIST)
                return -1;
            buf[i] = c;
        }
    }
    return 0;
}

static void commit_observed(void *ctx, double seconds, size_t records, size_t bytes)
{
    collector *c = ctx;

    (void)records;
    (void)bytes;
    tg_stats_observe_commit(&c->stats, seconds);
    /* New records are durable: let the forwarder summarise them. */
    tg_forward_link_kick(c->fwd);
}

static void close_cb_noop(uv_handle_t *h)
{
    (void)h;
}

static void finish_shutdown(collector *c)
{
    tg_committer_destroy(c->committer);
    c->committer = NULL;
    tg_ingest_destroy(c->ingest);
    c->ingest = NULL;
    uv_close((uv_handle_t *)&c->sigterm, close_cb_noop);
    uv_close((uv_handle_t *)&c->sigint, close_cb_noop);
    uv_close((uv_handle_t *)&c->sighup, close_cb_noop);
    uv_close((uv_handle_t *)&c->retention, close_cb_noop);
}

static void api_stopped(void *ctx)
{
    collector *c = ctx;

    c->api_http = NULL;
    finish_shutdown(c);
}

static void committer_drained(void *ctx)
{
    collector *c = ctx;

    tg_info("drained", "site=%s", c->cfg.site);
    if (c->api_http)
        tg_http_server_stop(c->api_http, api_stopped, c);
    else
        finish_shutdown(c);
}

/* Both receivers have stopped accepting and answered what they had. */
static void receiver_stopped(void *ctx)
{
    collector *c = ctx;

    if (--c->pending_stops > 0)
        return;
    tg_committer_drain(c->committer, committer_drained, c);
}

static void begin_drain(collector *c, const char *why)
{
    if (c->draining)
        return;
    c->draining = 1;
    c->api.ready = 0;
    tg_info("shutting down", "reason=%s", why);
    uv_timer_stop(&c->retention);
    c->pending_stops = 1; /* released below, after both stops are started */
    if (c->grpc) {
        c->pending_stops++;
        tg_grpc_server_stop(c->grpc, receiver_stopped, c);
    }
    if (c->http) {
        c->pending_stops++;
        tg_http_server_stop(c->http, receiver_stopped, c);
    }
    receiver_stopped(c);
}

static void on_signal(uv_signal_t *h, int signum)
{
    collector *c = h->data;

    if (signum == SIGHUP) {
        tg_info("SIGHUP received", "action=%s", "nothing to reload yet");
        return;
    }
    begin_drain(c, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void retention_work(uv_work_t *w)
{
    collector *c = w->data;
    int rc = tg_store_evict(c->store, (uint64_t)time(NULL));

    if (rc)
        tg_warn("retention pass failed", "err=%s", tg_err_name(rc));
}

static void retention_done(uv_work_t *w, int status)
{
    collector *c = w->data;

    (void)status;
    c->retention_running = 0;
}

/* Age-based retention also has to run when no writes arrive. */
static void on_retention_timer(uv_timer_t *t)
{
    collector *c = t->data;

    if (c->retention_running || c->draining)
        return;
    c->retention_running = 1;
    c->retention_work.data = c;
    if (uv_queue_work(c->loop, &c->retention_work, retention_work, retention_done) != 0)
        c->retention_running = 0;
}

static int start_listeners(collector *c)
{
    tg_grpc_options gopt;
    tg_http_options hopt, aopt;
    int err = 0;

    tg_grpc_options_default(&gopt);
    gopt.max_concurrent_streams = c->cfg.grpc_max_concurrent_streams;
    gopt.max_message_bytes = c->cfg.grpc_max_message_bytes;
    gopt.max_connections = c->cfg.grpc_max_connections;
    gopt.idle_timeout_ms = c->cfg.grpc_idle_timeout_ms;
    gopt.request_timeout_ms = c->cfg.grpc_request_timeout_ms;
    c->grpc = tg_grpc_server_start(c->loop, c->cfg.otlp_grpc_listen, &gopt,
                                   tg_receivers_grpc, &c->rx, &err);
    if (!c->grpc) {
        fprintf(stderr, "tollgate collector: cannot listen for OTLP/gRPC on %s: %s\n",
                c->cfg.otlp_grpc_listen, err ? tg_strerror(err) : "error");
        return -1;
    }

    tg_http_options_default(&hopt);
    hopt.max_body_bytes = c->cfg.http_max_body_bytes;
    hopt.max_connections = c->cfg.http_max_connections;
    hopt.header_timeout_ms = c->cfg.http_header_timeout_ms;
    hopt.body_timeout_ms = c->cfg.http_body_timeout_ms;
    hopt.idle_timeout_ms = c->cfg.http_idle_timeout_ms;
    c->http = tg_http_server_start(c->loop, c->cfg.otlp_http_listen, &hopt, tg_receivers_http,
                                   &c->rx, &err);
    if (!c->http) {
        fprintf(stderr, "tollgate collector: cannot listen for OTLP/HTTP on %s: %s\n",
                c->cfg.otlp_http_listen, err ? tg_strerror(err) : "error");
        return -1;
    }

    tg_http_options_default(&aopt);
    aopt.max_body_bytes = 1u << 20;
    c->api_http = tg_http_server_start(c->loop, c->cfg.api_listen, &aopt, tg_api_handle,
                                       &c->api, &err);
    if (!c->api_http) {
        fprintf(stderr, "tollgate collector: cannot listen for the site API on %s: %s\n",
                c->cfg.api_listen, err ? tg_strerror(err) : "error");
        return -1;
    }
    return 0;
}

static enum tg_log_level parse_level(const char *s)
{
    if (strcmp(s, "debug") == 0)
        return TG_LOG_DEBUG;
    if (strcmp(s, "warn") == 0)
        return TG_LOG_WARN;
    if (strcmp(s, "error") == 0)
        return TG_LOG_ERROR;
    return TG_LOG_INFO;
}

static void stop_started(collector *c)
{
    /* Start-up failed after some listeners were up: close what exists. */
    c->draining = 1;
    if (c->grpc)
        tg_grpc_server_stop(c->grpc, NULL, NULL);
    if (c->http)
        tg_http_server_stop(c->http, NULL, NULL);
    if (c->api_http)
        tg_http_server_stop(c->api_http, NULL, NULL);
    uv_run(c->loop, UV_RUN_DEFAULT);
}

static char *fwd_metrics(void *ctx, size_t *len)
{
    return tg_forwarder_render_metrics(tg_forward_link_forwarder(ctx), len);
}

static char *fwd_status(void *ctx)
{
    return tg_forwarder_status_json(tg_forward_link_forwarder(ctx));
}

int tg_cmd_collector(int argc, char **argv)
{
    static collector c; /* one per process; static keeps it off the stack */
    tg_store_options sopt;
    tg_committer_options copt;
    tg_ingest_options iopt;
    char err[1200];
    int rc, code;

    memset(&c, 0, sizeof(c));
    rc = tg_config_from_args(argc, argv, &c.cfg, err, sizeof(err));
    if (rc == 1)
        return 0;
    if (rc) {
        fprintf(stderr, "tollgate collector: %s\n", err);
        return 2;
    }
    tg_log_set_level(parse_level(c.cfg.log_level));
    signal(SIGPIPE, SIG_IGN);
    /* Requests of hundreds of KiB are allocated and freed continuously; with
     * glibc's defaults each one is an mmap/munmap or a heap trim and
     * re-fault, which measured about 7x slower on 256 KiB gRPC messages.
     * Keep freed memory for reuse instead; the bound on what is held comes
     * from the request-size and queue limits, not from trimming. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);

    if (mkdir_p(c.cfg.data_dir) != 0) {
        fprintf(stderr, "tollgate collector: cannot create data directory %s: %s\n",
                c.cfg.data_dir, strerror(errno));
        return 1;
    }
    tg_store_options_default(&sopt);
    sopt.max_bytes = c.cfg.store_max_bytes;
    sopt.max_age_sec = c.cfg.store_max_age_sec;
    if (c.cfg.store_initial_map_size)
        sopt.initial_map_size = c.cfg.store_initial_map_size;
    sopt.zstd_level = c.cfg.store_zstd_level;
    sopt.no_sync = !c.cfg.store_sync;
    c.store = tg_store_open(c.cfg.data_dir, &sopt, &rc);
    if (!c.store) {
        fprintf(stderr, "tollgate collector: cannot open the store in %s: %s\n",
                c.cfg.data_dir, tg_strerror(rc));
        return 1;
    }

    if (c.cfg.central_url[0]) {
        tg_forward_link_options fo;
        const char *config_file = NULL;
        for (int i = 1; i + 1 < argc; i++)
            if (strcmp(argv[i], "--config") == 0)
                config_file = argv[i + 1];
        memset(&fo, 0, sizeof(fo));
        fo.store = c.store;
        fo.site = c.cfg.site;
        fo.data_dir = c.cfg.data_dir;
        fo.central_url = c.cfg.central_url;
        fo.token_file = c.cfg.central_token_file;
        fo.config_file = config_file;
        fo.software_version = TG_VERSION;
        c.fwd = tg_forward_link_start(&fo, err, sizeof(err));
        if (!c.fwd) {
            fprintf(stderr, "tollgate collector: %s\n", err);
            tg_store_close(c.store);
            return 2;
        }
        c.api.extra_metrics = fwd_metrics;
        c.api.extra_status_json = fwd_status;
        c.api.extra_ctx = c.fwd;
    }

    c.loop = uv_default_loop();
    memset(&copt, 0, sizeof(copt));
    copt.max_pending_bytes = c.cfg.max_pending_bytes;
    c.committer = tg_committer_create(c.loop, c.store, &copt, commit_observed, &c);
    memset(&iopt, 0, sizeof(iopt));
    iopt.max_decompressed_bytes = c.cfg.max_decompressed_bytes;
    c.ingest = c.committer ? tg_ingest_create(c.committer, &c.stats, &iopt) : NULL;
    if (!c.ingest) {
        fprintf(stderr, "tollgate collector: out of memory at start-up\n");
        tg_forward_link_stop(c.fwd);
        tg_store_close(c.store);
        return 1;
    }
    c.rx.ing = c.ingest;
    c.rx.retry_after_sec = c.cfg.retry_after_sec ? c.cfg.retry_after_sec : 1;
    c.api.loop = c.loop;
    c.api.store = c.store;
    c.api.stats = &c.stats;
    c.api.committer = c.committer;
    c.api.site = c.cfg.site;
    c.api.started_unix = (uint64_t)time(NULL);

    if (start_listeners(&c) != 0) {
        stop_started(&c);
        tg_committer_drain(c.committer, NULL, NULL);
        uv_run(c.loop, UV_RUN_DEFAULT);
        tg_committer_destroy(c.committer);
        tg_ingest_destroy(c.ingest);
        tg_forward_link_stop(c.fwd);
        tg_store_close(c.store);
        return 1;
    }

    uv_signal_init(c.loop, &c.sigterm);
    uv_signal_init(c.loop, &c.sigint);
    uv_signal_init(c.loop, &c.sighup);
    c.sigterm.data = c.sigint.data = c.sighup.data = &c;
    uv_signal_start(&c.sigterm, on_signal, SIGTERM);
    uv_signal_start(&c.sigint, on_signal, SIGINT);
    uv_signal_start(&c.sighup, on_signal, SIGHUP);
    uv_timer_init(c.loop, &c.retention);
    c.retention.data = &c;
    uv_timer_start(&c.retention, on_retention_timer, 60000, 60000);

    c.api.ready = 1;
    tg_info("collector started",
            "site=%s data=%s otlp_grpc=%s otlp_http=%s api=%s version=%s", c.cfg.site,
            c.cfg.data_dir, c.cfg.otlp_grpc_listen, c.cfg.otlp_http_listen,
            c.cfg.api_listen, TG_VERSION);

    uv_run(c.loop, UV_RUN_DEFAULT);

    code = c.exit_code;
    /* Everything acknowledged is committed; the forwarder flushes what it
     * summarised and stops before the store it reads closes. */
    tg_forward_link_stop(c.fwd);
    tg_store_close(c.store);
    uv_loop_close(c.loop);
    tg_info("collector stopped", "exit=%d", code);
    return code;
}
