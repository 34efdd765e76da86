/* Fuzzes the OTLP/gRPC server with arbitrary client bytes.
 *
 * The input is what a client sends on one connection: it goes over a real
 * loopback socket to a real server, so the whole path runs (framing by
 * nghttp2, then our header, de-framing and response code). The client
 * then half-closes and drains until the server closes, which it must do
 * on EOF; every input ends with the connection and its calls freed, which
 * LeakSanitizer and a check of the server's connection count confirm.
 * Each input connects from its own 127.0.x.y source address, so
 * TIME_WAIT cannot exhaust the loopback port space. Seeds start with the HTTP/2 preface
 * so most mutations get past it. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "recv_grpc_int.h"
#include "tg_log.h"

static uv_loop_t loop;
static tg_grpc_server *srv;

static void handler(void *data, tg_grpc_call *call, enum tg_signal sig,
                    enum tg_compression comp, const uint8_t *msg, size_t len)
{
    static const uint8_t resp[] = {0x0a, 0x00};

    (void)data;
    (void)sig;
    (void)comp;
    /* Touch every byte, so ASan sees a message that is not all there. */
    uint8_t x = 0;
    for (size_t i = 0; i < len; i++)
        x ^= msg[i];
    if (x & 1)
        tg_grpc_call_finish(call, 8, "busy \xff", NULL, 0, 250);
    else
        tg_grpc_call_finish(call, 0, NULL, resp, sizeof(resp), 0);
}

static int init(void)
{
    tg_grpc_options opt;
    int err;

    /* The server may write to a socket the client has reset. */
    signal(SIGPIPE, SIG_IGN);
    tg_log_set_level(TG_LOG_ERROR);
    uv_loop_init(&loop);
    tg_grpc_options_default(&opt);
    opt.max_message_bytes = 64 * 1024;
    opt.max_concurrent_streams = 16;
    srv = tg_grpc_server_start(&loop, "127.0.0.1:0", &opt, handler, NULL, &err);
    if (!srv)
        abort();
    return 0;
}

static int drain(int fd)
{
    char buf[16384];
    ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        return 1; /* closed */
    return 0;
}

/* libFuzzer's timers may interrupt a blocking connect, which then goes on
 * in the background: wait for it. */
static int connect_resumed(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int soerr = 0;
    socklen_t len = sizeof(soerr);

    if (errno != EINTR)
        return 0;
    while (poll(&p, 1, -1) < 0)
        if (errno != EINTR)
            return 0;
    return getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    static uint32_t nth;
    struct sockaddr_in sa, src;
    size_t off = 0;
    int fd, closed = 0, one = 1;

    if (!ready)
        ready = init() == 0;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)tg_grpc_server_port(srv));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    memset(&src, 0, sizeof(src));
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(0x7f000000u | (1 + nth++ % 0xfffe));
    fd = socket(AF_INET, SOCK_STREAM, 0);
    /* The port is picked at connect, by the full 4-tuple. */
    if (fd < 0 ||
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0 ||
        (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && !connect_resumed(fd))) {
        perror("fuzz_grpc: connect");
        abort();
    }
    /* Send while letting the server run, so neither side blocks. */
    while (off < size && !closed) {
        ssize_t n = send(fd, data + off, size - off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0)
            off += (size_t)n;
        else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            break;
        uv_run(&loop, UV_RUN_NOWAIT);
        closed = drain(fd);
    }
    shutdown(fd, SHUT_WR);
    while (!closed) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        uv_run(&loop, UV_RUN_NOWAIT);
        if (poll(&p, 1, 1) > 0)
            closed = drain(fd);
    }
    close(fd);
    /* Let the server's close callbacks run: nothing may outlive the input. */
    for (int i = 0; i < 1000 && srv->nconns; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    if (srv->nconns || srv->buffered)
        abort();
    return 0;
}
