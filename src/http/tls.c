/* http/tls.c - certificate/key checks with OpenSSL (see tls.h). */
#include "mla/tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

static void tls_reason(char *out, size_t n)
{
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, out, n);
    else
        snprintf(out, n, "no PEM data");
    ERR_clear_error();
}

enum mla_code mla_tls_check_pair(const char *cert_file, const char *key_file, int *days_left,
                                 struct mla_err *err)
{
    char why[256];
    FILE *f = fopen(cert_file, "r");
    if (!f)
        return mla_err_set(err, MLA_ETLS, "cannot read TLS certificate %s: %s", cert_file,
                           strerror(errno));
    X509 *crt = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!crt) {
        tls_reason(why, sizeof why);
        return mla_err_set(err, MLA_ETLS, "TLS certificate %s is not a PEM certificate (%s)",
                           cert_file, why);
    }
    enum mla_code rc = MLA_OK;
    EVP_PKEY *key = NULL;
    if (X509_cmp_current_time(X509_get0_notAfter(crt)) <= 0) {
        rc = mla_err_set(err, MLA_ETLS, "TLS certificate %s has expired (notAfter in the past); "
                         "renew it (cert-manager, or certs/gen-dev-certs.sh)", cert_file);
        goto out;
    }
    if (X509_cmp_current_time(X509_get0_notBefore(crt)) >= 0) {
        rc = mla_err_set(err, MLA_ETLS, "TLS certificate %s is not valid yet (notBefore in the "
                         "future: check the clock)", cert_file);
        goto out;
    }
    f = fopen(key_file, "r");
    if (!f) {
        rc = mla_err_set(err, MLA_ETLS, "cannot read TLS key %s: %s", key_file, strerror(errno));
        goto out;
    }
    key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!key) {
        tls_reason(why, sizeof why);
        rc = mla_err_set(err, MLA_ETLS, "TLS key %s is not an unencrypted PEM private key (%s)",
                         key_file, why);
        goto out;
    }
    if (X509_check_private_key(crt, key) != 1) {
        ERR_clear_error();
        rc = mla_err_set(err, MLA_ETLS, "TLS key %s does not match certificate %s", key_file,
                         cert_file);
        goto out;
    }
    if (days_left) {
        int days = 0, secs = 0;
        if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(crt)) != 1)
            days = 0;
        *days_left = days;
    }
out:
    EVP_PKEY_free(key);
    X509_free(crt);
    return rc;
}
