/* SQLite's own page cache, with its truncation made cheap when there is nothing to truncate.

   Every COMMIT ends by asking the page cache to drop the pages past the end of the database
   (xTruncate with the database size + 1). SQLite's cache skips that when no page it has ever
   been given lies past the limit, and otherwise walks its hash table: every slot and every
   cached page, 16,384 of each with our 64 MiB cache, about a millisecond. But when a B-tree
   split reorders sibling pages, btree.c swaps two page numbers through a spare one, the page
   of the locking byte (page 262,145 with 4 KiB pages, at 1 GiB), and the cache then believes
   a page past the end may exist until the next walk. Splits happen in most commits of writes
   into indexes with keys in random order (DynamoDB items, SQS FIFO groups), so most commits
   paid the whole walk: 12-14 % of the server's time under PutItem.

   This wrapper forwards every method to SQLite's cache and keeps, per cache, a bound it can
   prove: `top`, the largest page number a fetch could have created since the last truncation
   that ran, and `parked`, how many pages were moved (xRekey) to a number above `top` and not
   moved back from one. While `parked` is 0 no page lies above `top`, so a truncation whose
   limit is above `top` has nothing to drop and is answered here. Pages leave the cache in ways
   the wrapper does not see (eviction, discard); `parked` then stays above 0 and the truncation
   runs as before: the bound errs only towards doing the work.

   The cache is chosen with sqlite3_config, which SQLite accepts only before it initializes:
   this module must be imported before the sqlite3 module (gondwana/storage/__init__.py does).
   Otherwise SQLite's cache serves unchanged and installed() says so. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <sqlite3.h>

typedef struct {
    sqlite3_pcache *inner;
    unsigned int top;
    unsigned int parked;
} Cache;

static sqlite3_pcache_methods2 inner; /* SQLite's default cache */
static int installed;
static unsigned long long answered, forwarded; /* truncations, for counts() */

static int cache_init(void *arg) {
    return inner.xInit(inner.pArg);
}

static void cache_shutdown(void *arg) {
    if (inner.xShutdown)
        inner.xShutdown(inner.pArg);
}

static sqlite3_pcache *cache_create(int page_size, int extra_size, int purgeable) {
    Cache *cache = sqlite3_malloc(sizeof(Cache));
    if (cache == NULL)
        return NULL;
    cache->inner = inner.xCreate(page_size, extra_size, purgeable);
    if (cache->inner == NULL) {
        sqlite3_free(cache);
        return NULL;
    }
    cache->top = 0;
    cache->parked = 0;
    return (sqlite3_pcache *)cache;
}

#define INNER(p) (((Cache *)(p))->inner)

static void cache_size(sqlite3_pcache *p, int pages) {
    inner.xCachesize(INNER(p), pages);
}

static int cache_page_count(sqlite3_pcache *p) {
    return inner.xPagecount(INNER(p));
}

static sqlite3_pcache_page *cache_fetch(sqlite3_pcache *p, unsigned int key, int create) {
    Cache *cache = (Cache *)p;
    if (create && key > cache->top)
        cache->top = key;
    return inner.xFetch(cache->inner, key, create);
}

static void cache_unpin(sqlite3_pcache *p, sqlite3_pcache_page *page, int discard) {
    inner.xUnpin(INNER(p), page, discard);
}

static void cache_rekey(sqlite3_pcache *p, sqlite3_pcache_page *page, unsigned int from, unsigned int to) {
    Cache *cache = (Cache *)p;
    if (from > cache->top && cache->parked > 0)
        cache->parked--;
    if (to > cache->top)
        cache->parked++;
    inner.xRekey(cache->inner, page, from, to);
}

static void cache_truncate(sqlite3_pcache *p, unsigned int limit) {
    Cache *cache = (Cache *)p;
    if (cache->parked == 0 && limit > cache->top) {
        __atomic_add_fetch(&answered, 1, __ATOMIC_RELAXED);
        return;
    }
    __atomic_add_fetch(&forwarded, 1, __ATOMIC_RELAXED);
    inner.xTruncate(cache->inner, limit);
    /* Nothing at or above the limit is left. */
    cache->top = limit > 0 ? limit - 1 : 0;
    cache->parked = 0;
}

static void cache_destroy(sqlite3_pcache *p) {
    inner.xDestroy(INNER(p));
    sqlite3_free(p);
}

static void cache_shrink(sqlite3_pcache *p) {
    inner.xShrink(INNER(p));
}

static sqlite3_pcache_methods2 methods = {
    1, NULL, cache_init, cache_shutdown, cache_create, cache_size, cache_page_count, cache_fetch,
    cache_unpin, cache_rekey, cache_truncate, cache_destroy, cache_shrink,
};

static PyObject *is_installed(PyObject *self, PyObject *unused) {
    return PyBool_FromLong(installed);
}

static PyObject *counts(PyObject *self, PyObject *unused) {
    return Py_BuildValue("{s:K,s:K}", "answered", __atomic_load_n(&answered, __ATOMIC_RELAXED), "forwarded",
                         __atomic_load_n(&forwarded, __ATOMIC_RELAXED));
}

static PyMethodDef module_methods[] = {
    {"installed", is_installed, METH_NOARGS,
     "Whether SQLite took this cache (it was not initialized yet when this module loaded)."},
    {"counts", counts, METH_NOARGS,
     "{'answered': truncations found empty here, 'forwarded': truncations SQLite's cache ran}."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_pagecache", NULL, -1, module_methods};

PyMODINIT_FUNC PyInit__pagecache(void) {
    if (!installed && sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &inner) == SQLITE_OK && inner.xCreate)
        installed = sqlite3_config(SQLITE_CONFIG_PCACHE2, &methods) == SQLITE_OK;
    return PyModule_Create(&module);
}
