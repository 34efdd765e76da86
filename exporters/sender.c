/* The sender thread: ships outbox batches to the centre, one at a time and
 * in sequence order, over a reused libcurl easy handle (tg_forward.h says
 * why a thread). Each exchange also carries the site's health and yields a
 * clock sample; when there is nothing to send, a heartbeat does the same.
 *
 * Failures back off exponentially with jitter (half fixed, half random, so
 * sites partitioned together do not return in lockstep). A 426 answer
 * narrows the protocol version to the highest both ends speak and retries
 * at once. */
#include "fwd_internal.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tg_codec.h"
#include "tg_err.h"
#include "tg_log.h"
#include "tg_time.h"
#include "tg_wire.h"

#define MAX_RESPONSE (1u << 20)

typedef struct resp {
    uint8_t *p;
    size_t len;
    char supported[32]; /* X-Tollgate-Protocol-Supported */
    int too_big;
} resp;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    resp *r = ud;
    size_t n = size * nmemb;
    uint8_t *np;

    if (r->len + n > MAX_RESPONSE) {
        r->too_big = 1;
        return 0;
    }
    np = realloc(r->p, r->len + n + 1);
    if (!np)
        return 0;
    r->p = np;
    memcpy(r->p + r->len, ptr, n);
    r->len += n;
    return n;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
    resp *r = ud;
    size_t n = size * nitems;
    static const char name[] = "x-tollgate-protocol-supported:";

    if (n > sizeof(name) - 1 && strncasecmp(buf, name, sizeof(name) - 1) == 0) {
        size_t a = sizeof(name) - 1, b = n;
        while (a < b && (buf[a] == ' ' || buf[a] == '\t'))
            a++;
        while (b > a && (buf[b - 1] == '\r' || buf[b - 1] == '\n' || buf[b - 1] == ' '))
            b--;
        if (b - a < sizeof(r->supported)) {
            memcpy(r->supported, buf + a, b - a);
            r->supported[b - a] = '\0';
        }
    }
    return n;
}

/* Aborts a transfer in progress when the forwarder stops. */
static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                       curl_off_t un)
{
    tg_forwarder *f = ud;
    int stop;

    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    pthread_mutex_lock(&f->mu);
    stop = f->stop;
    pthread_mutex_unlock(&f->mu);
    return stop;
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

/* "Mar 15 12:00:00 2030 GMT" (OpenSSL's print) or "2030-03-15 12:00:00". */
static int64_t parse_cert_time(const char *s)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    if (strptime(s, "%b %d %H:%M:%S %Y", &tm) || strptime(s, "%Y-%m-%d %H:%M:%S", &tm))
        return (int64_t)timegm(&tm);
    return 0;
}

static void read_server_cert(tg_forwarder *f, CURL *c)
{
    struct curl_certinfo *ci = NULL;

    if (curl_easy_getinfo(c, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci ||
        ci->num_of_certs < 1)
        return; /* a reused connection reports nothing: keep what we had */
    for (struct curl_slist *l = ci->certinfo[0]; l; l = l->next) {
        if (strncmp(l->data, "Expire date:", 12) == 0) {
            int64_t t = parse_cert_time(l->data + 12);
            if (t) {
                pthread_mutex_lock(&f->mu);
                f->server_cert_not_after = t;
                pthread_mutex_unlock(&f->mu);
            }
        }
    }
}

static void set_error(tg_forwarder *f, const char *fmt, const char *detail)
{
    pthread_mutex_lock(&f->mu);
    snprintf(f->last_error, sizeof(f->last_error), fmt, detail);
    pthread_mutex_unlock(&f->mu);
}

/* NTP clock filter: of the last samples, the one with the least delay
 * has the least asymmetry error. */
static void clock_sample_add(tg_forwarder *f, uint64_t t1, uint64_t t2, uint64_t t3,
                             uint64_t t4)
{
    /* theta = centre - site = ((t2 - t1) + (t3 - t4)) / 2 */
    int64_t theta = ((int64_t)(t2 - t1) + (int64_t)(t3 - t4)) / 2;
    int64_t delay = (int64_t)(t4 - t1) - (int64_t)(t3 - t2);
    size_t best = 0;

    if (t2 == 0 || t3 == 0 || t3 < t2 || delay < 0)
        return;
    pthread_mutex_lock(&f->mu);
    f->samples[f->next_sample].offset = -theta;
    f->samples[f->next_sample].delay = (uint64_t)delay;
    f->next_sample = (f->next_sample + 1) % TG_CLOCK_SAMPLES;
    if (f->n_samples < TG_CLOCK_SAMPLES)
        f->n_samples++;
    for (size_t i = 1; i < f->n_samples; i++)
        if (f->samples[i].delay < f->samples[best].delay)
            best = i;
    f->clock_offset_ns = f->samples[best].offset;
    f->clock_rtt_ns = f->samples[best].delay;
    f->clock_valid = 1;
    pthread_mutex_unlock(&f->mu);
}

enum outcome {
    OUT_OK = 0,   /* accepted, duplicate or heartbeat */
    OUT_RETRY,    /* transport or server error: back off */
    OUT_VERSION,  /* renegotiated: retry now */
    OUT_REJECTED, /* the centre refuses this batch for good */
    OUT_AUTH,     /* token refused: back off (long) */
};

/* One exchange. With a batch, `body` is its zstd bytes in `version`. */
/* A fresh outbox learns from the centre's first answer where this site's
 * source was already forwarded (in an earlier epoch) and starts after it,
 * so a site that lost its outbox or cursor forwards nothing twice. A
 * position beyond the local store's last record means the store was reset
 * too: its records are new, and nothing is skipped. */
static void resume_from(tg_forwarder *f, uint64_t centre_cursor)
{
    uint64_t last = f->src.last_seq ? f->src.last_seq(f->src.ctx) : 0;

    pthread_mutex_lock(&f->mu);
    if (f->resume_pending) {
        if (centre_cursor > f->mem_cursor && centre_cursor <= last) {
            f->mem_cursor = centre_cursor;
            f->resumed_from = centre_cursor;
            tg_warn("fresh outbox: resuming after what the centre already holds",
                    "site=%s source_cursor=%llu", f->site,
                    (unsigned long long)centre_cursor);
        } else if (centre_cursor > last) {
            tg_warn("the centre holds a later source position than this site's store "
                    "(store reset?): forwarding from the start",
                    "site=%s centre_cursor=%llu store_last=%llu", f->site,
                    (unsigned long long)centre_cursor, (unsigned long long)last);
        }
        f->resume_pending = 0;
        pthread_cond_broadcast(&f->work_cv);
    }
    pthread_mutex_unlock(&f->mu);
}

static enum outcome exchange(tg_forwarder *f, CURL *c, uint64_t seq, const uint8_t *body,
                             size_t len, uint64_t raw_len, uint64_t *acked_through)
{
    Tollgate__V1__Upload up = TOLLGATE__V1__UPLOAD__INIT;
    Tollgate__V1__SiteHealth health = TOLLGATE__V1__SITE_HEALTH__INIT;
    Tollgate__V1__UploadAck *ack;
    struct curl_slist *hdr = NULL;
    char line[700], epoch_hex[33];
    uint8_t *buf;
    size_t n;
    resp r;
    long status = 0;
    CURLcode cc;
    uint64_t t1, t4;
    enum outcome out = OUT_RETRY;
    unsigned version;

    pthread_mutex_lock(&f->mu);
    version = f->version;
    pthread_mutex_unlock(&f->mu);
    tg_fwd_fill_health(f, &health);
    up.protocol_version = version;
    up.site = f->site;
    up.epoch.data = (uint8_t *)tg_outbox_epoch(f->outbox);
    up.epoch.len = 16;
    up.sequence = seq;
    up.health = &health;
    if (body) {
        up.batch_zstd.data = (uint8_t *)body;
        up.batch_zstd.len = len;
        up.batch_raw_bytes = raw_len;
    }
    t1 = tg_fwd_now_ns();
    up.t1_unix_nano = t1;
    n = tollgate__v1__upload__get_packed_size(&up);
    buf = malloc(n ? n : 1);
    if (!buf)
        return OUT_RETRY;
    tollgate__v1__upload__pack(&up, buf);

    tg_hex_encode(tg_outbox_epoch(f->outbox), 16, epoch_hex);
    hdr = curl_slist_append(hdr, "Content-Type: application/x-protobuf");
    snprintf(line, sizeof(line), "Authorization: Bearer %s", f->token);
    hdr = curl_slist_append(hdr, line);
    snprintf(line, sizeof(line), "X-Tollgate-Site: %s", f->site);
    hdr = curl_slist_append(hdr, line);
    snprintf(line, sizeof(line), "X-Tollgate-Protocol: %u", version);
    hdr = curl_slist_append(hdr, line);
    snprintf(line, sizeof(line), "Idempotency-Key: %s/%s/%llu", f->site, epoch_hex,
             (unsigned long long)seq);
    hdr = curl_slist_append(hdr, line);
    hdr = curl_slist_append(hdr, "Expect:");

    memset(&r, 0, sizeof(r));
    curl_easy_setopt(c, CURLOPT_URL, f->upload_url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, buf);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    cc = curl_easy_perform(c);
    t4 = tg_fwd_now_ns();
    curl_slist_free_all(hdr);
    free(buf);
    if (cc != CURLE_OK) {
        set_error(f, "transport: %s", curl_easy_strerror(cc));
        goto done;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    read_server_cert(f, c);
    if (status == 426) {
        unsigned smin = 0, smax = 0;
        pthread_mutex_lock(&f->mu);
        f->version_refusals++;
        pthread_mutex_unlock(&f->mu);
        if (sscanf(r.supported, "%u-%u", &smin, &smax) == 2 && smax >= f->vmin &&
            smin <= f->vmax) {
            unsigned v = smax < f->vmax ? smax : f->vmax;
            pthread_mutex_lock(&f->mu);
            if (v != f->version) {
                tg_warn("protocol version negotiated", "from=%u to=%u central=%s",
                        f->version, v, r.supported);
                f->version = v;
                out = OUT_VERSION;
            }
            pthread_mutex_unlock(&f->mu);
        } else {
            set_error(f, "no common protocol version (centre speaks %s)", r.supported);
        }
        goto done;
    }
    if (status == 401 || status == 403) {
        pthread_mutex_lock(&f->mu);
        f->auth_failures++;
        pthread_mutex_unlock(&f->mu);
        set_error(f, "%s",
                  status == 401 ? "the centre refused the token (401)"
                                : "the centre refused this site (403)");
        out = OUT_AUTH;
        goto done;
    }
    if (status == 409 && body) {
        /* An epoch the centre saw this site leave, or a sequence it cannot
         * have reached: sending it again can never succeed. */
        set_error(f, "the centre refused the batch (HTTP 409: %s)",
                  "an epoch it saw this site leave, or a sequence too far ahead");
        out = OUT_REJECTED;
        goto done;
    }
    if (status == 400 || status == 413) {
        char why[32];
        snprintf(why, sizeof(why), "%ld", status);
        set_error(f, "the centre refused the batch (HTTP %s)", why);
        out = body ? OUT_REJECTED : OUT_RETRY;
        goto done;
    }
    if (status != 200) {
        char why[32];
        snprintf(why, sizeof(why), "%ld", status);
        set_error(f, "the centre answered HTTP %s", why);
        goto done;
    }
    ack = tollgate__v1__upload_ack__unpack(NULL, r.len, r.p);
    if (!ack) {
        set_error(f, "%s", "malformed answer from the centre");
        goto done;
    }
    clock_sample_add(f, t1, ack->t2_unix_nano, ack->t3_unix_nano, t4);
    pthread_mutex_lock(&f->mu);
    snprintf(f->central_version, sizeof(f->central_version), "%s",
             ack->central_version ? ack->central_version : "");
    f->last_contact_ns = t4;
    f->last_contact_mono = tg_mono_ns();
    f->last_error[0] = '\0';
    if (!body)
        f->heartbeats++;
    else if (ack->result == TOLLGATE__V1__UPLOAD_ACK__RESULT__DUPLICATE)
        f->uploads_duplicate++;
    else
        f->uploads_accepted++;
    if (body) {
        f->wire_bytes += len;
        f->raw_bytes += raw_len;
        f->batches_delivered++;
    }
    pthread_mutex_unlock(&f->mu);
    *acked_through = ack->last_sequence;
    resume_from(f, ack->source_cursor);
    if (body && ack->last_sequence < seq)
        *acked_through = seq; /* a centre that forgot: our batch is held now */
    tollgate__v1__upload_ack__free_unpacked(ack, NULL);
    out = OUT_OK;
done:
    if (out == OUT_RETRY || out == OUT_REJECTED || out == OUT_AUTH) {
        pthread_mutex_lock(&f->mu);
        f->upload_errors++;
        pthread_mutex_unlock(&f->mu);
    }
    free(r.p);
    return out;
}

CURL *tg_fwd__curl_handle(tg_forwarder *f)
{
    CURL *c = curl_easy_init();

    if (!c)
        return NULL;
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)f->cfg.connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)f->cfg.request_timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, f);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_CERTINFO, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (f->cfg.tls_ca_file[0])
        curl_easy_setopt(c, CURLOPT_CAINFO, f->cfg.tls_ca_file);
    if (f->cfg.tls_cert_file[0]) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, f->cfg.tls_cert_file);
        curl_easy_setopt(c, CURLOPT_SSLKEY, f->cfg.tls_key_file);
    }
    return c;
}

/* Waits until kicked, stopped, or `ms` pass. Returns 1 if stopping. */
static int wait_ms(tg_forwarder *f, uint64_t ms)
{
    struct timespec ts;
    int stop;

    tg_wall_deadline(&ts, ms);
    pthread_mutex_lock(&f->mu);
    while (!f->stop && !f->send_kicked)
        if (pthread_cond_timedwait(&f->send_cv, &f->mu, &ts) == ETIMEDOUT)
            break;
    f->send_kicked = 0;
    stop = f->stop;
    pthread_mutex_unlock(&f->mu);
    return stop;
}

/* Sleeps the whole backoff, ignoring kicks (new batches must not cut a
 * backoff short). Returns 1 if stopping. */
static int sleep_backoff(tg_forwarder *f, uint64_t ms)
{
    uint64_t end = tg_mono_ns() + ms * 1000000ull;

    for (;;) {
        uint64_t now = tg_mono_ns();
        if (now >= end)
            return 0;
        if (wait_ms(f, (end - now) / 1000000ull + 1))
            return 1;
    }
}

void *tg_fwd_sender_main(void *arg)
{
    tg_forwarder *f = arg;
    CURL *c = tg_fwd__curl_handle(f);
    uint64_t rng = tg_mono_ns() ^ (uint64_t)(uintptr_t)f, last_exchange = 0;
    unsigned attempt = 0;

    if (!c) {
        set_error(f, "%s", "cannot create an HTTP client");
        return NULL;
    }
    for (;;) {
        tg_outbox_batch b;
        uint64_t acked = 0, now = tg_mono_ns();
        uint64_t hb = f->cfg.heartbeat_interval_ms * 1000000ull;
        enum outcome out;
        int rc;

        pthread_mutex_lock(&f->mu);
        if (f->stop) {
            pthread_mutex_unlock(&f->mu);
            break;
        }
        pthread_mutex_unlock(&f->mu);

        rc = tg_outbox_peek(f->outbox, &b);
        if (rc == 0) {
            const uint8_t *body = b.blob;
            uint8_t *trans = NULL;
            size_t len = b.len, raw = b.raw_bytes;
            unsigned version;
            pthread_mutex_lock(&f->mu);
            version = f->version;
            pthread_mutex_unlock(&f->mu);
            /* The outbox holds batches in this site's highest version (or
             * an older one, made before an upgrade), and a centre reads
             * every version up to the one it agreed to: re-encode only
             * for a centre older than this site. */
            if (version < f->vmax && version < TG_PROTOCOL_MAX) {
                if (tg_wire_transcode(b.blob, b.len, version, f->cfg.zstd_level, &trans,
                                      &len, &raw) != 0) {
                    tg_outbox_release(f->outbox);
                    tg_outbox_batch_free(&b);
                    set_error(f, "%s",
                              "cannot re-encode a batch for the centre's version");
                    if (sleep_backoff(f, f->cfg.retry_max_ms))
                        break;
                    continue;
                }
                body = trans;
            }
            /* The ledger entry is durable before the batch leaves. */
            rc = b.ledgered ? 0
                            : tg_outbox_ledger_egress(f->outbox, b.seq, version, len,
                                                      tg_fwd_now_ns());
            pthread_mutex_lock(&f->mu);
            f->ledger_failed = rc != 0;
            if (rc)
                snprintf(f->outbox_why, sizeof(f->outbox_why),
                         "the outbox cannot write the egress ledger: %s",
                         tg_strerror(rc));
            pthread_mutex_unlock(&f->mu);
            if (rc != 0) {
                free(trans);
                tg_outbox_release(f->outbox);
                tg_outbox_batch_free(&b);
                set_error(f, "egress ledger write failed: %s", tg_strerror(rc));
                if (sleep_backoff(f, f->cfg.retry_max_ms))
                    break;
                continue;
            }
            if (!b.ledgered)
                tg_fwd_witness_kick(f); /* a new checkpoint for the witness */
            out = exchange(f, c, b.seq, body, len, raw, &acked);
            free(trans);
            tg_outbox_release(f->outbox);
            if (out == OUT_OK)
                tg_outbox_ack(f->outbox, acked > b.seq ? acked : b.seq);
            else if (out == OUT_REJECTED) {
                tg_warn("batch refused by the centre, dropped and ledgered", "seq=%llu",
                        (unsigned long long)b.seq);
                tg_outbox_reject(f->outbox, b.seq, tg_fwd_now_ns());
            }
            tg_outbox_batch_free(&b);
            last_exchange = tg_mono_ns();
        } else if (now - last_exchange >= hb || last_exchange == 0) {
            out = exchange(f, c, 0, NULL, 0, 0, &acked);
            if (out == OUT_OK && acked)
                tg_outbox_ack(f->outbox, acked);
            last_exchange = tg_mono_ns();
        } else {
            if (wait_ms(f, (hb - (now - last_exchange)) / 1000000ull + 1))
                break;
            continue;
        }

        if (out == OUT_OK || out == OUT_VERSION || out == OUT_REJECTED) {
            attempt = 0;
            pthread_mutex_lock(&f->mu);
            f->backoff_ms = 0;
            pthread_mutex_unlock(&f->mu);
            continue;
        }
        {
            /* Exponential with jitter: half the step fixed, half random. */
            uint64_t step = f->cfg.retry_initial_ms, ms;
            for (unsigned i = 0; i < attempt && step < f->cfg.retry_max_ms; i++)
                step *= 2;
            if (out == OUT_AUTH && step < 5000)
                step = 5000;
            if (step > f->cfg.retry_max_ms)
                step = f->cfg.retry_max_ms;
            ms = step / 2 + rng_next(&rng) % (step / 2 + 1);
            if (attempt < 32)
                attempt++;
            pthread_mutex_lock(&f->mu);
            f->backoff_ms = ms;
            pthread_mutex_unlock(&f->mu);
            if (sleep_backoff(f, ms))
                break;
        }
    }
    curl_easy_cleanup(c);
    return NULL;
}
