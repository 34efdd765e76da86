/* HTTP/2 streams as unary gRPC calls.
 *
 * nghttp2 calls back here as a request's frames arrive: the header block
 * is checked when complete (method, path, content-type, grpc-encoding),
 * DATA is de-framed into exactly one length-prefixed message, and on
 * END_STREAM the message goes to the export handler. The handler answers
 * with tg_grpc_call_finish(), now or later.
 *
 * Errors are answered the way gRPC servers answer them, so grpc-js and
 * the other SDKs report a status and a message rather than a transport
 * failure: a trailers-only response (one HEADERS frame with :status 200,
 * grpc-status, grpc-message and END_STREAM). Only a request that is not
 * gRPC at all (wrong method or content-type) gets a plain HTTP status.
 * An answer sent before the request is complete is followed by
 * RST_STREAM(NO_ERROR), which tells the client to stop sending (RFC 9113
 * section 8.1) without discarding the answer. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "recv_grpc_int.h"
#include "tg_codec.h"
#include "tg_err.h"
#include "tg_log.h"
#include "tg_utf8.h"

/* Names are literals, so nghttp2 need not copy them; values are copied. */
#define MAKE_NV(n, v, vlen)                                                              \
    {                                                                                    \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, (vlen),                           \
            NGHTTP2_NV_FLAG_NO_COPY_NAME                                                 \
    }

/* grpc-message and the status details carry at most this much text. */
#define TG_GRPC_MESSAGE_MAX 1024

static const struct {
    const char *path;
    enum tg_signal sig;
} export_paths[] = {
    {"/opentelemetry.proto.collector.trace.v1.TraceService/Export", TG_SIGNAL_TRACES},
    {"/opentelemetry.proto.collector.logs.v1.LogsService/Export", TG_SIGNAL_LOGS},
    {"/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
     TG_SIGNAL_METRICS},
};

static const uint8_t empty_message[1];

static int bytes_eq(const uint8_t *p, size_t len, const char *s)
{
    size_t n = strlen(s);
    return len == n && memcmp(p, s, n) == 0;
}

/* ---- text for grpc-message ------------------------------------------------ */

/* Copies `msg` (truncated to TG_GRPC_MESSAGE_MAX bytes) into `out` as valid
 * UTF-8, each malformed byte replaced by '?'. Well-formed is what grpc-js
 * needs: it reads grpc-message with JavaScript's decodeURI, which throws on
 * overlong forms, surrogates and code points past U+10FFFF. Returns the
 * length. */
static size_t message_sanitize(const char *msg, char *out)
{
    return tg_utf8_sanitize(msg, strnlen(msg, TG_GRPC_MESSAGE_MAX), "?", out);
}

/* The gRPC spec's Percent-Encoded form: printable ASCII except '%' as is,
 * every other byte as %XX. */
static char *percent_encode(const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(len * 3 + 1), *o = out;

    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t)s[i];
        if (c >= 0x20 && c <= 0x7e && c != '%') {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

/* ---- grpc-status-details-bin --------------------------------------------- */

/* The OTLP specification asks throttling servers to put a
 * google.rpc.RetryInfo in the status details; the Go and Java exporters
 * honour it. The message is small and fixed in shape, so it is encoded
 * by hand rather than pulling in google/rpc/error_details.proto. */

static size_t pb_bytes(uint8_t *p, uint8_t tag, const void *data, size_t len)
{
    size_t n = 0;
    p[n++] = tag;
    n += tg_varint_put(p + n, len);
    memcpy(p + n, data, len);
    return n + len;
}

/* grpc-status-details-bin is sent without padding, as gRPC's -bin headers
 * are. */
static char *base64_unpadded(const uint8_t *in, size_t len)
{
    char *out = malloc(tg_base64_encoded_len(len) + 1);
    size_t n;

    if (!out)
        return NULL;
    n = tg_base64_encode(in, len, out);
    while (n > 0 && out[n - 1] == '=')
        out[--n] = '\0';
    return out;
}

/* google.rpc.Status{code, message, details: [RetryInfo{retry_delay}]}. */
static char *retry_status_details(int code, const char *msg, size_t msglen,
                                  uint64_t retry_ms)
{
    static const char type_url[] = "type.googleapis.com/google.rpc.RetryInfo";
    uint8_t dur[24], info[32], any[96], st[TG_GRPC_MESSAGE_MAX + 128];
    size_t nd = 0, ni, na, ns = 0;
    uint64_t secs = retry_ms / 1000;
    uint32_t nanos = (uint32_t)(retry_ms % 1000) * 1000000u;

    if (secs) {
        dur[nd++] = 0x08;
        nd += tg_varint_put(dur + nd, secs);
    }
    if (nanos) {
        dur[nd++] = 0x10;
        nd += tg_varint_put(dur + nd, nanos);
    }
    ni = pb_bytes(info, 0x0a, dur, nd);
    na = pb_bytes(any, 0x0a, type_url, sizeof(type_url) - 1);
    na += pb_bytes(any + na, 0x12, info, ni);
    st[ns++] = 0x08;
    ns += tg_varint_put(st + ns, (uint64_t)code);
    if (msglen)
        ns += pb_bytes(st + ns, 0x12, msg, msglen);
    ns += pb_bytes(st + ns, 0x1a, any, na);
    return base64_unpadded(st, ns);
}

/* ---- call lifetime ---------------------------------------------------------- */

static void call_free(tg_grpc_call *call)
{
    free(call->buf);
    free(call->out);
    free(call->trailer_msg);
    free(call->trailer_details);
    free(call);
}

static void call_release_buffer(tg_grpc_call *call)
{
    if (call->buf && call->conn) {
        call->conn->srv->buffered -= call->cap;
        if (call->conn->srv->opt.caps)
            tg_listen_caps_buffered(call->conn->srv->opt.caps, 0, call->cap);
    }
    free(call->buf);
    call->buf = NULL;
    call->cap = 0;
}

/* The stream is gone (closed, or its connection is): drop the stream's
 * reference. The handler's reference, if any, stays until finish. */
static void call_detach(tg_grpc_call *call)
{
    tg_grpc_conn *c = call->conn;

    call_release_buffer(call);
    if (c && c->h2)
        nghttp2_session_set_stream_user_data(c->h2, call->stream_id, NULL);
    call->conn = NULL;
    call->refs &= ~TG_GRPC_REF_STREAM;
    if (!call->refs)
        call_free(call);
}

void tg_grpc__conn_detach_calls(tg_grpc_conn *c)
{
    while (c->calls) {
        tg_grpc_call *call = c->calls;
        tg_grpc__conn_remove_call(c, call);
        call_detach(call);
    }
}

/* ---- responses -------------------------------------------------------------- */

static void call_submit_failed(tg_grpc_call *call, int rv)
{
    tg_warn("grpc response not submitted", "stream=%d err=%s", (int)call->stream_id,
            nghttp2_strerror(rv));
    nghttp2_submit_rst_stream(call->conn->h2, NGHTTP2_FLAG_NONE, call->stream_id,
                              NGHTTP2_INTERNAL_ERROR);
}

/* Keeps the trailer text for a later or immediate trailer block. */
static int call_set_trailer(tg_grpc_call *call, int status, const char *message,
                            uint64_t retry_after_ms)
{
    char clean[TG_GRPC_MESSAGE_MAX + 1];
    size_t len = message ? message_sanitize(message, clean) : 0;

    call->status = status;
    if (len) {
        call->trailer_msg = percent_encode(clean, len);
        if (!call->trailer_msg)
            return -1;
    }
    if (retry_after_ms > 0 &&
        (status == TG_GRPC_RESOURCE_EXHAUSTED || status == TG_GRPC_UNAVAILABLE)) {
        call->pushback_ms = retry_after_ms;
        call->trailer_details = retry_status_details(status, clean, len, retry_after_ms);
        if (!call->trailer_details)
            return -1;
    }
    return 0;
}

/* Fills `nva` with grpc-status and what else call_set_trailer kept. */
static size_t call_trailer_nv(tg_grpc_call *call, nghttp2_nv *nva, char *status_buf,
                              char *pushback_buf)
{
    size_t n = 0;
    int len = snprintf(status_buf, 12, "%d", call->status);

    nva[n++] = (nghttp2_nv)MAKE_NV("grpc-status", status_buf, (size_t)len);
    if (call->trailer_msg)
        nva[n++] = (nghttp2_nv)MAKE_NV("grpc-message", call->trailer_msg,
                                       strlen(call->trailer_msg));
    if (call->pushback_ms) {
        len = snprintf(pushback_buf, 24, "%llu", (unsigned long long)call->pushback_ms);
        nva[n++] =
            (nghttp2_nv)MAKE_NV("grpc-retry-pushback-ms", pushback_buf, (size_t)len);
    }
    if (call->trailer_details)
        nva[n++] = (nghttp2_nv)MAKE_NV("grpc-status-details-bin", call->trailer_details,
                                       strlen(call->trailer_details));
    return n;
}

/* A trailers-only response: everything in one HEADERS with END_STREAM. */
static void call_respond_status(tg_grpc_call *call, int status, uint64_t retry_after_ms,
                                int accept_encoding, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void call_respond_status(tg_grpc_call *call, int status, uint64_t retry_after_ms,
                                int accept_encoding, const char *fmt, ...)
{
    char msg[TG_GRPC_MESSAGE_MAX], sbuf[12], pbuf[24];
    nghttp2_nv nva[8] = {
        MAKE_NV(":status", "200", 3),
        MAKE_NV("content-type", "application/grpc", 16),
    };
    size_t n = 2;
    va_list ap;
    int rv;

    call->state = TG_GRPC_CALL_RESPONDED;
    call_release_buffer(call);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (call_set_trailer(call, status, msg, retry_after_ms) != 0) {
        call_submit_failed(call, NGHTTP2_ERR_NOMEM);
        return;
    }
    if (accept_encoding)
        nva[n++] = (nghttp2_nv)MAKE_NV("grpc-accept-encoding", TG_GRPC_ACCEPT_ENCODING,
                                       sizeof(TG_GRPC_ACCEPT_ENCODING) - 1);
    n += call_trailer_nv(call, nva + n, sbuf, pbuf);
    rv = nghttp2_submit_response(call->conn->h2, call->stream_id, nva, n, NULL);
    if (rv != 0)
        call_submit_failed(call, rv);
}

/* For requests that are not gRPC at all: a bare HTTP status. */
static void call_respond_http(tg_grpc_call *call, const char *status)
{
    nghttp2_nv nva[] = {MAKE_NV(":status", status, strlen(status))};
    int rv;

    call->state = TG_GRPC_CALL_RESPONDED;
    call_release_buffer(call);
    rv = nghttp2_submit_response(call->conn->h2, call->stream_id, nva, 1, NULL);
    if (rv != 0)
        call_submit_failed(call, rv);
}

/* Serves the response message, then queues the trailers behind it. */
static ssize_t response_read(nghttp2_session *h2, int32_t stream_id, uint8_t *buf,
                             size_t length, uint32_t *data_flags,
                             nghttp2_data_source *source, void *user_data)
{
    tg_grpc_call *call = source->ptr;
    size_t n = call->out_len - call->out_off;
    char sbuf[12], pbuf[24];
    nghttp2_nv nva[4];
    size_t nn;

    (void)user_data;
    if (n > length)
        n = length;
    memcpy(buf, call->out + call->out_off, n);
    call->out_off += n;
    if (call->out_off < call->out_len)
        return (ssize_t)n;
    *data_flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
    nn = call_trailer_nv(call, nva, sbuf, pbuf);
    if (nghttp2_submit_trailer(h2, stream_id, nva, nn) != 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    return (ssize_t)n;
}

static void call_respond_ok(tg_grpc_call *call, const char *message, const uint8_t *resp,
                            size_t resp_len)
{
    nghttp2_nv nva[] = {
        MAKE_NV(":status", "200", 3),
        MAKE_NV("content-type", "application/grpc", 16),
        MAKE_NV("grpc-accept-encoding", TG_GRPC_ACCEPT_ENCODING,
                sizeof(TG_GRPC_ACCEPT_ENCODING) - 1),
    };
    nghttp2_data_provider prd;
    int rv;

    call->state = TG_GRPC_CALL_RESPONDED;
    if (resp_len > UINT32_MAX) {
        call_respond_status(call, TG_GRPC_INTERNAL, 0, 0, "response message too large");
        return;
    }
    call->out = malloc(5 + resp_len);
    if (!call->out || call_set_trailer(call, TG_GRPC_OK, message, 0) != 0) {
        call_submit_failed(call, NGHTTP2_ERR_NOMEM);
        return;
    }
    /* Never compressed: the flag byte stays 0, so no grpc-encoding header. */
    call->out[0] = 0;
    call->out[1] = (uint8_t)(resp_len >> 24);
    call->out[2] = (uint8_t)(resp_len >> 16);
    call->out[3] = (uint8_t)(resp_len >> 8);
    call->out[4] = (uint8_t)resp_len;
    if (resp_len)
        memcpy(call->out + 5, resp, resp_len);
    call->out_len = 5 + resp_len;
    prd.source.ptr = call;
    prd.read_callback = response_read;
    rv = nghttp2_submit_response(call->conn->h2, call->stream_id, nva, 3, &prd);
    if (rv != 0)
        call_submit_failed(call, rv);
}

const void *tg_grpc_call_auth(const tg_grpc_call *call)
{
    return call->auth;
}

void tg_grpc_call_finish(tg_grpc_call *call, int grpc_status, const char *message,
                         const uint8_t *resp, size_t resp_len, uint64_t retry_after_ms)
{
    tg_grpc_conn *c;

    if (!call)
        return;
    call->refs &= ~TG_GRPC_REF_HANDLER;
    c = call->conn;
    if (!c || call->state != TG_GRPC_CALL_HANDLER) {
        /* The client went away (reset, closed, or the server stopped). */
        if (!call->refs)
            call_free(call);
        return;
    }
    if (grpc_status == TG_GRPC_OK)
        call_respond_ok(call, message, resp, resp_len);
    else
        call_respond_status(call, grpc_status, retry_after_ms, 0, "%s",
                            message ? message : "");
    tg_grpc__conn_flush(c);
}

/* ---- request headers -------------------------------------------------------- */

/* application/grpc, optionally +proto, optionally ;parameters. */
static int grpc_content_type(const uint8_t *v, size_t len)
{
    static const char base[] = "application/grpc";
    size_t n = sizeof(base) - 1;

    if (len < n || strncasecmp((const char *)v, base, n) != 0)
        return 0;
    if (len > n && v[n] == '+') {
        if (len < n + 6 || strncasecmp((const char *)v + n, "+proto", 6) != 0)
            return 0;
        n += 6;
    }
    return len == n || v[n] == ';';
}

static int grpc_encoding_parse(const uint8_t *v, size_t len, enum tg_compression *out)
{
    return tg_compression_parse((const char *)v, len, out) == 0 ? 0 : -1;
}

/* grpc-timeout: 1 to 8 digits and a unit (H M S m u n); rounded up to ms. */
static int grpc_timeout_parse(const uint8_t *v, size_t len, uint64_t *ms)
{
    uint64_t n = 0;

    if (len < 2 || len > 9)
        return -1;
    for (size_t i = 0; i + 1 < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        n = n * 10 + (uint64_t)(v[i] - '0');
    }
    switch (v[len - 1]) {
    case 'H':
        *ms = n * 3600000;
        break;
    case 'M':
        *ms = n * 60000;
        break;
    case 'S':
        *ms = n * 1000;
        break;
    case 'm':
        *ms = n;
        break;
    case 'u':
        *ms = (n + 999) / 1000;
        break;
    case 'n':
        *ms = (n + 999999) / 1000000;
        break;
    default:
        return -1;
    }
    return 0;
}

static void copy_text(char *dst, size_t cap, const uint8_t *v, size_t len)
{
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, v, len);
    dst[len] = '\0';
}

static int on_begin_headers(nghttp2_session *h2, const nghttp2_frame *frame, void *ud)
{
    tg_grpc_conn *c = ud;
    tg_grpc_call *call;

    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    call = calloc(1, sizeof(*call));
    if (!call)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    call->conn = c;
    call->stream_id = frame->hd.stream_id;
    call->refs = TG_GRPC_REF_STREAM;
    call->state = TG_GRPC_CALL_HEADERS;
    call->enc = TG_COMP_NONE;
    call->enc_ok = 1;
    if (nghttp2_session_set_stream_user_data(h2, call->stream_id, call) != 0) {
        free(call);
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    tg_grpc__conn_add_call(c, call);
    return 0;
}

static int on_header(nghttp2_session *h2, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *ud)
{
    tg_grpc_call *call;

    (void)flags;
    (void)ud;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0; /* request trailers carry nothing we use */
    call = nghttp2_session_get_stream_user_data(h2, frame->hd.stream_id);
    if (!call)
        return 0;
    if (bytes_eq(name, namelen, ":method")) {
        call->post = bytes_eq(value, valuelen, "POST");
    } else if (bytes_eq(name, namelen, ":path")) {
        call->known_path = 0;
        for (size_t i = 0; i < sizeof(export_paths) / sizeof(export_paths[0]); i++) {
            if (bytes_eq(value, valuelen, export_paths[i].path)) {
                call->known_path = 1;
                call->sig = export_paths[i].sig;
            }
        }
        copy_text(call->path, sizeof(call->path), value, valuelen);
    } else if (bytes_eq(name, namelen, "content-type")) {
        call->grpc_ct = grpc_content_type(value, valuelen);
    } else if (bytes_eq(name, namelen, "grpc-encoding")) {
        call->enc_ok = grpc_encoding_parse(value, valuelen, &call->enc) == 0;
        if (!call->enc_ok)
            copy_text(call->bad_enc, sizeof(call->bad_enc), value, valuelen);
    } else if (bytes_eq(name, namelen, "grpc-timeout")) {
        call->got_timeout = grpc_timeout_parse(value, valuelen, &call->timeout_ms) == 0;
    } else if (bytes_eq(name, namelen, "authorization") &&
               call->conn->srv->opt.authorize) {
        char a[600];
        copy_text(a, sizeof(a), value, valuelen);
        call->auth =
            call->conn->srv->opt.authorize(call->conn->srv->opt.authorize_ctx, a);
    }
    return 0;
}

/* The header block is complete: accept the call or answer it now. */
static void call_headers_done(tg_grpc_call *call)
{
    tg_grpc_conn *c = call->conn;

    if (call->state != TG_GRPC_CALL_HEADERS)
        return; /* answered already (timed out mid-block) */
    call->state = TG_GRPC_CALL_RECEIVING;
    if (!call->post) {
        call_respond_http(call, "405");
    } else if (!call->grpc_ct) {
        call_respond_http(call, "415");
    } else if (c->srv->opt.authorize && !call->auth) {
        tg_refuse_count(c->srv->opt.refusals, TG_REFUSED_UNAUTHORIZED);
        call_respond_status(call, TG_GRPC_UNAUTHENTICATED, 0, 0, "%s",
                            "a bearer token is required (authorization metadata)");
    } else if (!call->known_path) {
        call_respond_status(call, TG_GRPC_UNIMPLEMENTED, 0, 0, "unknown method %s",
                            call->path);
    } else if (!call->enc_ok) {
        call_respond_status(call, TG_GRPC_UNIMPLEMENTED, 0, 1,
                            "grpc-encoding %s not supported", call->bad_enc);
    } else if (call->got_timeout && call->timeout_ms < c->srv->opt.request_timeout_ms) {
        /* A client deadline shorter than ours: no use waiting past it. */
        call->deadline = uv_now(c->srv->loop) + call->timeout_ms;
        tg_grpc__conn_wake_within(c, call->timeout_ms);
    }
}

/* ---- request message -------------------------------------------------------- */

/* The buffer grows with the bytes that have arrived, never ahead to the
 * declared length: a 5-byte prefix must not reserve 16 MiB of the budget.
 * Growing fourfold keeps realloc's copying under a third of the message. */
static int call_grow(tg_grpc_call *call, size_t need)
{
    tg_grpc_server *s = call->conn->srv;
    size_t cap = call->cap ? call->cap : 64 * 1024;
    uint8_t *p;

    while (cap < need)
        cap *= 4;
    if (cap > call->msg_len)
        cap = call->msg_len;
    if (s->opt.caps ? tg_listen_caps_over_budget(s->opt.caps, cap - call->cap)
                    : s->buffered - call->cap + cap > s->buffer_cap)
        return TG_EBUSY;
    p = realloc(call->buf, cap);
    if (!p)
        return TG_ENOMEM;
    s->buffered = s->buffered - call->cap + cap;
    if (s->opt.caps)
        tg_listen_caps_buffered(s->opt.caps, cap - call->cap, 0);
    call->buf = p;
    call->cap = cap;
    return 0;
}

/* Takes request body bytes: the 5-byte prefix, then the message. */
static void call_feed(tg_grpc_call *call, const uint8_t *p, size_t len)
{
    const tg_grpc_options *opt = &call->conn->srv->opt;

    while (len > 0 && call->state == TG_GRPC_CALL_RECEIVING) {
        size_t n;

        if (call->nmsgs) {
            call_respond_status(call, TG_GRPC_INTERNAL, 0, 0,
                                "more than one request message on a unary call");
            return;
        }
        if (call->prefix_got < 5) {
            n = 5u - call->prefix_got;
            n = n < len ? n : len;
            memcpy(call->prefix + call->prefix_got, p, n);
            call->prefix_got = (uint8_t)(call->prefix_got + n);
            p += n;
            len -= n;
            if (call->prefix_got < 5)
                return;
            call->msg_len = (uint32_t)call->prefix[1] << 24 |
                            (uint32_t)call->prefix[2] << 16 |
                            (uint32_t)call->prefix[3] << 8 | call->prefix[4];
            if (call->prefix[0] > 1) {
                call_respond_status(call, TG_GRPC_INTERNAL, 0, 0,
                                    "invalid message flag %u", call->prefix[0]);
            } else if (call->prefix[0] == 1 && call->enc == TG_COMP_NONE) {
                call_respond_status(call, TG_GRPC_INTERNAL, 0, 0,
                                    "compressed message without a grpc-encoding");
            } else if (call->msg_len > opt->max_message_bytes) {
                tg_refuse_count(opt->refusals, TG_REFUSED_TOO_LARGE);
                call_respond_status(
                    call, TG_GRPC_RESOURCE_EXHAUSTED, 0, 0,
                    "request message of %u bytes exceeds the limit of %zu "
                    "bytes",
                    call->msg_len, opt->max_message_bytes);
            } else if (call->msg_len == 0) {
                call->nmsgs = 1;
            }
            continue;
        }
        n = call->msg_len - call->got;
        n = n < len ? n : len;
        if (call->got + n > call->cap) {
            int rv = call_grow(call, call->got + n);

            if (rv != 0)
                tg_refuse_count(opt->refusals, TG_REFUSED_BUSY);
            if (rv == TG_EBUSY) {
                call_respond_status(call, TG_GRPC_RESOURCE_EXHAUSTED,
                                    TG_GRPC_BUSY_RETRY_MS, 0,
                                    "server busy: too much request data in flight");
                return;
            }
            if (rv != 0) {
                call_respond_status(call, TG_GRPC_RESOURCE_EXHAUSTED,
                                    TG_GRPC_BUSY_RETRY_MS, 0, "server out of memory");
                return;
            }
        }
        memcpy(call->buf + call->got, p, n);
        call->got += n;
        p += n;
        len -= n;
        if (call->got == call->msg_len)
            call->nmsgs = 1;
    }
}

/* END_STREAM: exactly one complete message goes to the handler. */
static void call_request_done(tg_grpc_call *call)
{
    tg_grpc_server *s = call->conn->srv;
    enum tg_compression comp;

    if (call->state != TG_GRPC_CALL_RECEIVING)
        return;
    if (!call->nmsgs) {
        if (call->prefix_got == 0)
            call_respond_status(call, TG_GRPC_INTERNAL, 0, 0,
                                "no request message on a unary call");
        else
            call_respond_status(call, TG_GRPC_INTERNAL, 0, 0,
                                "truncated request message: %zu of %u bytes", call->got,
                                call->prefix_got < 5 ? 0 : call->msg_len);
        return;
    }
    comp = call->prefix[0] ? call->enc : TG_COMP_NONE;
    call->state = TG_GRPC_CALL_HANDLER;
    call->refs |= TG_GRPC_REF_HANDLER;
    /* The stream's reference keeps the call alive across the handler, even
     * if it finishes at once: the stream cannot close inside this callback. */
    s->fn(s->fn_data, call, call->sig, comp, call->buf ? call->buf : empty_message,
          call->got);
    call_release_buffer(call);
}

static int on_data_chunk_recv(nghttp2_session *h2, uint8_t flags, int32_t stream_id,
                              const uint8_t *data, size_t len, void *ud)
{
    tg_grpc_call *call = nghttp2_session_get_stream_user_data(h2, stream_id);

    (void)flags;
    (void)ud;
    if (call && call->state == TG_GRPC_CALL_RECEIVING)
        call_feed(call, data, len);
    return 0;
}

static int on_frame_recv(nghttp2_session *h2, const nghttp2_frame *frame, void *ud)
{
    tg_grpc_call *call;

    (void)ud;
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    call = nghttp2_session_get_stream_user_data(h2, frame->hd.stream_id);
    if (!call)
        return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
        call_headers_done(call);
    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
        call_request_done(call);
    return 0;
}

static int on_frame_send(nghttp2_session *h2, const nghttp2_frame *frame, void *ud)
{
    (void)ud;
    /* Answered before the request ended: ask the client to stop sending. */
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
        nghttp2_session_get_stream_remote_close(h2, frame->hd.stream_id) == 0)
        nghttp2_submit_rst_stream(h2, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                  NGHTTP2_NO_ERROR);
    return 0;
}

static int on_stream_close(nghttp2_session *h2, int32_t stream_id, uint32_t error_code,
                           void *ud)
{
    tg_grpc_call *call = nghttp2_session_get_stream_user_data(h2, stream_id);

    (void)error_code;
    (void)ud;
    if (!call)
        return 0;
    tg_grpc__conn_remove_call(call->conn, call);
    call_detach(call);
    return 0;
}

void tg_grpc__conn_expire_calls(tg_grpc_conn *c, uint64_t now)
{
    for (tg_grpc_call *call = c->calls; call; call = call->next) {
        if (call->state > TG_GRPC_CALL_RECEIVING || call->deadline > now)
            continue;
        tg_refuse_count(c->srv->opt.refusals, TG_REFUSED_BODY_TIMEOUT);
        call_respond_status(
            call, TG_GRPC_DEADLINE_EXCEEDED, 0, 0,
            "request message not received within %llu ms",
            (unsigned long long)(call->got_timeout &&
                                         call->timeout_ms < c->srv->opt.request_timeout_ms
                                     ? call->timeout_ms
                                     : c->srv->opt.request_timeout_ms));
    }
}

int tg_grpc__callbacks_new(nghttp2_session_callbacks **out)
{
    nghttp2_session_callbacks *cbs;

    if (nghttp2_session_callbacks_new(&cbs) != 0)
        return TG_ENOMEM;
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk_recv);
    nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    *out = cbs;
    return 0;
}
