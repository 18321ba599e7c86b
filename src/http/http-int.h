/* http/http-int.h - what server.c and tlsio.c share inside the http module: a connection's TLS
 * transport (tlsio.c says why it exists).
 *
 * Ownership: the caller owns the struct (server.c keeps it in the connection's context) and frees
 * it at MHD's NOTIFY_CLOSED: MHD 0.9.75 deinitialises the session just before that callback (or,
 * when a connection fails to start, just after it) and does no I/O on it in between; the
 * session must not be touched there (daemon.c, MHD_cleanup_connections).
 * Threading: a connection is served by one MHD thread; nothing here is shared between threads.
 */
#ifndef MLA_HTTP_INT_H
#define MLA_HTTP_INT_H

#include <gnutls/gnutls.h>
#include <stdbool.h>
#include <stddef.h>

/* A whole AdmissionReview record in one read (the bench's is 3.2 KB); a longer record is read
 * straight into GnuTLS's buffer once what is held is used. */
#define MLA__HTTP_READAHEAD 4096
/* The largest record kept back to go out with the next one: a response header's (MHD's header
 * block, about 130 bytes as a TLS 1.3 record). */
#define MLA__HTTP_HOLD 1024

struct mla__http_tlsio {
    int fd;
    size_t off, len; /* in[off, len): received, not yet given to GnuTLS */
    unsigned char in[MLA__HTTP_READAHEAD];
    bool hold;       /* keep the next record back (mla__http_tlsio_hold) */
    size_t held;     /* out[0, held): a record kept back, sent before anything else */
    unsigned char out[MLA__HTTP_HOLD];
};

/* Makes `session` (MHD's, on socket fd) send and receive through t. */
void mla__http_tlsio_attach(struct mla__http_tlsio *t, gnutls_session_t session, int fd);
/* Says that the next record sent is a response's header and its body's record follows at once:
 * the two then leave in one sendmsg() (MHD 0.9.75 sends them as two, connection.c
 * MHD_send_hdr_and_body_). */
void mla__http_tlsio_hold(struct mla__http_tlsio *t);
/* Sends what is still kept back, if anything (a header whose body did not follow). */
void mla__http_tlsio_flush(struct mla__http_tlsio *t);

#endif
