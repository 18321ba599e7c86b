/* tls.h - start-up and rotation checks of the webhook's certificate and key (OpenSSL).
 *
 * Why a separate check: the TLS library would accept an expired certificate or a key of another
 * certificate and fail only at handshake time, where kube-apiserver reports an opaque "x509"
 * error. Checking first turns that into one clear line and exit code 2.
 * Ownership: nothing is kept. Threading: pure (any thread).
 */
#ifndef MLA_TLS_H
#define MLA_TLS_H

#include "mla/err.h"

/* Reads the PEM certificate (first of the chain) and key; MLA_ETLS naming the file when one is
 * unreadable or not PEM, the certificate is expired or not yet valid, or the key does not
 * belong to it. *days_left (may be NULL) gets the whole days until notAfter. */
enum mla_code mla_tls_check_pair(const char *cert_file, const char *key_file, int *days_left,
                                 struct mla_err *err) MLA_MUST_CHECK;

#endif
