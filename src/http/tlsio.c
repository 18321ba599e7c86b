/* http/tlsio.c - the server's GnuTLS transport: a receive that reads ahead, and a send that puts a
 * response's header and body records in one sendmsg().
 *
 * GnuTLS reads a record in two recv() calls (its 5-byte header, then the length the header
 * gives), and MHD 0.9.75 sends a response's header and body as two records, each its own
 * sendmsg(). A syscall costs about 1.3 us on the machines we measure (a VM): two of them are a
 * twelfth of an opted-in admission's CPU, and nginx, the bench's reference, makes neither.
 *
 * Receive: up to MLA__HTTP_READAHEAD bytes at once, handed out from here. What is held past the
 * current record (a pipelining client) is not lost to MHD's edge-triggered epoll: MHD keeps a
 * connection "read ready" until a receive ends in GNUTLS_E_AGAIN (connection_https.c,
 * recv_tls_adapter), and this returns EAGAIN only when it holds nothing and the socket has
 * nothing either.
 * Send: after mla__http_tlsio_hold, the next record (the header's) is kept here and goes out in
 * front of the one after it (the body's), in one sendmsg(). What is kept always leaves before
 * anything else, so the byte stream is never reordered; if the socket takes only part, the rest
 * stays kept and the body's push reports EAGAIN, which GnuTLS and MHD retry when the socket is
 * writable again. server.c flushes a kept header when the request completes without its body
 * having been sent (a safety net: 0.9.75 always sends the body at once).
 */
#include "http-int.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

static ssize_t tio_pull(gnutls_transport_ptr_t p, void *data, size_t size)
{
    struct mla__http_tlsio *t = p;
    if (t->off == t->len) {
        if (size >= sizeof t->in)
            return recv(t->fd, data, size, 0); /* a long record: no copy */
        ssize_t n = recv(t->fd, t->in, sizeof t->in, 0);
        if (n <= 0)
            return n; /* errno is what GnuTLS reads: EAGAIN, EINTR, or a real error */
        t->off = 0;
        t->len = (size_t)n;
    }
    size_t k = t->len - t->off < size ? t->len - t->off : size;
    memcpy(data, t->in + t->off, k);
    t->off += k;
    return (ssize_t)k;
}

static int tio_poll(int fd, unsigned int ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int r = poll(&pfd, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
    return r < 0 ? -1 : r;
}

/* GnuTLS asks this before a read it may wait for (a handshake with a timeout): held bytes count
 * as readable, which poll() on the socket cannot know. */
static int tio_pull_timeout(gnutls_transport_ptr_t p, unsigned int ms)
{
    struct mla__http_tlsio *t = p;
    return t->off < t->len ? 1 : tio_poll(t->fd, ms);
}

/* GnuTLS gives a record as one to three pieces; with more than this, the kept bytes go alone
 * first. */
#define TIO_IOV_MAX 16

/* The kept bytes, then the record in iov, in one sendmsg(). A short write is a full socket (the
 * kernel then wakes MHD's epoll when there is room): what of the kept bytes did not go stays
 * kept, and the record is asked for again (EAGAIN). EAGAIN is never made up: MHD waits for the
 * socket to say "writable", which it says only after it was full. */
static ssize_t tio_send_held(struct mla__http_tlsio *t, const giovec_t *iov, int iovcnt)
{
    struct iovec v[TIO_IOV_MAX + 1];
    size_t n = 0;
    v[n++] = (struct iovec){.iov_base = t->out, .iov_len = t->held};
    for (int i = 0; i < iovcnt && iovcnt <= TIO_IOV_MAX; i++)
        v[n++] = (struct iovec){.iov_base = iov[i].iov_base, .iov_len = iov[i].iov_len};
    struct msghdr msg = {.msg_iov = v, .msg_iovlen = n};
    ssize_t w = sendmsg(t->fd, &msg, MSG_NOSIGNAL);
    if (w < 0)
        return -1;
    if ((size_t)w < t->held) {
        memmove(t->out, t->out + w, t->held - (size_t)w);
        t->held -= (size_t)w;
        errno = EAGAIN;
        return -1;
    }
    w -= (ssize_t)t->held;
    t->held = 0;
    if (n == 1) { /* too many pieces to join: now the record, on its own */
        struct msghdr m2 = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
        return sendmsg(t->fd, &m2, MSG_NOSIGNAL);
    }
    if (w == 0) {
        errno = EAGAIN; /* the socket took the kept bytes and was full at the record */
        return -1;
    }
    return w;
}

static ssize_t tio_push(gnutls_transport_ptr_t p, const giovec_t *iov, int iovcnt)
{
    struct mla__http_tlsio *t = p;
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++)
        total += iov[i].iov_len;
    if (t->hold && t->held == 0 && total <= sizeof t->out) {
        t->hold = false;
        for (int i = 0; i < iovcnt; i++) {
            memcpy(t->out + t->held, iov[i].iov_base, iov[i].iov_len);
            t->held += iov[i].iov_len;
        }
        return (ssize_t)total;
    }
    t->hold = false;
    if (t->held)
        return tio_send_held(t, iov, iovcnt);
    struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
    return sendmsg(t->fd, &msg, MSG_NOSIGNAL);
}

void mla__http_tlsio_attach(struct mla__http_tlsio *t, gnutls_session_t session, int fd)
{
    t->fd = fd;
    t->off = t->len = t->held = 0;
    t->hold = false;
    gnutls_transport_set_ptr(session, t);
    gnutls_transport_set_pull_function(session, tio_pull);
    gnutls_transport_set_pull_timeout_function(session, tio_pull_timeout);
    gnutls_transport_set_vec_push_function(session, tio_push);
}

void mla__http_tlsio_hold(struct mla__http_tlsio *t)
{
    t->hold = true;
}

void mla__http_tlsio_flush(struct mla__http_tlsio *t)
{
    t->hold = false;
    while (t->held) {
        ssize_t w = send(t->fd, t->out, t->held, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd pfd = {.fd = t->fd, .events = POLLOUT};
            if (poll(&pfd, 1, 1000) > 0)
                continue;
        }
        if (w <= 0)
            break; /* the connection fails: MHD finds out on its next read or write */
        memmove(t->out, t->out + w, t->held - (size_t)w);
        t->held -= (size_t)w;
    }
    t->held = 0;
}
