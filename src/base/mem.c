/* base/mem.c - allocation wrappers that abort on out-of-memory (see mem.h for why). */
#include "mla/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void mem_oom(size_t n)
{
    fprintf(stderr, "ml-autoscaling: out of memory allocating %zu bytes\n", n);
    abort();
}

void *mla_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        mem_oom(n);
    return p;
}

void *mla_xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p)
        mem_oom(nmemb * size);
    return p;
}

void *mla_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        mem_oom(n);
    return q;
}

char *mla_xstrdup(const char *s)
{
    char *p = strdup(s ? s : "");
    if (!p)
        mem_oom(strlen(s ? s : ""));
    return p;
}

char *mla_xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (!p)
        mem_oom(n);
    return p;
}

char *mla_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *out = NULL;
    int r = vasprintf(&out, fmt, ap);
    va_end(ap);
    if (r < 0)
        mem_oom(0);
    return out;
}
