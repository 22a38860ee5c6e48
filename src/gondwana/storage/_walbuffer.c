/* A SQLite VFS that writes each commit's write-ahead-log frames with one system call.

   SQLite appends a commit to the WAL frame by frame, and each frame with two writes: a 24-byte
   header, then the page. A group commit of 8 DynamoDB puts dirties some 25 pages: 50 pwrite
   calls, each costing about as much in the kernel as a small one. This VFS wraps the default
   one and holds a WAL file's run of appends in a buffer, written out in one call (or a few,
   see MAX_WRITE):
   - right after the page of a commit frame is written, inside that write call, so COMMIT
     returns with every frame in the file (what was acknowledged survives kill -9; strict
     mode's fsync covers it) and an error still fails the commit. SQLite publishes frames only
     by a commit (the last frame it writes, the one whose header carries the database size).
     What follows the commit frame in the same commit (padding frames, in FULL mode without
     power-safe overwrite) is written through;
   - before anything else touches the file: a read, a sync, a size, a truncate, a control call,
     a close, or a write that is not the next append (a frame SQLite overwrites in place).
   A failed write-out keeps the buffer: the call reports the error, and the next one tries
   again, so no frame SQLite counts on is ever dropped.
   What is still held when the connection takes or gives up the WAL's write lock (xShmLock on
   the database file, which is wrapped for this alone) belongs to no commit: frames of a rolled
   back transaction, spilled from the page cache. It is dropped, never written over what
   another writer may commit at the same offsets.
   Every other file (journals, temporary files) goes straight to the default VFS. A WAL file and
   its database file belong to one connection, which SQLite serializes. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <sqlite3.h>
#include <string.h>

#define VFS_NAME "gondwana-wal"
#define BUFFER_SIZE (1 << 20)
#define FRAME_HEADER 24
/* The unix VFS writes at most 128 KiB - 1 bytes per call (it masks the length with 0x1ffff;
   SQLite itself never writes more than a 64 KiB page): a larger buffer goes out in pieces. */
#define MAX_WRITE (124 * 1024)

typedef struct WalFile WalFile;
typedef struct DbFile DbFile;

struct WalFile {
    sqlite3_file base; /* pMethods = &wal_methods */
    sqlite3_file *real; /* the default VFS's file, in the memory just after this struct */
    char *buffer; /* BUFFER_SIZE bytes, from the first append on */
    sqlite3_int64 start; /* the file offset of buffer[0] */
    int used;
    sqlite3_int64 end; /* where the last write ended */
    int commit_page_next; /* the last write was the header of a commit frame */
    int committed; /* the commit frame is out: the rest of this commit is written through */
    DbFile *db; /* its database file (NULL once that is closed) */
};

struct DbFile {
    sqlite3_file base; /* pMethods = &db_methods */
    sqlite3_file *real;
    const char *name; /* as SQLite passed it to xOpen: sqlite3_filename_database() of the WAL's */
    WalFile *wal; /* the WAL file of the same connection, once open */
    DbFile *next; /* the open database files, to find a WAL's */
};

static sqlite3_vfs *default_vfs;
static DbFile *db_files;
static pthread_mutex_t db_files_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long long held_writes, flushes; /* for counts(): what the buffer saved */
static int fail_next_flush; /* tests: the next write-out fails as on a full disk */

/* The default VFS's file behind either kind of ours (`real` is at the same place in both). */
#define REAL(file) (((WalFile *)(file))->real)

static int flush(WalFile *w) {
    int rc = SQLITE_OK;
    if (w->used == 0)
        return rc;
    if (__atomic_exchange_n(&fail_next_flush, 0, __ATOMIC_RELAXED))
        return SQLITE_FULL;
    __atomic_add_fetch(&flushes, 1, __ATOMIC_RELAXED);
    for (int done = 0; done < w->used && rc == SQLITE_OK; done += MAX_WRITE) {
        int piece = w->used - done < MAX_WRITE ? w->used - done : MAX_WRITE;
        rc = w->real->pMethods->xWrite(w->real, w->buffer + done, piece, w->start + done);
    }
    if (rc == SQLITE_OK) /* else kept whole: pieces already out are written again, same bytes */
        w->used = 0;
    return rc;
}

/* Drop what is held (frames of no commit) and start afresh: the write lock changes hands. */
static void drop(WalFile *w) {
    w->used = 0;
    w->commit_page_next = w->committed = 0;
}

static int wal_write(sqlite3_file *file, const void *data, int amount, sqlite3_int64 offset) {
    WalFile *w = (WalFile *)file;
    int rc = SQLITE_OK;
    int appends = offset == w->end || w->end == 0; /* the next append, or the first write */
    if (appends && w->buffer == NULL)
        w->buffer = sqlite3_malloc(BUFFER_SIZE);
    if (!appends || w->committed || w->buffer == NULL || amount > BUFFER_SIZE) {
        rc = flush(w);
        if (rc == SQLITE_OK)
            rc = w->real->pMethods->xWrite(w->real, data, amount, offset);
    } else {
        if (w->used + amount > BUFFER_SIZE)
            rc = flush(w);
        if (rc == SQLITE_OK) {
            if (w->used == 0)
                w->start = offset;
            memcpy(w->buffer + w->used, data, (size_t)amount);
            w->used += amount;
            __atomic_add_fetch(&held_writes, 1, __ATOMIC_RELAXED);
            if (w->commit_page_next) { /* the commit frame is complete: out with the commit */
                rc = flush(w);
                w->committed = 1;
            }
        }
    }
    if (rc != SQLITE_OK)
        return rc;
    w->end = offset + amount;
    /* A frame header's bytes 4..7 hold the database size in pages after a commit, 0 otherwise. */
    if (amount == FRAME_HEADER) {
        const unsigned char *h = data;
        w->commit_page_next = (h[4] | h[5] | h[6] | h[7]) != 0;
        if (!w->commit_page_next) /* a frame of another commit (or a checksum rewrite) */
            w->committed = 0;
    } else {
        w->commit_page_next = 0;
    }
    return SQLITE_OK;
}

static int wal_read(sqlite3_file *file, void *data, int amount, sqlite3_int64 offset) {
    int rc = flush((WalFile *)file);
    return rc != SQLITE_OK ? rc : REAL(file)->pMethods->xRead(REAL(file), data, amount, offset);
}

static int wal_truncate(sqlite3_file *file, sqlite3_int64 size) {
    int rc = flush((WalFile *)file);
    return rc != SQLITE_OK ? rc : REAL(file)->pMethods->xTruncate(REAL(file), size);
}

static int wal_sync(sqlite3_file *file, int flags) {
    int rc = flush((WalFile *)file);
    return rc != SQLITE_OK ? rc : REAL(file)->pMethods->xSync(REAL(file), flags);
}

static int wal_file_size(sqlite3_file *file, sqlite3_int64 *size) {
    int rc = flush((WalFile *)file);
    return rc != SQLITE_OK ? rc : REAL(file)->pMethods->xFileSize(REAL(file), size);
}

static int wal_file_control(sqlite3_file *file, int op, void *arg) {
    int rc = flush((WalFile *)file);
    return rc != SQLITE_OK ? rc : REAL(file)->pMethods->xFileControl(REAL(file), op, arg);
}

static int wal_close(sqlite3_file *file) {
    WalFile *w = (WalFile *)file;
    pthread_mutex_lock(&db_files_lock);
    if (w->db != NULL)
        w->db->wal = NULL;
    pthread_mutex_unlock(&db_files_lock);
    int rc = flush(w);
    int closed = w->real->pMethods->xClose(w->real);
    sqlite3_free(w->buffer);
    return rc != SQLITE_OK ? rc : closed;
}

/* Passed straight through, for both kinds of file. */
static int pass_lock(sqlite3_file *file, int level) {
    return REAL(file)->pMethods->xLock(REAL(file), level);
}

static int pass_unlock(sqlite3_file *file, int level) {
    return REAL(file)->pMethods->xUnlock(REAL(file), level);
}

static int pass_check_reserved(sqlite3_file *file, int *out) {
    return REAL(file)->pMethods->xCheckReservedLock(REAL(file), out);
}

static int pass_sector_size(sqlite3_file *file) {
    return REAL(file)->pMethods->xSectorSize(REAL(file));
}

static int pass_device(sqlite3_file *file) {
    return REAL(file)->pMethods->xDeviceCharacteristics(REAL(file));
}

/* Version 1: a WAL file has no shared memory or memory map of its own. */
static const sqlite3_io_methods wal_methods = {
    1, wal_close, wal_read, wal_write, wal_truncate, wal_sync, wal_file_size, pass_lock, pass_unlock,
    pass_check_reserved, wal_file_control, pass_sector_size, pass_device,
};

/* ---- the database file: passes through; its WAL write lock changing hands drops leftovers ---- */

static int db_close(sqlite3_file *file) {
    DbFile *d = (DbFile *)file;
    pthread_mutex_lock(&db_files_lock);
    for (DbFile **p = &db_files; *p != NULL; p = &(*p)->next)
        if (*p == d) {
            *p = d->next;
            break;
        }
    if (d->wal != NULL)
        d->wal->db = NULL;
    pthread_mutex_unlock(&db_files_lock);
    return REAL(file)->pMethods->xClose(REAL(file));
}

static int db_read(sqlite3_file *file, void *data, int amount, sqlite3_int64 offset) {
    return REAL(file)->pMethods->xRead(REAL(file), data, amount, offset);
}

static int db_write(sqlite3_file *file, const void *data, int amount, sqlite3_int64 offset) {
    return REAL(file)->pMethods->xWrite(REAL(file), data, amount, offset);
}

static int db_truncate(sqlite3_file *file, sqlite3_int64 size) {
    return REAL(file)->pMethods->xTruncate(REAL(file), size);
}

static int db_sync(sqlite3_file *file, int flags) {
    return REAL(file)->pMethods->xSync(REAL(file), flags);
}

static int db_file_size(sqlite3_file *file, sqlite3_int64 *size) {
    return REAL(file)->pMethods->xFileSize(REAL(file), size);
}

static int db_file_control(sqlite3_file *file, int op, void *arg) {
    return REAL(file)->pMethods->xFileControl(REAL(file), op, arg);
}

static int db_shm_map(sqlite3_file *file, int page, int size, int extend, void volatile **out) {
    return REAL(file)->pMethods->xShmMap(REAL(file), page, size, extend, out);
}

/* The WAL write lock is the first of the shared-memory locks (WAL_WRITE_LOCK in wal.c). */
static int db_shm_lock(sqlite3_file *file, int offset, int n, int flags) {
    DbFile *d = (DbFile *)file;
    if (offset == 0 && (flags & SQLITE_SHM_EXCLUSIVE) && d->wal != NULL)
        drop(d->wal);
    return REAL(file)->pMethods->xShmLock(REAL(file), offset, n, flags);
}

static void db_shm_barrier(sqlite3_file *file) {
    REAL(file)->pMethods->xShmBarrier(REAL(file));
}

static int db_shm_unmap(sqlite3_file *file, int delete_flag) {
    return REAL(file)->pMethods->xShmUnmap(REAL(file), delete_flag);
}

static int db_fetch(sqlite3_file *file, sqlite3_int64 offset, int amount, void **out) {
    return REAL(file)->pMethods->xFetch(REAL(file), offset, amount, out);
}

static int db_unfetch(sqlite3_file *file, sqlite3_int64 offset, void *page) {
    return REAL(file)->pMethods->xUnfetch(REAL(file), offset, page);
}

static const sqlite3_io_methods db_methods = {
    3, db_close, db_read, db_write, db_truncate, db_sync, db_file_size, pass_lock, pass_unlock,
    pass_check_reserved, db_file_control, pass_sector_size, pass_device, db_shm_map, db_shm_lock,
    db_shm_barrier, db_shm_unmap, db_fetch, db_unfetch,
};

/* ---- the VFS ---------------------------------------------------------------------------- */

/* Rounded up to 8 bytes, so that the default VFS's file just after ours is aligned. */
#define ALIGNED(size) (((size) + 7) & ~(size_t)7)
#define OWN_SIZE (ALIGNED(sizeof(WalFile)) > ALIGNED(sizeof(DbFile)) ? ALIGNED(sizeof(WalFile)) : ALIGNED(sizeof(DbFile)))

static int vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags) {
    if (!(flags & (SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_DB)))
        return default_vfs->xOpen(default_vfs, name, file, flags, out_flags);
    memset(file, 0, OWN_SIZE);
    sqlite3_file *real = (sqlite3_file *)((char *)file + OWN_SIZE);
    ((WalFile *)file)->real = real; /* the same place in both structs */
    int rc = default_vfs->xOpen(default_vfs, name, real, flags, out_flags);
    if (rc != SQLITE_OK) {
        if (real->pMethods != NULL)
            real->pMethods->xClose(real);
        return rc; /* pMethods stays NULL: SQLite will not close it */
    }
    pthread_mutex_lock(&db_files_lock);
    if (flags & SQLITE_OPEN_MAIN_DB) {
        DbFile *d = (DbFile *)file;
        d->name = name;
        d->next = db_files;
        db_files = d;
        file->pMethods = &db_methods;
    } else {
        WalFile *w = (WalFile *)file;
        const char *db_name = name != NULL ? sqlite3_filename_database(name) : NULL;
        for (DbFile *d = db_files; d != NULL; d = d->next)
            if (d->name == db_name && d->wal == NULL) {
                d->wal = w;
                w->db = d;
                break;
            }
        file->pMethods = &wal_methods;
    }
    pthread_mutex_unlock(&db_files_lock);
    return SQLITE_OK;
}

/* The rest of the VFS passes to the default one, called with its own sqlite3_vfs. */
static int vfs_delete(sqlite3_vfs *v, const char *name, int sync) {
    return default_vfs->xDelete(default_vfs, name, sync);
}
static int vfs_access(sqlite3_vfs *v, const char *name, int flags, int *out) {
    return default_vfs->xAccess(default_vfs, name, flags, out);
}
static int vfs_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out) {
    return default_vfs->xFullPathname(default_vfs, name, n, out);
}
static void *vfs_dl_open(sqlite3_vfs *v, const char *name) {
    return default_vfs->xDlOpen(default_vfs, name);
}
static void vfs_dl_error(sqlite3_vfs *v, int n, char *out) {
    default_vfs->xDlError(default_vfs, n, out);
}
static void (*vfs_dl_sym(sqlite3_vfs *v, void *lib, const char *name))(void) {
    return default_vfs->xDlSym(default_vfs, lib, name);
}
static void vfs_dl_close(sqlite3_vfs *v, void *lib) {
    default_vfs->xDlClose(default_vfs, lib);
}
static int vfs_randomness(sqlite3_vfs *v, int n, char *out) {
    return default_vfs->xRandomness(default_vfs, n, out);
}
static int vfs_sleep(sqlite3_vfs *v, int microseconds) {
    return default_vfs->xSleep(default_vfs, microseconds);
}
static int vfs_current_time(sqlite3_vfs *v, double *out) {
    return default_vfs->xCurrentTime(default_vfs, out);
}
static int vfs_last_error(sqlite3_vfs *v, int n, char *out) {
    return default_vfs->xGetLastError(default_vfs, n, out);
}
static int vfs_current_time_int64(sqlite3_vfs *v, sqlite3_int64 *out) {
    return default_vfs->xCurrentTimeInt64(default_vfs, out);
}

static sqlite3_vfs vfs = {
    2, 0, 0, NULL, VFS_NAME, NULL, vfs_open, vfs_delete, vfs_access, vfs_full_pathname,
    vfs_dl_open, vfs_dl_error, vfs_dl_sym, vfs_dl_close, vfs_randomness, vfs_sleep,
    vfs_current_time, vfs_last_error, vfs_current_time_int64,
};

static PyObject *register_vfs(PyObject *self, PyObject *unused) {
    if (default_vfs == NULL) {
        sqlite3_vfs *found = sqlite3_vfs_find(NULL);
        if (found == NULL || found->iVersion < 2) {
            PyErr_SetString(PyExc_RuntimeError, "no default SQLite VFS to wrap");
            return NULL;
        }
        vfs.mxPathname = found->mxPathname;
        vfs.szOsFile = (int)(OWN_SIZE + found->szOsFile);
        default_vfs = found;
        if (sqlite3_vfs_register(&vfs, 0) != SQLITE_OK) {
            default_vfs = NULL;
            PyErr_SetString(PyExc_RuntimeError, "SQLite refused the VFS");
            return NULL;
        }
    }
    return PyUnicode_FromString(VFS_NAME);
}

static PyObject *counts(PyObject *self, PyObject *unused) {
    return Py_BuildValue("{s:K,s:K}", "held", __atomic_load_n(&held_writes, __ATOMIC_RELAXED), "flushed",
                         __atomic_load_n(&flushes, __ATOMIC_RELAXED));
}

static PyObject *fail_next(PyObject *self, PyObject *unused) {
    __atomic_store_n(&fail_next_flush, 1, __ATOMIC_RELAXED);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"register", register_vfs, METH_NOARGS,
     "Register the WAL-buffering VFS with the SQLite library this module is linked to (once);"
     " return its name."},
    {"counts", counts, METH_NOARGS,
     "{'held': WAL writes taken into a buffer, 'flushed': buffers written out}, since start."},
    {"fail_next_flush", fail_next, METH_NOARGS,
     "For tests: the next write-out of a buffer fails as on a full disk (SQLITE_FULL)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_walbuffer", NULL, -1, methods};

PyMODINIT_FUNC PyInit__walbuffer(void) {
    return PyModule_Create(&module);
}
