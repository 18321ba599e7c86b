/* policy/load.c - a directory of policy files into an immutable, refcounted policy set.
 *
 * Files (*.yaml, *.yml, *.json) are read in name order; each holds one or more YAML documents
 * of the form {apiVersion: ml-autoscaling.io/v1, kind: PolicySet, policies: [...]}. Every file
 * is checked even after an error so `lint` can report everything at once; any error means no
 * set is returned (the store then keeps its last good one).
 */
#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mla/file.h"
#include "mla/hours.h"
#include "mla/mem.h"
#include "policy-int.h"

#define LOAD_MAX_FILE (4u << 20)

void mla_policy_diags_init(struct mla_policy_diags *d)
{
    memset(d, 0, sizeof *d);
}

void mla_policy_diags_fini(struct mla_policy_diags *d)
{
    free(d->items);
    memset(d, 0, sizeof *d);
}

static void load_hex(const unsigned char *md, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[md[i] >> 4];
        out[2 * i + 1] = hx[md[i] & 15];
    }
    out[2 * n] = '\0';
}

static void load_policy_hash(const json_t *pol, char *out, size_t n)
{
    char *canon = json_dumps(pol, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(canon ? canon : "", canon ? strlen(canon) : 0, md, &mdlen, EVP_sha256(), NULL);
    free(canon);
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    load_hex(md, mdlen, hex);
    snprintf(out, n, "sha256:%.16s", hex);
}

static int load_cmp(const void *a, const void *b)
{
    const struct mla_policy *x = a, *y = b;
    if (x->priority != y->priority)
        return x->priority > y->priority ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

struct load_name {
    const char *name, *file;
    int line, col;
};

static void load_doc(struct mla__cctx *c, const json_t *docs, size_t di, struct mla_policy_set *ps,
                     size_t *cap, struct load_name **names, size_t *nnames)
{
    const json_t *doc = json_array_get(docs, di);
    if (json_is_null(doc))
        return;
    if (!json_is_object(doc)) {
        mla__cerr(c, docs, NULL, di, 0, "a policy file holds a mapping with 'policies', got %s",
                  json_is_array(doc) ? "a list" : "a scalar");
        return;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)doc, k, v) {
        if (strcmp(k, "apiVersion") && strcmp(k, "kind") && strcmp(k, "policies"))
            mla__cerr(c, doc, k, 0, 1, "unknown field '%s' at the top level; allowed: "
                      "apiVersion, kind, policies", k);
    }
    json_t *av = json_object_get(doc, "apiVersion");
    if (av && (!json_is_string(av) || strcmp(json_string_value(av), "ml-autoscaling.io/v1")))
        mla__cerr(c, doc, "apiVersion", 0, 0, "apiVersion: allowed: ml-autoscaling.io/v1");
    json_t *kd = json_object_get(doc, "kind");
    if (kd && (!json_is_string(kd) || strcmp(json_string_value(kd), "PolicySet")))
        mla__cerr(c, doc, "kind", 0, 0, "kind: allowed: PolicySet");
    json_t *pols = json_object_get(doc, "policies");
    if (!json_is_array(pols)) {
        if (pols)
            mla__cerr(c, doc, "policies", 0, 0, "policies: must be a list of policies");
        else
            mla__cerr(c, docs, NULL, di, 0, "'policies' is required (a list of policies)");
        return;
    }
    for (size_t i = 0; i < json_array_size(pols); i++) {
        if (ps->n == *cap || *nnames == *cap) {
            *cap = *cap ? *cap * 2 : 16;
            ps->pol = mla_xrealloc(ps->pol, *cap * sizeof *ps->pol);
            *names = mla_xrealloc(*names, *cap * sizeof **names);
        }
        struct mla_policy *p = &ps->pol[ps->n];
        memset(p, 0, sizeof *p);
        bool ok = mla__compile_policy(c, pols, i, p);
        struct load_name ln = {.name = p->name, .file = c->file};
        mla_yaml_pos_get(c->pos, json_array_get(pols, i), "name", 0, 0, &ln.line, &ln.col);
        for (size_t j = 0; p->name && j < *nnames; j++)
            if (!strcmp((*names)[j].name, p->name)) {
                mla__cerr(c, json_array_get(pols, i), "name", 0, 0,
                          "policy name '%s' is already used at %s:%d:%d", p->name,
                          (*names)[j].file, (*names)[j].line, (*names)[j].col);
                ok = false;
                break;
            }
        if (p->name)
            (*names)[(*nnames)++] = ln;
        if (!ok)
            continue;
        p->file = c->file;
        p->order = ps->n;
        load_policy_hash(json_array_get(pols, i), p->hash, sizeof p->hash);
        ps->nprofiles += p->nprof;
        ps->n++;
    }
}

enum mla_code mla_policy_set_load_texts(const char *const *names, const char *const *texts,
                                        size_t n, struct mla_policy_set **out,
                                        struct mla_policy_diags *diags, struct mla_err *err)
{
    struct mla_policy_set *ps = mla_xcalloc(1, sizeof *ps);
    atomic_init(&ps->refs, 1);
    ps->owned = cJSON_CreateArray();
    ps->tzdb = mla_hours_db_acquire();
    struct mla_err first;
    mla_err_clear(&first);
    int nerr = 0;
    size_t cap = 0, npnames = 0;
    struct load_name *pnames = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    for (size_t i = 0; i < n; i++) {
        const char *base = strrchr(names[i], '/');
        base = mla_arena_strdup(&ps->arena, base ? base + 1 : names[i]);
        EVP_DigestUpdate(md, base, strlen(base) + 1);
        EVP_DigestUpdate(md, texts[i], strlen(texts[i]) + 1);
        struct mla__cctx c = {.file = mla_arena_strdup(&ps->arena, names[i]), .diags = diags,
                              .first = &first, .a = &ps->arena, .owned = ps->owned,
                              .tzdb = ps->tzdb};
        json_t *docs = NULL;
        struct mla_yaml_pos *pos = NULL;
        struct mla_err perr;
        mla_err_clear(&perr);
        if (mla_yaml_parse(c.file, texts[i], strlen(texts[i]), &docs, &pos, &perr) != MLA_OK) {
            nerr++;
            if (first.code == MLA_OK)
                first = perr;
            if (diags) {
                if (diags->n == diags->cap) {
                    diags->cap = diags->cap ? diags->cap * 2 : 16;
                    diags->items = mla_xrealloc(diags->items, diags->cap * sizeof perr);
                }
                diags->items[diags->n++] = perr;
            }
            continue;
        }
        c.pos = pos;
        size_t before = ps->n;
        for (size_t d = 0; d < json_array_size(docs); d++)
            load_doc(&c, docs, d, ps, &cap, &pnames, &npnames);
        if (ps->n == before && !c.nerr)
            mla__cerr(&c, docs, NULL, 0, 0, "no policies in this file");
        nerr += c.nerr;
        json_decref(docs);
        mla_yaml_pos_free(pos);
    }
    unsigned char dig[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    EVP_DigestFinal_ex(md, dig, &dlen);
    EVP_MD_CTX_free(md);
    free(pnames);
    if (!nerr && !ps->n) {
        nerr++;
        (void)mla_err_set(&first, MLA_EPOLICY, "no policy files (*.yaml, *.yml, *.json) found");
        if (diags) {
            if (diags->n == diags->cap) {
                diags->cap = diags->cap ? diags->cap * 2 : 16;
                diags->items = mla_xrealloc(diags->items, diags->cap * sizeof first);
            }
            diags->items[diags->n++] = first;
        }
    }
    if (nerr) {
        if (err)
            *err = first;
        mla_policy_set_unref(ps);
        return first.code ? first.code : MLA_EPOLICY;
    }
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    load_hex(dig, dlen, hex);
    snprintf(ps->hash, sizeof ps->hash, "sha256:%s", hex);
    qsort(ps->pol, ps->n, sizeof *ps->pol, load_cmp);
    /* default_profile pointers point into profile arrays, not into pol: qsort is safe. */
    *out = ps;
    return MLA_OK;
}

static int load_wanted(const char *name)
{
    size_t n = strlen(name);
    if (name[0] == '.')
        return 0;
    return (n > 5 && !strcmp(name + n - 5, ".yaml")) || (n > 4 && !strcmp(name + n - 4, ".yml")) ||
           (n > 5 && !strcmp(name + n - 5, ".json"));
}

static int load_strcmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static enum mla_code load_read(const char *path, char **out, struct mla_err *err)
{
    struct mla_err fe;
    mla_err_clear(&fe);
    char *buf = NULL;
    size_t n = 0;
    enum mla_code rc = mla_file_read(path, LOAD_MAX_FILE, &buf, &n, &fe);
    if (rc != MLA_OK)
        return mla_err_set_at(err, rc, path, 0, 0, "%s", fe.msg);
    if (memchr(buf, '\0', n)) {
        free(buf);
        return mla_err_set_at(err, MLA_EPARSE, path, 0, 0, "file contains a NUL byte");
    }
    *out = buf;
    return MLA_OK;
}

/* Reports e: appended to diags (grown as needed) and copied to *err, either may be NULL. */
static void load_report(struct mla_policy_diags *diags, struct mla_err *err,
                        const struct mla_err *e)
{
    if (diags) {
        if (diags->n == diags->cap) {
            diags->cap = diags->cap ? diags->cap * 2 : 16;
            diags->items = mla_xrealloc(diags->items, diags->cap * sizeof *e);
        }
        diags->items[diags->n++] = *e;
    }
    if (err)
        *err = *e;
}

/* The directory cannot be opened: reported with the errno text. (Unlike load_report, the
 * diagnostic is dropped when diags is already full: kept as it was.) */
static enum mla_code load_dir_unreadable(const char *dir, struct mla_policy_diags *diags,
                                         struct mla_err *err)
{
    struct mla_err e;
    mla_err_clear(&e);
    (void)mla_err_set_at(&e, MLA_EIO, dir, 0, 0, "cannot open policy directory: %s",
                         strerror(errno));
    if (diags) {
        diags->cap = diags->cap ? diags->cap : 4;
        diags->items = mla_xrealloc(diags->items, diags->cap * sizeof e);
        if (diags->n < diags->cap)
            diags->items[diags->n++] = e;
    }
    if (err)
        *err = e;
    return MLA_EIO;
}

/* The policy files in the open directory d, as "dir/name" (new, each and the array free()),
 * in readdir order; *np gets how many. */
static char **load_list(const char *dir, DIR *d, size_t *np)
{
    char **files = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        struct dirent *de = readdir(d);
        if (!de)
            break;
        if (!load_wanted(de->d_name))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            files = mla_xrealloc(files, cap * sizeof *files);
        }
        files[n++] = mla_xasprintf("%s/%s", dir, de->d_name);
    }
    *np = n;
    return files;
}

/* Reads files[0..n) into texts (a non-regular file reads as ""), stopping at the first that
 * cannot be read. */
static enum mla_code load_texts(char **files, size_t n, char **texts,
                                struct mla_policy_diags *diags, struct mla_err *err)
{
    enum mla_code rc = MLA_OK;
    for (size_t i = 0; i < n && rc == MLA_OK; i++) {
        struct stat st;
        if (stat(files[i], &st) == 0 && !S_ISREG(st.st_mode)) {
            texts[i] = mla_xstrdup("");
            continue;
        }
        struct mla_err e;
        mla_err_clear(&e);
        rc = load_read(files[i], &texts[i], &e);
        if (rc != MLA_OK)
            load_report(diags, err, &e);
    }
    return rc;
}

enum mla_code mla_policy_set_load_dir_diags(const char *dir, struct mla_policy_set **out,
                                            struct mla_policy_diags *diags, struct mla_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return load_dir_unreadable(dir, diags, err);
    size_t n;
    char **files = load_list(dir, d, &n);
    closedir(d);
    if (!n) {
        free(files);
        struct mla_err e;
        mla_err_clear(&e);
        (void)mla_err_set_at(&e, MLA_EPOLICY, dir, 0, 0,
                             "no policy files (*.yaml, *.yml, *.json) in this directory");
        load_report(diags, err, &e);
        return MLA_EPOLICY;
    }
    qsort(files, n, sizeof *files, load_strcmp);
    char **texts = mla_xcalloc(n + 1, sizeof *texts);
    enum mla_code rc = load_texts(files, n, texts, diags, err);
    if (rc == MLA_OK)
        rc = mla_policy_set_load_texts((const char *const *)files, (const char *const *)texts, n,
                                       out, diags, err);
    for (size_t i = 0; i < n; i++) {
        free(files[i]);
        free(texts[i]);
    }
    free(files);
    free(texts);
    return rc;
}

enum mla_code mla_policy_set_load_dir(const char *dir, struct mla_policy_set **out,
                                      struct mla_err *err)
{
    return mla_policy_set_load_dir_diags(dir, out, NULL, err);
}

void mla_policy_set_ref(struct mla_policy_set *ps)
{
    if (ps)
        atomic_fetch_add(&ps->refs, 1);
}

void mla_policy_set_unref(struct mla_policy_set *ps)
{
    if (ps && atomic_fetch_sub(&ps->refs, 1) == 1) {
        cJSON_Delete(ps->owned);
        mla_hours_db_unref(ps->tzdb);
        free(ps->pol);
        mla_arena_fini(&ps->arena);
        free(ps);
    }
}

const char *mla_policy_set_hash(const struct mla_policy_set *ps)
{
    return ps ? ps->hash : "";
}

size_t mla_policy_set_count(const struct mla_policy_set *ps)
{
    return ps ? ps->n : 0;
}

size_t mla_policy_set_profile_count(const struct mla_policy_set *ps)
{
    return ps ? ps->nprofiles : 0;
}

const struct mla_policy *mla_policy_set_policies(const struct mla_policy_set *ps, size_t *n)
{
    *n = ps ? ps->n : 0;
    return ps ? ps->pol : NULL;
}

struct mla_tzdb *mla_policy_set_tzdb(const struct mla_policy_set *ps)
{
    return ps->tzdb;
}
