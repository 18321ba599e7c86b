/* mem.h - allocation wrappers that abort on out-of-memory.
 *
 * Why: a webhook that half-handles OOM answers wrongly; one that aborts is restarted by the
 * kubelet and kube-apiserver applies the webhook's failurePolicy. So allocation failure is not
 * an error code anywhere in this project: it ends the process with a message.
 * Threading: any thread. Ownership: every returned pointer is new, freed by the caller with free().
 */
#ifndef MLA_MEM_H
#define MLA_MEM_H

#include <stddef.h>

void *mla_xmalloc(size_t n);
void *mla_xcalloc(size_t nmemb, size_t size);
void *mla_xrealloc(void *p, size_t n);
char *mla_xstrdup(const char *s);
char *mla_xstrndup(const char *s, size_t n);
/* printf into a new string. */
char *mla_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
