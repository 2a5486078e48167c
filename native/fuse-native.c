// filesfs's C binding for npm fuse-native's JavaScript face, on libfuse 3.
//
// Derived from fuse-native 2.2.6's fuse-native.c (MIT, Mathias Buus and
// Andrew Osheroff), which binds libfuse 2.9. native/build-fuse-native.mjs
// copies this file and native/binding.gyp over the package's own before
// building, and applies native/fuse-native-index.patch to its index.js. It
// keeps fuse-native's protocol with index.js (one JS handler per operation,
// called on the event loop through a uv_async per libfuse thread, answered
// through fuse_native_signal_<op>), so index.js stays the JavaScript face.
//
// Built against the system libfuse 3 (pkg-config fuse3; Debian libfuse3-dev,
// 3.14 on bookworm). What this binding does beyond a line-by-line port, and
// what became of each fix our libfuse 2.9 patch carried:
//
//  1. utimens passed atime twice (mtime was lost): mtime is passed as the
//     second time.
//  2. UTIME_NOW / UTIME_OMIT reached JS as times in January 1970: UTIME_NOW is
//     resolved to the current time here, UTIME_OMIT is sent as the all-ones
//     64-bit value that src/fuse decodes as "leave unchanged".
//  3. create did not pass the open(2) flags: they are the third argument.
//  4. flag_utime_omit_ok (libfuse 2.9 called utimens only when both times
//     were set): not needed. libfuse 3 always calls utimens, with UTIME_OMIT
//     for the time not being set (lib/fuse.c, fuse_lib_setattr).
//  5. flag_nullpath_ok (I/O on files unlinked while open under hard_remove):
//     not needed, and must not be set. libfuse 3 hands a NULL path to an
//     operation on a handle whose file has no name any more (get_path_nullok
//     turns ESTALE into "no path"); its `nullpath_ok` config would instead
//     drop the path of EVERY handle operation. JS gets "" for NULL, and
//     handle-based operations are answered by handle. New with libfuse 3:
//     getattr gets the handle when the kernel sends one, and reaches JS as
//     fgetattr(path, fh) (fuse_native_getattr): lseek(SEEK_END), a read
//     past the cached size, the attributes after a change through a handle.
//     fstat(2) sends none (the kernel's getattr inode operation has no open
//     file), so libfuse, which finds a file by its name, still cannot answer
//     it for a file unlinked while open once the kernel's attributes are
//     stale: ESTALE (libfuse 2.9: ENOENT).
//  6. /dev/fuse inherited by child processes: not needed. libfuse 3 opens it
//     with O_CLOEXEC and sets FD_CLOEXEC on the descriptor fusermount3
//     passes back (lib/mount.c).
//  7. A dead mount left when libfuse rejected an option after mounting: not
//     possible any more. libfuse 3 parses every option in fuse_new(), before
//     fuse_mount(); when anything fails after fuse_mount() (the event-loop
//     handle, the loop thread), the mount is undone before the error.
//  8. Per-thread I/O buffers: each libfuse thread has one 1 MiB JS Buffer
//     (max_read = max_write), made with its thread locals; the libfuse thread
//     copies a write into it before JS runs and a read out of it after JS
//     filled it, so that copy runs beside the event loop. A new external
//     Buffer per request instead would be external memory for V8 (1 GiB
//     moved = 1 GiB of them), which sets off its major GCs.
//  9. The attribute cache answered in libfuse's thread (readdir's stats kept
//     for the lookups that followed, since libfuse 2.9 had no READDIRPLUS):
//     not needed. readdir hands libfuse each entry's stat with
//     FUSE_FILL_DIR_PLUS, libfuse 3 answers the kernel's READDIRPLUS with
//     them, and a cold `ls -l` sends no LOOKUP per entry at all.
// 10. 1 MiB requests: max_write and max_readahead come from the option
//     string (conn options, fuse_parse_conn_info_opts), max_read is a mount
//     option; libfuse asks the kernel for max_write / page size pages (256).
//     libfuse 2.9's protocol capped every request at 128 KiB.
// 11. Threads: libfuse 2.9 ran at most 10; each operation in progress (a
//     long fsync, a listing of a slow folder) holds one. The loop's
//     max_threads is DEFAULT_MAX_THREADS unless the option max_threads=N
//     says otherwise; idle threads are kept (libfuse's default), so each
//     thread's locals live as long as the mount.
// 12. Kernel capabilities libfuse 3 would ask for by default and filesfs
//     does not want: splice reads (no gain for a filesystem that copies every
//     request into JS anyway, and a pipe per thread), HANDLE_KILLPRIV (the
//     kernel keeps clearing set-uid bits on write itself, as with 2.9), and
//     flock/POSIX locks unless JS registered flock/lock: without the ops the
//     kernel keeps locks local, as with 2.9 (libfuse 3 would otherwise claim
//     flock support and answer ENOSYS to every flock(2)).
// 13. New operations for JS: lock (fcntl F_GETLK/F_SETLK/F_SETLKW with the
//     struct flock and the lock owner) and flock (LOCK_SH/LOCK_EX/LOCK_UN,
//     LOCK_NB, with the owner and the requesting pid); a release that the
//     kernel marks as ending the file's flock locks calls flock(LOCK_UN)
//     first (libfuse leaves that to the filesystem); rename's flags
//     (RENAME_NOREPLACE, RENAME_EXCHANGE) are passed as a third argument.
// 14. getxattr and listxattr with a buffer smaller than the answer return
//     ERANGE (the JS face answers the full length; libfuse would send more
//     bytes than the kernel asked for, which the kernel refuses with EINVAL).
// 15. A signal from JS that cannot be decoded still wakes the libfuse thread
//     (with EIO) instead of leaving it blocked forever.
// 16. Who asked: each operation records the calling process's uid, gid, pid
//     and umask (fuse_get_context()), and fuse_native_caller() answers them
//     to JS while that operation's JS handler runs (synchronously, on the JS
//     thread). The filesystem needs them for the owner and group of what a
//     process creates (create, mkdir, mknod, symlink), as a local disk
//     gives them.
// 17. user_xattr_only (a binding option): getxattr, setxattr and
//     removexattr of a name outside the user. namespace answer EOPNOTSUPP
//     in the libfuse thread, without going to JS. The kernel asks for
//     security.capability before every write to a file, and `ls -l` for an
//     ACL and a security label of every entry; a filesystem that keeps only
//     user.* attributes answers those at a cost of microseconds, and
//     "not supported" (not ENODATA) is what makes `ls` stop asking for the
//     rest of the device (coreutils remembers a device that answered
//     ENOTSUP), as on a local disk mounted without ACLs or labels.
// 18. fuse_native_trim_memory() returns the free pages of malloc's heaps to
//     the system (glibc's malloc_trim; false where there is none). Buffers
//     freed by V8 go back to malloc, which keeps the pages for later: a
//     mount process that moved a few GiB stays at its peak size for good
//     unless something asks malloc to let go once the process is idle.
// 19. Whether the kernel keeps a file's page cache across opens is decided
//     by JS, per open (bit 30 of the handle open and create answer), not by
//     libfuse's auto_cache, which compares only the size and the mtime: on a
//     server whose times are whole seconds (and where a client may keep the
//     time it gives), a new version of the same size and time kept the old
//     version's pages, and new opens read old or mixed bytes. JS knows the
//     version each open reads, and keeps the pages only for the same one.
#define FUSE_USE_VERSION 312

#include <uv.h>
#include <node_api.h>
#include <napi-macros.h>

#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <assert.h>
#include <errno.h>

#include <fuse.h>
#include <fuse_opt.h>

#include <unistd.h>
#include <fcntl.h>
#include <time.h>
#include <sys/stat.h>
#include <pthread.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

static int IS_ARRAY_BUFFER_DETACH_SUPPORTED = 0;

napi_status napi_detach_arraybuffer(napi_env env, napi_value buf);

// One JS Buffer per libfuse thread for reads and writes: the largest request
// the kernel sends with max_read = max_write = 1 MiB.
#define IO_BUFFER_BYTES (1024 * 1024)

// libfuse 3's own default is 10 (lib/fuse_loop_mt.c).
#define DEFAULT_MAX_THREADS 64

#define FUSE_NATIVE_CALLBACK(fn, blk)\
  napi_env env = ft->env;\
  napi_handle_scope scope;\
  napi_open_handle_scope(env, &scope);\
  napi_value ctx;\
  napi_get_reference_value(env, ft->ctx, &ctx);\
  napi_value callback;\
  napi_get_reference_value(env, fn, &callback);\
  blk\
  napi_close_handle_scope(env, scope);

// Runs in a libfuse thread: hands the operation to the JS thread and waits
// for its answer. A NULL path (an operation on a handle whose file was
// unlinked) reaches JS as "".
#define FUSE_NATIVE_HANDLER(name, blk)\
  fuse_thread_locals_t *l = get_thread_locals();\
  l->op = op_##name;\
  l->op_fn = fuse_native_dispatch_##name;\
  record_caller(l);\
  blk\
  if (l->path == NULL) l->path = "";\
  uv_async_send(&(l->async));\
  uv_sem_wait(&(l->sem));\
  return l->res;

// The JS side of an answer: argv[0] is the thread locals, argv[1] the result
// (0, a byte count or a negative errno), the rest what the operation returns.
// Whatever happens, the waiting libfuse thread is woken.
#define FUSE_NATIVE_SIGNAL(name, signalArgs, signalBlk)\
  NAPI_METHOD(fuse_native_signal_##name) {\
    napi_value argv[signalArgs + 2];\
    size_t argc = signalArgs + 2;\
    fuse_thread_locals_t *l = NULL;\
    size_t l_len = 0;\
    if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok ||\
        napi_get_buffer_info(env, argv[0], (void **) &l, &l_len) != napi_ok ||\
        l == NULL || l_len < sizeof(fuse_thread_locals_t)) {\
      napi_throw_error(env, NULL, "fuse-native: signal without thread locals");\
      return NULL;\
    }\
    int32_t res = -EIO;\
    if (napi_get_value_int32(env, argv[1], &res) != napi_ok) res = -EIO;\
    signalBlk\
    l->res = res;\
    uv_sem_post(&(l->sem));\
    return NULL;\
  }

#define FUSE_DISPATCH(name, callbackArgs, callbackBlk)\
  static void fuse_native_dispatch_##name (uv_async_t* handle, fuse_thread_locals_t* l, fuse_thread_t* ft) {\
    uint32_t op = op_##name;\
    FUSE_NATIVE_CALLBACK(ft->handlers[op], {\
      napi_value argv[callbackArgs + 2];\
      napi_get_reference_value(env, l->self, &(argv[0]));\
      napi_create_uint32(env, l->op, &(argv[1]));\
      callbackBlk\
      dispatching = l;\
      NAPI_MAKE_CALLBACK(env, NULL, ctx, callback, callbackArgs + 2, argv, NULL)\
      dispatching = NULL;\
    })\
  }

#define FUSE_METHOD(name, callbackArgs, signalArgs, signature, callBlk, callbackBlk, signalBlk)\
  FUSE_DISPATCH(name, callbackArgs, callbackBlk)\
  FUSE_NATIVE_SIGNAL(name, signalArgs, signalBlk)\
  static int fuse_native_##name signature {\
    FUSE_NATIVE_HANDLER(name, callBlk)\
  }

#define FUSE_METHOD_VOID(name, callbackArgs, signalArgs, signature, callBlk, callbackBlk)\
  FUSE_METHOD(name, callbackArgs, signalArgs, signature, callBlk, callbackBlk, {})

#define FUSE_UINT64_TO_INTS_ARGV(n, pos)\
  uint32_t low##pos = (uint64_t) (n) % 4294967296;\
  uint32_t high##pos = ((uint64_t) (n) - low##pos) / 4294967296;\
  napi_create_uint32(env, low##pos, &(argv[pos]));\
  napi_create_uint32(env, high##pos, &(argv[pos + 1]));

#define FUSE_FH_ARGV(pos)\
  napi_create_uint32(env, l->info != NULL ? (uint32_t) l->info->fh : 0, &(argv[pos]));

// Opcodes (index.js's table uses the same numbers through the exports).

static const uint32_t op_init = 0;
static const uint32_t op_error = 1;
static const uint32_t op_access = 2;
static const uint32_t op_statfs = 3;
static const uint32_t op_fgetattr = 4;
static const uint32_t op_getattr = 5;
static const uint32_t op_flush = 6;
static const uint32_t op_fsync = 7;
static const uint32_t op_fsyncdir = 8;
static const uint32_t op_readdir = 9;
static const uint32_t op_truncate = 10;
static const uint32_t op_ftruncate = 11;
static const uint32_t op_utimens = 12;
static const uint32_t op_readlink = 13;
static const uint32_t op_chown = 14;
static const uint32_t op_chmod = 15;
static const uint32_t op_mknod = 16;
static const uint32_t op_setxattr = 17;
static const uint32_t op_getxattr = 18;
static const uint32_t op_listxattr = 19;
static const uint32_t op_removexattr = 20;
static const uint32_t op_open = 21;
static const uint32_t op_opendir = 22;
static const uint32_t op_read = 23;
static const uint32_t op_write = 24;
static const uint32_t op_release = 25;
static const uint32_t op_releasedir = 26;
static const uint32_t op_create = 27;
static const uint32_t op_unlink = 28;
static const uint32_t op_rename = 29;
static const uint32_t op_link = 30;
static const uint32_t op_symlink = 31;
static const uint32_t op_mkdir = 32;
static const uint32_t op_rmdir = 33;
static const uint32_t op_lock = 34;
static const uint32_t op_flock = 35;
#define OP_COUNT 36

// Data structures

// Options this binding takes out of the option string before libfuse sees
// it: libfuse 3 moved them from mount options to struct fuse_config (set in
// init) or to the loop's configuration.
typedef struct {
  int user_xattr_only;
  int hard_remove;
  int direct_io;
  int intr;
  int intr_signal_set;
  int intr_signal;
  unsigned int max_threads;
  // Also a mount option, kept for libfuse: init() must repeat it (conn->max_read).
  unsigned int max_read;
} binding_opts_t;

#define BINDING_OPT(t, p, v) { t, offsetof(binding_opts_t, p), v }
static const struct fuse_opt binding_opt_spec[] = {
  BINDING_OPT("user_xattr_only", user_xattr_only, 1),
  BINDING_OPT("hard_remove", hard_remove, 1),
  BINDING_OPT("direct_io", direct_io, 1),
  BINDING_OPT("intr", intr, 1),
  BINDING_OPT("intr_signal=", intr_signal_set, 1),
  BINDING_OPT("intr_signal=%d", intr_signal, 0),
  BINDING_OPT("max_threads=%u", max_threads, 0),
  BINDING_OPT("max_read=%u", max_read, 0),
  FUSE_OPT_KEY("max_read=", FUSE_OPT_KEY_KEEP),
  FUSE_OPT_END
};

typedef struct {
  napi_env env;
  pthread_t thread;
  pthread_attr_t attr;
  napi_ref ctx;
  napi_ref malloc;

  // Operation handlers, and which operations JS implements.
  napi_ref handlers[OP_COUNT];
  uint32_t implemented[OP_COUNT];

  struct fuse *fuse;
  struct fuse_conn_info_opts *conn_opts;
  binding_opts_t opts;
  char mnt[1024];
  char mntopts[1024];
  int mounted;

  uv_async_t async;
  uv_mutex_t mut;
  uv_sem_t sem;
} fuse_thread_t;

typedef struct {
  napi_ref self;

  // Opcode
  uint32_t op;
  void *op_fn;

  // Payloads
  const char *path;
  const char *dest;
  char *linkname;
  struct fuse_file_info *info;
  const void *buf;
  off_t offset;
  size_t len;
  mode_t mode;
  dev_t dev;
  uid_t uid;
  gid_t gid;
  uint64_t atime;
  uint64_t mtime;
  unsigned int rename_flags;
  int32_t res;

  // Extended attributes
  const char *name;
  const char *value;
  char *list;
  size_t size;
  uint32_t position;
  int flags;

  // Stat + Statfs
  struct stat *stat;
  struct statvfs *statvfs;

  // Readdir: the folder whose listing JS answers.
  void *dir_ptr;

  // Locks
  int lock_cmd;
  struct flock *lock;
  // The process asking (flock: the kernel sends no pid with it).
  pid_t requester;

  // The process that made the request (item 16).
  uint32_t caller_uid;
  uint32_t caller_gid;
  uint32_t caller_pid;
  uint32_t caller_umask;

  // Internal bookkeeping
  fuse_thread_t *fuse;
  uv_sem_t sem;
  uv_async_t async;

  // This thread's I/O buffer (a JS Buffer) and whether the current request uses it.
  napi_ref io_ref;
  char *io_mem;
  size_t io_cap;
  int io_used;
} fuse_thread_locals_t;

static pthread_key_t thread_locals_key;
static fuse_thread_locals_t* get_thread_locals();

// The operation whose JS handler is running now (JS thread only), for
// fuse_native_caller(); NULL between handlers.
static fuse_thread_locals_t *dispatching = NULL;

// In the libfuse thread, before handing the operation to JS (item 16).
static void record_caller (fuse_thread_locals_t *l) {
  struct fuse_context *caller = fuse_get_context();
  l->caller_uid = caller != NULL ? (uint32_t) caller->uid : 0;
  l->caller_gid = caller != NULL ? (uint32_t) caller->gid : 0;
  l->caller_pid = caller != NULL ? (uint32_t) caller->pid : 0;
  l->caller_umask = caller != NULL ? (uint32_t) caller->umask : 0;
}

// Helpers

static uint64_t uint32s_to_uint64 (uint32_t **ints) {
  uint64_t low = *((*ints)++);
  uint64_t high = *((*ints)++);
  return high * 4294967296 + low;
}

static void uint32s_to_timespec (struct timespec* ts, uint32_t** ints) {
  uint64_t ms = uint32s_to_uint64(ints);
  ts->tv_sec = ms / 1000;
  ts->tv_nsec = (ms % 1000) * 1000000;
}

// utimensat(2)'s UTIME_NOW ("set to the current time") is resolved here;
// UTIME_OMIT ("leave unchanged") is sent as all ones, which src/fuse decodes.
#define TIME_OMIT UINT64_MAX
static uint64_t timespec_to_uint64 (const struct timespec* ts) {
  if (ts->tv_nsec == UTIME_OMIT) return TIME_OMIT;
  if (ts->tv_nsec == UTIME_NOW) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return ((uint64_t) now.tv_sec * 1000) + (now.tv_nsec / 1000000);
  }
  return ((uint64_t) ts->tv_sec * 1000) + (ts->tv_nsec / 1000000);
}

static void populate_stat (uint32_t *ints, struct stat* stat) {
  memset(stat, 0, sizeof(*stat));
  stat->st_mode = *ints++;
  stat->st_uid = *ints++;
  stat->st_gid = *ints++;
  stat->st_size = uint32s_to_uint64(&ints);
  stat->st_dev = *ints++;
  stat->st_nlink = *ints++;
  stat->st_ino = *ints++;
  stat->st_rdev = *ints++;
  stat->st_blksize = *ints++;
  stat->st_blocks = uint32s_to_uint64(&ints);
  uint32s_to_timespec(&stat->st_atim, &ints);
  uint32s_to_timespec(&stat->st_mtim, &ints);
  uint32s_to_timespec(&stat->st_ctim, &ints);
}

static void populate_statvfs (uint32_t *ints, struct statvfs* statvfs) {
  statvfs->f_bsize = *ints++;
  statvfs->f_frsize = *ints++;
  statvfs->f_blocks = *ints++;
  statvfs->f_bfree = *ints++;
  statvfs->f_bavail = *ints++;
  statvfs->f_files = *ints++;
  statvfs->f_ffree = *ints++;
  statvfs->f_favail = *ints++;
  statvfs->f_fsid = *ints++;
  statvfs->f_flag = *ints++;
  statvfs->f_namemax = *ints++;
}

/* A Uint32Array of at least `count` elements from JS, or NULL. */
static uint32_t *uint32_array (napi_env env, napi_value value, size_t count) {
  void *data = NULL;
  size_t len = 0;
  if (napi_get_buffer_info(env, value, &data, &len) != napi_ok || data == NULL || len < count * sizeof(uint32_t)) return NULL;
  return (uint32_t *) data;
}

#define STAT_INTS 18
#define STATFS_INTS 11

// Methods

FUSE_METHOD(statfs, 1, 1, (const char * path, struct statvfs *statvfs), {
  l->path = path;
  l->statvfs = statvfs;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
}, {
  if (res == 0) {
    uint32_t *ints = argc > 2 ? uint32_array(env, argv[2], STATFS_INTS) : NULL;
    if (ints != NULL) populate_statvfs(ints, l->statvfs);
    else res = -EIO;
  }
})

// getattr and fgetattr answer the same way: a stat array.
#define STAT_SIGNAL {\
  if (res == 0) {\
    uint32_t *ints = argc > 2 ? uint32_array(env, argv[2], STAT_INTS) : NULL;\
    if (ints != NULL) populate_stat(ints, l->stat);\
    else res = -EIO;\
  }\
}

FUSE_DISPATCH(getattr, 1, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
})
FUSE_NATIVE_SIGNAL(getattr, 1, STAT_SIGNAL)

FUSE_DISPATCH(fgetattr, 2, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  FUSE_FH_ARGV(3)
})
FUSE_NATIVE_SIGNAL(fgetattr, 1, STAT_SIGNAL)

// libfuse 3 passes the open file's handle when the kernel sends one
// (lseek(SEEK_END), a read past the cached size, setattr through a handle;
// not fstat(2), see the header, item 5): JS gets it as fgetattr.
static int fuse_native_getattr (const char *path, struct stat *stat, struct fuse_file_info *info) {
  fuse_thread_locals_t *l = get_thread_locals();
  int with_handle = info != NULL && l->fuse->implemented[op_fgetattr];
  l->op = with_handle ? op_fgetattr : op_getattr;
  l->op_fn = with_handle ? (void *) fuse_native_dispatch_fgetattr : (void *) fuse_native_dispatch_getattr;
  l->path = path == NULL ? "" : path;
  l->stat = stat;
  l->info = info;
  uv_async_send(&(l->async));
  uv_sem_wait(&(l->sem));
  return l->res;
}

FUSE_METHOD_VOID(access, 2, 0, (const char *path, int mode), {
  l->path = path;
  l->mode = mode;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_uint32(env, l->mode, &(argv[3]));
})

// open, opendir and create answer a handle; 0 keeps libfuse's. Bit 30 of
// the answer (KEEP_CACHE_FLAG, header item 19) asks the kernel to keep the
// file's page cache from earlier opens; without it the kernel drops it.
#define KEEP_CACHE_FLAG 0x40000000
#define HANDLE_SIGNAL {\
  int32_t fd = 0;\
  if (res == 0 && argc > 2 && napi_get_value_int32(env, argv[2], &fd) == napi_ok && fd != 0) {\
    if (fd > 0 && (fd & KEEP_CACHE_FLAG)) {\
      l->info->keep_cache = 1;\
      fd &= ~KEEP_CACHE_FLAG;\
    }\
    l->info->fh = fd;\
  }\
}

FUSE_METHOD(open, 2, 1, (const char *path, struct fuse_file_info *info), {
  l->path = path;
  l->info = info;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_uint32(env, l->info != NULL ? l->info->flags : 0, &(argv[3]));
}, HANDLE_SIGNAL)

FUSE_METHOD(create, 3, 1, (const char *path, mode_t mode, struct fuse_file_info *info), {
  l->path = path;
  l->mode = mode;
  l->info = info;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_uint32(env, l->mode, &(argv[3]));
  napi_create_uint32(env, l->info != NULL ? l->info->flags : 0, &(argv[4]));
}, HANDLE_SIGNAL)

FUSE_METHOD_VOID(utimens, 5, 0, (const char *path, const struct timespec tv[2], struct fuse_file_info *info), {
  l->path = path;
  l->info = info;
  l->atime = timespec_to_uint64(&tv[0]);
  l->mtime = timespec_to_uint64(&tv[1]);
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  FUSE_UINT64_TO_INTS_ARGV(l->atime, 3)
  FUSE_UINT64_TO_INTS_ARGV(l->mtime, 5)
})

FUSE_METHOD_VOID(release, 2, 0, (const char *path, struct fuse_file_info *info), {
  l->path = path;
  l->info = info;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  FUSE_FH_ARGV(3)
})

// Reads and writes go through the thread's I/O buffer (header, item 8). A
// request larger than it (none with max_read = max_write = IO_BUFFER_BYTES)
// wraps libfuse's memory in an external Buffer, detached after the answer.
static void io_buffer_argv (napi_env env, fuse_thread_locals_t *l, napi_value *out) {
  if (l->io_used) {
    napi_get_reference_value(env, l->io_ref, out);
  } else {
    napi_create_external_buffer(env, l->len, (char *) l->buf, NULL, NULL, out);
  }
}

#define IO_DISPATCH(name)\
  FUSE_DISPATCH(name, 6, {\
    napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));\
    FUSE_FH_ARGV(3)\
    io_buffer_argv(env, l, &(argv[4]));\
    napi_create_uint32(env, l->len, &(argv[5]));\
    FUSE_UINT64_TO_INTS_ARGV(l->offset, 6)\
  })\
  FUSE_NATIVE_SIGNAL(name, 2, {\
    if (!l->io_used && IS_ARRAY_BUFFER_DETACH_SUPPORTED == 1 && argc > 3) napi_detach_arraybuffer(env, argv[3]);\
  })

IO_DISPATCH(read)
IO_DISPATCH(write)

static int fuse_native_read (const char *path, char *buf, size_t len, off_t offset, struct fuse_file_info *info) {
  fuse_thread_locals_t *l = get_thread_locals();
  l->op = op_read;
  l->op_fn = fuse_native_dispatch_read;
  l->path = path == NULL ? "" : path;
  l->buf = buf;
  l->len = len;
  l->offset = offset;
  l->info = info;
  l->io_used = l->io_mem != NULL && len <= l->io_cap;
  uv_async_send(&(l->async));
  uv_sem_wait(&(l->sem));
  if (l->io_used && l->res > 0) memcpy(buf, l->io_mem, (size_t) l->res <= len ? (size_t) l->res : len);
  return l->res > (int32_t) len ? (int32_t) len : l->res;
}

static int fuse_native_write (const char *path, const char *buf, size_t len, off_t offset, struct fuse_file_info *info) {
  fuse_thread_locals_t *l = get_thread_locals();
  l->op = op_write;
  l->op_fn = fuse_native_dispatch_write;
  l->path = path == NULL ? "" : path;
  l->buf = buf;
  l->len = len;
  l->offset = offset;
  l->info = info;
  l->io_used = l->io_mem != NULL && len <= l->io_cap;
  if (l->io_used) memcpy(l->io_mem, buf, len);
  uv_async_send(&(l->async));
  uv_sem_wait(&(l->sem));
  return l->res;
}

// Folders. libfuse 3.14's high-level API sends the stats of a READDIRPLUS
// only when the filesystem fills with offsets: entries filled at offset 0
// are kept by libfuse and sent without attributes (ino 0, "ignore"), and
// every one is then looked up. So each open folder has a dir_state here,
// behind the handle libfuse keeps (fi->fh; JS's own handle is inside): at
// offset 0 (opendir, rewinddir) JS lists the folder once, and every
// READDIR/READDIRPLUS request is filled from that listing from its offset,
// each entry with its stat and FUSE_FILL_DIR_PLUS. libfuse answers the
// kernel's READDIRPLUS with them, so `ls -l` of a folder costs the listing
// and no LOOKUP per entry. "." and ".." go without PLUS: libfuse would copy
// their st_ino (0 from JS, which leaves inode numbers to libfuse) into the
// entry, and readdir(3) skips entries with inode 0; without PLUS libfuse
// marks it unknown, as it does for every plain entry.
typedef struct {
  char *name;
  int has_stat;
  struct stat st;
} dir_entry_t;

typedef struct {
  uint64_t fh;          // JS's handle (0 when JS has no opendir)
  dir_entry_t *entries; // the listing of the last offset-0 readdir
  size_t count;
} dir_state_t;

static void dir_state_clear (dir_state_t *dir) {
  for (size_t i = 0; i < dir->count; i++) free(dir->entries[i].name);
  free(dir->entries);
  dir->entries = NULL;
  dir->count = 0;
}

// A copy of libfuse's file info with JS's handle, for the JS call.
static struct fuse_file_info js_info (const struct fuse_file_info *info, const dir_state_t *dir) {
  struct fuse_file_info copy = *info;
  copy.fh = dir != NULL ? dir->fh : 0;
  return copy;
}

// Stock fuse-native passes the (still 0) handle before the flags; kept for index.js.
FUSE_DISPATCH(opendir, 3, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  FUSE_FH_ARGV(3)
  napi_create_uint32(env, l->info != NULL ? l->info->flags : 0, &(argv[4]));
})
FUSE_NATIVE_SIGNAL(opendir, 1, HANDLE_SIGNAL)

static int fuse_native_opendir (const char *path, struct fuse_file_info *info) {
  fuse_thread_locals_t *l = get_thread_locals();
  struct fuse_file_info js = *info;
  js.fh = 0;
  if (l->fuse->implemented[op_opendir]) {
    l->op = op_opendir;
    l->op_fn = fuse_native_dispatch_opendir;
    l->path = path == NULL ? "" : path;
    l->info = &js;
    uv_async_send(&(l->async));
    uv_sem_wait(&(l->sem));
    if (l->res != 0) return l->res;
  }
  dir_state_t *dir = calloc(1, sizeof(dir_state_t));
  if (dir == NULL) return -ENOMEM;  // (JS's handle, if any, is released by nobody: out of memory anyway)
  dir->fh = js.fh;
  info->fh = (uint64_t) (uintptr_t) dir;
  return 0;
}

FUSE_DISPATCH(releasedir, 2, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  FUSE_FH_ARGV(3)
})
FUSE_NATIVE_SIGNAL(releasedir, 0, {})

static int fuse_native_releasedir (const char *path, struct fuse_file_info *info) {
  fuse_thread_locals_t *l = get_thread_locals();
  dir_state_t *dir = (dir_state_t *) (uintptr_t) info->fh;
  int res = 0;
  if (l->fuse->implemented[op_releasedir]) {
    struct fuse_file_info js = js_info(info, dir);
    l->op = op_releasedir;
    l->op_fn = fuse_native_dispatch_releasedir;
    l->path = path == NULL ? "" : path;
    l->info = &js;
    uv_async_send(&(l->async));
    uv_sem_wait(&(l->sem));
    res = l->res;
  }
  if (dir != NULL) {
    dir_state_clear(dir);
    free(dir);
  }
  info->fh = 0;
  return res;
}

// fuse-native's order: datasync before the handle.
FUSE_DISPATCH(fsyncdir, 3, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_uint32(env, l->mode, &(argv[3]));
  FUSE_FH_ARGV(4)
})
FUSE_NATIVE_SIGNAL(fsyncdir, 0, {})

static int fuse_native_fsyncdir (const char *path, int datasync, struct fuse_file_info *info) {
  fuse_thread_locals_t *l = get_thread_locals();
  struct fuse_file_info js = js_info(info, (dir_state_t *) (uintptr_t) info->fh);
  l->op = op_fsyncdir;
  l->op_fn = fuse_native_dispatch_fsyncdir;
  l->path = path == NULL ? "" : path;
  l->mode = datasync;
  l->info = &js;
  uv_async_send(&(l->async));
  uv_sem_wait(&(l->sem));
  return l->res;
}

FUSE_DISPATCH(readdir, 1, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
})

// On the JS thread: JS's listing (names, and optionally one stat per name)
// copied into the folder's dir_state for the libfuse thread.
FUSE_NATIVE_SIGNAL(readdir, 2, {
  dir_state_t *dir = (dir_state_t *) l->dir_ptr;
  uint32_t names_length = 0;
  uint32_t stats_length = 0;
  bool is_array = false;
  if (res == 0 && (argc < 3 || napi_is_array(env, argv[2], &is_array) != napi_ok || !is_array)) res = -EIO;
  if (res == 0) napi_get_array_length(env, argv[2], &names_length);
  if (res == 0 && names_length > 0) {
    dir->entries = calloc(names_length, sizeof(dir_entry_t));
    if (dir->entries == NULL) res = -ENOMEM;
  }
  if (res == 0) {
    bool stats_ok = false;
    if (argc > 3 && napi_is_array(env, argv[3], &stats_ok) == napi_ok && stats_ok) napi_get_array_length(env, argv[3], &stats_length);
    int with_stats = stats_ok && stats_length == names_length;
    for (uint32_t i = 0; i < names_length && res == 0; i++) {
      napi_value raw_name;
      size_t name_len = 0;
      dir_entry_t *e = &(dir->entries[i]);
      if (napi_get_element(env, argv[2], i, &raw_name) != napi_ok ||
          napi_get_value_string_utf8(env, raw_name, NULL, 0, &name_len) != napi_ok ||
          (e->name = malloc(name_len + 1)) == NULL ||
          napi_get_value_string_utf8(env, raw_name, e->name, name_len + 1, &name_len) != napi_ok) {
        res = -EIO;
        break;
      }
      dir->count = i + 1;
      if (with_stats) {
        napi_value raw_stat;
        uint32_t *ints = napi_get_element(env, argv[3], i, &raw_stat) == napi_ok ? uint32_array(env, raw_stat, STAT_INTS) : NULL;
        if (ints == NULL) {
          res = -EIO;
          break;
        }
        populate_stat(ints, &(e->st));
        e->has_stat = 1;
      }
    }
  }
  if (res != 0) dir_state_clear(dir);
})

static int fuse_native_readdir (const char *path, void *buf, fuse_fill_dir_t filler, off_t offset, struct fuse_file_info *info, enum fuse_readdir_flags flags) {
  fuse_thread_locals_t *l = get_thread_locals();
  dir_state_t *dir = (dir_state_t *) (uintptr_t) info->fh;
  if (dir == NULL) return -EBADF;
  if (offset == 0 || dir->entries == NULL) {
    dir_state_clear(dir);
    l->op = op_readdir;
    l->op_fn = fuse_native_dispatch_readdir;
    l->path = path == NULL ? "" : path;
    l->dir_ptr = dir;
    uv_async_send(&(l->async));
    uv_sem_wait(&(l->sem));
    if (l->res != 0) return l->res;
  }
  // Offsets are positions in the listing, plus one (0 means "from the start").
  for (size_t i = (size_t) offset; i < dir->count; i++) {
    dir_entry_t *e = &(dir->entries[i]);
    int dots = strcmp(e->name, ".") == 0 || strcmp(e->name, "..") == 0;
    int plus = e->has_stat && !dots;
    if (filler(buf, e->name, e->has_stat ? &(e->st) : NULL, (off_t) i + 1, plus ? FUSE_FILL_DIR_PLUS : 0)) break;
  }
  return 0;
}

// The value goes to JS as an external Buffer around libfuse's memory,
// detached once answered. Linux has no position (a macOS resource-fork
// offset): 0.
// Item 17: names outside user.* hold nothing.
#define USER_XATTR_ONLY(answer)\
  if (l->fuse->opts.user_xattr_only && strncmp(name, "user.", 5) != 0) return (answer);

FUSE_METHOD(setxattr, 5, 1, (const char *path, const char *name, const char *value, size_t size, int flags), {
  USER_XATTR_ONLY(-EOPNOTSUPP)
  l->path = path;
  l->name = name;
  l->value = value;
  l->size = size;
  l->flags = flags;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_string_utf8(env, l->name, NAPI_AUTO_LENGTH, &(argv[3]));
  napi_create_external_buffer(env, l->size, (char *) l->value, NULL, NULL, &(argv[4]));
  napi_create_uint32(env, 0, &(argv[5]));
  napi_create_uint32(env, l->flags, &(argv[6]));
}, {
  if (IS_ARRAY_BUFFER_DETACH_SUPPORTED == 1 && argc > 2) napi_detach_arraybuffer(env, argv[2]);
})

// getxattr and listxattr: JS fills `size` bytes (none for the size query,
// size 0) and answers the full length; a length above a non-zero size is
// ERANGE, as getxattr(2) and listxattr(2) say.
FUSE_METHOD(getxattr, 4, 1, (const char *path, const char *name, char *value, size_t size), {
  USER_XATTR_ONLY(-EOPNOTSUPP)
  l->path = path;
  l->name = name;
  l->value = value;
  l->size = size;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_string_utf8(env, l->name, NAPI_AUTO_LENGTH, &(argv[3]));
  napi_create_external_buffer(env, l->size, (char *) l->value, NULL, NULL, &(argv[4]));
  napi_create_uint32(env, 0, &(argv[5]));
}, {
  if (IS_ARRAY_BUFFER_DETACH_SUPPORTED == 1 && argc > 2) napi_detach_arraybuffer(env, argv[2]);
  if (res > 0 && l->size > 0 && (size_t) res > l->size) res = -ERANGE;
})

FUSE_METHOD(listxattr, 2, 1, (const char *path, char *list, size_t size), {
  l->path = path;
  l->list = list;
  l->size = size;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_external_buffer(env, l->size, l->list, NULL, NULL, &(argv[3]));
}, {
  if (IS_ARRAY_BUFFER_DETACH_SUPPORTED == 1 && argc > 2) napi_detach_arraybuffer(env, argv[2]);
  if (res > 0 && l->size > 0 && (size_t) res > l->size) res = -ERANGE;
})

FUSE_METHOD_VOID(removexattr, 2, 0, (const char *path, const char *name), {
  USER_XATTR_ONLY(-EOPNOTSUPP)
  l->path = path;
  l->name = name;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_string_utf8(env, l->name, NAPI_AUTO_LENGTH, &(argv[3]));
})

FUSE_METHOD_VOID(flush, 2, 0, (const char *path, struct fuse_file_info *info), {
  l->path = path;
  l->info = info;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  FUSE_FH_ARGV(3)
})

// fuse-native's order: datasync before the handle.
FUSE_METHOD_VOID(fsync, 3, 0, (const char *path, int datasync, struct fuse_file_info *info), {
  l->path = path;
  l->mode = datasync;
  l->info = info;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_uint32(env, l->mode, &(argv[3]));
  FUSE_FH_ARGV(4)
})

FUSE_DISPATCH(truncate, 3, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  FUSE_UINT64_TO_INTS_ARGV(l->offset, 3)
})
FUSE_NATIVE_SIGNAL(truncate, 0, {})

FUSE_DISPATCH(ftruncate, 4, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  FUSE_FH_ARGV(3)
  FUSE_UINT64_TO_INTS_ARGV(l->offset, 4)
})
FUSE_NATIVE_SIGNAL(ftruncate, 0, {})

// libfuse 3 has one truncate, with the handle when the kernel sent one
// (ftruncate(2), open with O_TRUNC): JS gets that as ftruncate.
static int fuse_native_truncate (const char *path, off_t size, struct fuse_file_info *info) {
  fuse_thread_locals_t *l = get_thread_locals();
  int with_handle = info != NULL && l->fuse->implemented[op_ftruncate];
  l->op = with_handle ? op_ftruncate : op_truncate;
  l->op_fn = with_handle ? (void *) fuse_native_dispatch_ftruncate : (void *) fuse_native_dispatch_truncate;
  l->path = path == NULL ? "" : path;
  l->offset = size;
  l->info = info;
  uv_async_send(&(l->async));
  uv_sem_wait(&(l->sem));
  return l->res;
}

FUSE_METHOD(readlink, 1, 1, (const char *path, char *linkname, size_t len), {
  l->path = path;
  l->linkname = linkname;
  l->len = len;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
}, {
  // libfuse's buffer holds len bytes with the NUL; a longer target is cut, as readlink(2) does.
  size_t copied = 0;
  if (res == 0 && (argc < 3 || napi_get_value_string_utf8(env, argv[2], l->linkname, l->len, &copied) != napi_ok)) res = -EIO;
})

FUSE_METHOD_VOID(chown, 3, 0, (const char *path, uid_t uid, gid_t gid, struct fuse_file_info *info), {
  l->path = path;
  l->info = info;
  l->uid = uid;
  l->gid = gid;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_uint32(env, l->uid, &(argv[3]));
  napi_create_uint32(env, l->gid, &(argv[4]));
})

FUSE_METHOD_VOID(chmod, 2, 0, (const char *path, mode_t mode, struct fuse_file_info *info), {
  l->path = path;
  l->info = info;
  l->mode = mode;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_uint32(env, l->mode, &(argv[3]));
})

// dev_t as a number (a double holds every device number Linux makes).
FUSE_METHOD_VOID(mknod, 3, 0, (const char *path, mode_t mode, dev_t dev), {
  l->path = path;
  l->mode = mode;
  l->dev = dev;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_uint32(env, l->mode, &(argv[3]));
  napi_create_int64(env, (int64_t) l->dev, &(argv[4]));
})

FUSE_METHOD_VOID(unlink, 1, 0, (const char *path), {
  l->path = path;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
})

// flags: 0, RENAME_NOREPLACE or RENAME_EXCHANGE (renameat2(2)).
FUSE_METHOD_VOID(rename, 3, 0, (const char *path, const char *dest, unsigned int flags), {
  l->path = path;
  l->dest = dest;
  l->rename_flags = flags;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_string_utf8(env, l->dest, NAPI_AUTO_LENGTH, &(argv[3]));
  napi_create_uint32(env, l->rename_flags, &(argv[4]));
})

FUSE_METHOD_VOID(link, 2, 0, (const char *path, const char *dest), {
  l->path = path;
  l->dest = dest;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_string_utf8(env, l->dest, NAPI_AUTO_LENGTH, &(argv[3]));
})

// libfuse's order: the link's content (target) first, then the new link's path.
FUSE_METHOD_VOID(symlink, 2, 0, (const char *target, const char *path), {
  l->path = target;
  l->dest = path;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_string_utf8(env, l->dest, NAPI_AUTO_LENGTH, &(argv[3]));
})

FUSE_METHOD_VOID(mkdir, 2, 0, (const char *path, mode_t mode), {
  l->path = path;
  l->mode = mode;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  napi_create_uint32(env, l->mode, &(argv[3]));
})

FUSE_METHOD_VOID(rmdir, 1, 0, (const char *path), {
  l->path = path;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
})

// POSIX record locks: (path, fh, cmd, type, whence, start, len, pid, owner).
// cmd is F_GETLK, F_SETLK or F_SETLKW; the owner (fi->lock_owner, 64 bits)
// is a BigInt. F_GETLK answers (0, type, whence, start, len, pid): type
// F_UNLCK when nothing conflicts.
FUSE_METHOD(lock, 9, 5, (const char *path, struct fuse_file_info *info, int cmd, struct flock *lock), {
  l->path = path;
  l->info = info;
  l->lock_cmd = cmd;
  l->lock = lock;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  FUSE_FH_ARGV(3)
  napi_create_int32(env, l->lock_cmd, &(argv[4]));
  napi_create_int32(env, l->lock->l_type, &(argv[5]));
  napi_create_int32(env, l->lock->l_whence, &(argv[6]));
  napi_create_int64(env, (int64_t) l->lock->l_start, &(argv[7]));
  napi_create_int64(env, (int64_t) l->lock->l_len, &(argv[8]));
  napi_create_int32(env, l->lock->l_pid, &(argv[9]));
  napi_create_bigint_uint64(env, l->info != NULL ? l->info->lock_owner : 0, &(argv[10]));
}, {
  if (res == 0 && l->lock_cmd == F_GETLK) {
    int32_t type = F_UNLCK;
    int32_t whence = SEEK_SET;
    int32_t pid = 0;
    int64_t start = 0;
    int64_t len = 0;
    if (argc > 2) napi_get_value_int32(env, argv[2], &type);
    if (argc > 3) napi_get_value_int32(env, argv[3], &whence);
    if (argc > 4) napi_get_value_int64(env, argv[4], &start);
    if (argc > 5) napi_get_value_int64(env, argv[5], &len);
    if (argc > 6) napi_get_value_int32(env, argv[6], &pid);
    l->lock->l_type = type;
    if (type != F_UNLCK) {
      l->lock->l_whence = whence;
      l->lock->l_start = start;
      l->lock->l_len = len;
      l->lock->l_pid = pid;
    }
  }
})

// flock(2): (path, fh, op, owner, pid); op is LOCK_SH, LOCK_EX or LOCK_UN, with
// LOCK_NB; pid is the process asking (from the request's context), so that a
// filesystem waiting for a lock can see when that process is being signalled.
FUSE_METHOD_VOID(flock, 5, 0, (const char *path, struct fuse_file_info *info, int op), {
  l->path = path;
  l->info = info;
  l->flags = op;
  l->requester = fuse_get_context()->pid;
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  FUSE_FH_ARGV(3)
  napi_create_int32(env, l->flags, &(argv[4]));
  napi_create_bigint_uint64(env, l->info != NULL ? l->info->lock_owner : 0, &(argv[5]));
  napi_create_int32(env, (int32_t) l->requester, &(argv[6]));
})

// The last close of a file that held flock locks: the kernel marks its
// release (FUSE_RELEASE_FLOCK_UNLOCK, fi->flock_release) and libfuse's
// high-level API leaves the unlock to the filesystem's release. The binding
// sends JS flock(LOCK_UN) first, as flock(fd, LOCK_UN) would, so a process
// that dies holding a lock releases it.
static int fuse_native_release_with_flock (const char *path, struct fuse_file_info *info) {
  fuse_thread_locals_t *l = get_thread_locals();
  if (info != NULL && info->flock_release && l->fuse->implemented[op_flock]) fuse_native_flock(path, info, LOCK_UN);
  return l->fuse->implemented[op_release] ? fuse_native_release(path, info) : 0;
}

static void fuse_native_dispatch_init (uv_async_t* handle, fuse_thread_locals_t* l, fuse_thread_t* ft) {
  FUSE_NATIVE_CALLBACK(ft->handlers[op_init], {
    napi_value argv[2];

    napi_get_reference_value(env, l->self, &(argv[0]));
    napi_create_uint32(env, l->op, &(argv[1]));

    NAPI_MAKE_CALLBACK(env, NULL, ctx, callback, 2, argv, NULL);
  })
}

FUSE_NATIVE_SIGNAL(init, 0, {})

// The kernel's INIT: what this mount asks of the kernel and of libfuse
// (header, items 10-12), then JS's init, which tells index.js the mount is up.
static void * fuse_native_init (struct fuse_conn_info *conn, struct fuse_config *cfg) {
  fuse_thread_t *ft = (fuse_thread_t *) fuse_get_context()->private_data;

  cfg->hard_remove = ft->opts.hard_remove;
  cfg->direct_io = ft->opts.direct_io;
  cfg->intr = ft->opts.intr;
  if (ft->opts.intr_signal_set) cfg->intr_signal = ft->opts.intr_signal;
  cfg->nullpath_ok = 0;

  // libfuse 3 ends the session at INIT unless this equals the max_read mount option.
  conn->max_read = ft->opts.max_read;
  conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
  conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
  if (ft->conn_opts != NULL) fuse_apply_conn_info_opts(ft->conn_opts, conn);
  if (!ft->implemented[op_lock]) conn->want &= ~FUSE_CAP_POSIX_LOCKS;
  if (!ft->implemented[op_flock]) conn->want &= ~FUSE_CAP_FLOCK_LOCKS;

  fuse_thread_locals_t *l = get_thread_locals();
  l->op = op_init;
  l->op_fn = fuse_native_dispatch_init;

  uv_async_send(&(l->async));
  uv_sem_wait(&(l->sem));

  return ft;
}

// Top-level dispatcher

static void fuse_native_dispatch (uv_async_t* handle) {
  fuse_thread_locals_t *l = (fuse_thread_locals_t *) handle->data;
  fuse_thread_t *ft = l->fuse;
  void (*fn)(uv_async_t *, fuse_thread_locals_t *, fuse_thread_t *) = l->op_fn;

  fn(handle, l, ft);
}

// On the JS thread, for a libfuse thread's first operation: its locals (a
// Buffer from index.js's _malloc), its uv_async, and its I/O buffer.
static void fuse_native_async_init (uv_async_t* handle) {
  fuse_thread_t *ft = (fuse_thread_t *) handle->data;
  fuse_thread_locals_t *l;

  FUSE_NATIVE_CALLBACK(ft->malloc, {
    napi_value argv[1];
    napi_create_uint32(ft->env, (uint32_t) sizeof(fuse_thread_locals_t), &(argv[0]));

    napi_value buf;
    NAPI_MAKE_CALLBACK(ft->env, NULL, ctx, callback, 1, argv, &buf);

    size_t l_len;

    napi_get_buffer_info(env, buf, (void **) &l, &l_len);
    napi_create_reference(env, buf, 1, &(l->self));

    void *io_data = NULL;
    napi_value io_buf;
    l->io_ref = NULL;
    l->io_mem = NULL;
    l->io_cap = 0;
    if (napi_create_buffer(env, IO_BUFFER_BYTES, &io_data, &io_buf) == napi_ok &&
        napi_create_reference(env, io_buf, 1, &(l->io_ref)) == napi_ok) {
      l->io_mem = (char *) io_data;
      l->io_cap = IO_BUFFER_BYTES;
    }
  })

  int err = uv_async_init(uv_default_loop(), &(l->async), (uv_async_cb) fuse_native_dispatch);
  assert(err >= 0);

  uv_unref((uv_handle_t *) &(l->async));

  uv_sem_init(&(l->sem), 0);
  l->async.data = l;
  ft->async.data = l;
  l->fuse = ft;

  uv_sem_post(&(ft->sem));
}

static fuse_thread_locals_t* get_thread_locals () {
  struct fuse_context *ctx = fuse_get_context();
  fuse_thread_t *ft = (fuse_thread_t *) ctx->private_data;

  void *data = pthread_getspecific(thread_locals_key);

  if (data != NULL) {
    return (fuse_thread_locals_t *) data;
  }

  // Need to lock the mutation of l->async.
  uv_mutex_lock(&(ft->mut));
  ft->async.data = ft;

  // Notify the main thread to uv_async_init l->async.
  uv_async_send(&(ft->async));
  uv_sem_wait(&(ft->sem));

  fuse_thread_locals_t *l = (fuse_thread_locals_t*) ft->async.data;

  pthread_setspecific(thread_locals_key, (void *) l);
  uv_mutex_unlock(&(ft->mut));

  return l;
}

// The loop thread: serves the mount until the kernel ends it (an unmount),
// then lets go of it.
static void* start_fuse_thread (void *data) {
  fuse_thread_t *ft = (fuse_thread_t *) data;
  struct fuse_loop_config *config = fuse_loop_cfg_create();
  if (config != NULL) {
    fuse_loop_cfg_set_max_threads(config, ft->opts.max_threads > 0 ? ft->opts.max_threads : DEFAULT_MAX_THREADS);
    fuse_loop_mt(ft->fuse, config);
    fuse_loop_cfg_destroy(config);
  }

  fuse_unmount(ft->fuse);
  fuse_destroy(ft->fuse);
  free(ft->conn_opts);
  ft->conn_opts = NULL;

  return NULL;
}

NAPI_METHOD(fuse_native_mount) {
  NAPI_ARGV(7)

  NAPI_ARGV_UTF8(mnt, 1024, 0);
  NAPI_ARGV_UTF8(mntopts, 1024, 1);
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 2);
  if (ft_len < sizeof(fuse_thread_t)) {
    napi_throw_error(env, "EINVAL", "fuse-native: the mount state buffer is too small");
    return NULL;
  }
  napi_create_reference(env, argv[3], 1, &(ft->ctx));
  napi_create_reference(env, argv[4], 1, &(ft->malloc));
  napi_value handlers = argv[5];
  NAPI_ARGV_BUFFER_CAST(uint32_t *, implemented, 6)
  size_t implemented_count = implemented_len / sizeof(uint32_t);

  for (int i = 0; i < OP_COUNT; i++) {
    ft->handlers[i] = NULL;
    ft->implemented[i] = (size_t) i < implemented_count ? implemented[i] : 0;
  }

  NAPI_FOR_EACH(handlers, handler) {
    if (i >= OP_COUNT) break;
    napi_valuetype type;
    if (napi_typeof(env, handler, &type) == napi_ok && type == napi_function) {
      napi_create_reference(env, handler, 1, &ft->handlers[i]);
    }
  }

  ft->env = env;

  struct fuse_operations ops = { 0 };
  if (ft->implemented[op_access]) ops.access = fuse_native_access;
  if (ft->implemented[op_truncate] || ft->implemented[op_ftruncate]) ops.truncate = fuse_native_truncate;
  if (ft->implemented[op_getattr]) ops.getattr = fuse_native_getattr;
  if (ft->implemented[op_flush]) ops.flush = fuse_native_flush;
  if (ft->implemented[op_fsync]) ops.fsync = fuse_native_fsync;
  if (ft->implemented[op_fsyncdir]) ops.fsyncdir = fuse_native_fsyncdir;
  if (ft->implemented[op_readdir]) ops.readdir = fuse_native_readdir;
  // Always: they hold each open folder's listing (and call JS's when it has them).
  ops.opendir = fuse_native_opendir;
  ops.releasedir = fuse_native_releasedir;
  if (ft->implemented[op_readlink]) ops.readlink = fuse_native_readlink;
  if (ft->implemented[op_chown]) ops.chown = fuse_native_chown;
  if (ft->implemented[op_chmod]) ops.chmod = fuse_native_chmod;
  if (ft->implemented[op_mknod]) ops.mknod = fuse_native_mknod;
  if (ft->implemented[op_setxattr]) ops.setxattr = fuse_native_setxattr;
  if (ft->implemented[op_getxattr]) ops.getxattr = fuse_native_getxattr;
  if (ft->implemented[op_listxattr]) ops.listxattr = fuse_native_listxattr;
  if (ft->implemented[op_removexattr]) ops.removexattr = fuse_native_removexattr;
  if (ft->implemented[op_statfs]) ops.statfs = fuse_native_statfs;
  if (ft->implemented[op_open]) ops.open = fuse_native_open;

  if (ft->implemented[op_read]) ops.read = fuse_native_read;
  if (ft->implemented[op_write]) ops.write = fuse_native_write;
  if (ft->implemented[op_release] || ft->implemented[op_flock]) ops.release = fuse_native_release_with_flock;

  if (ft->implemented[op_create]) ops.create = fuse_native_create;
  if (ft->implemented[op_utimens]) ops.utimens = fuse_native_utimens;
  if (ft->implemented[op_unlink]) ops.unlink = fuse_native_unlink;
  if (ft->implemented[op_rename]) ops.rename = fuse_native_rename;
  if (ft->implemented[op_link]) ops.link = fuse_native_link;
  if (ft->implemented[op_symlink]) ops.symlink = fuse_native_symlink;
  if (ft->implemented[op_mkdir]) ops.mkdir = fuse_native_mkdir;
  if (ft->implemented[op_rmdir]) ops.rmdir = fuse_native_rmdir;
  if (ft->implemented[op_lock]) ops.lock = fuse_native_lock;
  if (ft->implemented[op_flock]) ops.flock = fuse_native_flock;
  // Always: it negotiates the connection (header, items 10-12).
  ops.init = fuse_native_init;

  // "" or "-o" alone: no options.
  int _argc = (strcmp(mntopts, "-o") <= 0) ? 1 : 2;
  char *_argv[] = {
    (char *) "fuse_bindings_dummy",
    (char *) mntopts
  };
  struct fuse_args args = FUSE_ARGS_INIT(_argc, _argv);

  // Ours first, then the connection's; libfuse takes the rest (and refuses what it does not know).
  memset(&(ft->opts), 0, sizeof(ft->opts));
  ft->conn_opts = NULL;
  if (fuse_opt_parse(&args, &(ft->opts), binding_opt_spec, NULL) == -1 ||
      (ft->conn_opts = fuse_parse_conn_info_opts(&args)) == NULL) {
    fuse_opt_free_args(&args);
    napi_throw_error(env, "EINVAL", "libfuse could not parse the mount options");
    return NULL;
  }

  struct fuse *fuse = fuse_new(&args, &ops, sizeof(struct fuse_operations), ft);
  fuse_opt_free_args(&args);
  if (fuse == NULL) {
    free(ft->conn_opts);
    ft->conn_opts = NULL;
    napi_throw_error(env, "EINVAL", "libfuse refused the mount options");
    return NULL;
  }

  if (fuse_mount(fuse, mnt) != 0) {
    fuse_destroy(fuse);
    free(ft->conn_opts);
    ft->conn_opts = NULL;
    napi_throw_error(env, "EIO", "libfuse could not mount");
    return NULL;
  }

  uv_mutex_init(&(ft->mut));
  uv_sem_init(&(ft->sem), 0);

  strncpy(ft->mnt, mnt, sizeof(ft->mnt) - 1);
  ft->mnt[sizeof(ft->mnt) - 1] = '\0';
  strncpy(ft->mntopts, mntopts, sizeof(ft->mntopts) - 1);
  ft->mntopts[sizeof(ft->mntopts) - 1] = '\0';
  ft->fuse = fuse;

  // From here on, a failure undoes the mount before reporting (header, item 7).
  int err = uv_async_init(uv_default_loop(), &(ft->async), (uv_async_cb) fuse_native_async_init);
  if (err < 0) {
    fuse_unmount(fuse);
    fuse_destroy(fuse);
    free(ft->conn_opts);
    ft->conn_opts = NULL;
    napi_throw_error(env, "EIO", "fuse-native: cannot create the event-loop handle");
    return NULL;
  }

  pthread_attr_init(&(ft->attr));
  if (pthread_create(&(ft->thread), &(ft->attr), start_fuse_thread, ft) != 0) {
    uv_close((uv_handle_t *) &(ft->async), NULL);
    fuse_unmount(fuse);
    fuse_destroy(fuse);
    free(ft->conn_opts);
    ft->conn_opts = NULL;
    napi_throw_error(env, "EIO", "fuse-native: cannot start the FUSE thread");
    return NULL;
  }
  ft->mounted++;

  return NULL;
}

NAPI_METHOD(fuse_native_unmount) {
  NAPI_ARGV(2)
  NAPI_ARGV_UTF8(mnt, 1024, 0);
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 1);

  if (ft == NULL || ft_len < sizeof(fuse_thread_t) || ft->mounted <= 0) return NULL;

  // The kernel mount is already gone (fusermount3 -u); the loop thread ends
  // by itself. What is left is the handle that keeps the event loop alive.
  uv_unref((uv_handle_t *) &(ft->async));
  ft->mounted--;

  return NULL;
}

// [uid, gid, pid, umask] of the process whose operation's JS handler is
// running, or undefined outside a handler (item 16).
NAPI_METHOD(fuse_native_caller) {
  napi_value result;
  if (dispatching == NULL) {
    napi_get_undefined(env, &result);
    return result;
  }
  uint32_t values[4] = { dispatching->caller_uid, dispatching->caller_gid, dispatching->caller_pid, dispatching->caller_umask };
  napi_create_array_with_length(env, 4, &result);
  for (uint32_t i = 0; i < 4; i++) {
    napi_value v;
    napi_create_uint32(env, values[i], &v);
    napi_set_element(env, result, i, v);
  }
  return result;
}

// Item 18.
NAPI_METHOD(fuse_native_trim_memory) {
  napi_value result;
#ifdef __GLIBC__
  malloc_trim(0);
  napi_get_boolean(env, true, &result);
#else
  napi_get_boolean(env, false, &result);
#endif
  return result;
}

NAPI_INIT() {
  const napi_node_version* version;
  assert(napi_get_node_version(env, &version) == napi_ok);

  if (version->major > 12 || (version->major == 12 && version->minor >= 16)) {
    IS_ARRAY_BUFFER_DETACH_SUPPORTED = 1;
  }

  pthread_key_create(&(thread_locals_key), NULL);

  NAPI_EXPORT_SIZEOF(fuse_thread_t)

  NAPI_EXPORT_FUNCTION(fuse_native_mount)
  NAPI_EXPORT_FUNCTION(fuse_native_unmount)
  NAPI_EXPORT_FUNCTION(fuse_native_caller)
  NAPI_EXPORT_FUNCTION(fuse_native_trim_memory)

  NAPI_EXPORT_FUNCTION(fuse_native_signal_init)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_access)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_statfs)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_fgetattr)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_getattr)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_flush)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_fsync)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_fsyncdir)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_readdir)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_truncate)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_ftruncate)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_utimens)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_readlink)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_chown)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_chmod)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_mknod)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_setxattr)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_getxattr)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_listxattr)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_removexattr)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_open)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_opendir)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_read)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_write)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_release)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_releasedir)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_create)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_unlink)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_rename)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_link)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_symlink)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_mkdir)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_rmdir)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_lock)
  NAPI_EXPORT_FUNCTION(fuse_native_signal_flock)

  NAPI_EXPORT_UINT32(op_init)
  NAPI_EXPORT_UINT32(op_error)
  NAPI_EXPORT_UINT32(op_access)
  NAPI_EXPORT_UINT32(op_statfs)
  NAPI_EXPORT_UINT32(op_fgetattr)
  NAPI_EXPORT_UINT32(op_getattr)
  NAPI_EXPORT_UINT32(op_flush)
  NAPI_EXPORT_UINT32(op_fsync)
  NAPI_EXPORT_UINT32(op_fsyncdir)
  NAPI_EXPORT_UINT32(op_readdir)
  NAPI_EXPORT_UINT32(op_truncate)
  NAPI_EXPORT_UINT32(op_ftruncate)
  NAPI_EXPORT_UINT32(op_utimens)
  NAPI_EXPORT_UINT32(op_readlink)
  NAPI_EXPORT_UINT32(op_chown)
  NAPI_EXPORT_UINT32(op_chmod)
  NAPI_EXPORT_UINT32(op_mknod)
  NAPI_EXPORT_UINT32(op_setxattr)
  NAPI_EXPORT_UINT32(op_getxattr)
  NAPI_EXPORT_UINT32(op_listxattr)
  NAPI_EXPORT_UINT32(op_removexattr)
  NAPI_EXPORT_UINT32(op_open)
  NAPI_EXPORT_UINT32(op_opendir)
  NAPI_EXPORT_UINT32(op_read)
  NAPI_EXPORT_UINT32(op_write)
  NAPI_EXPORT_UINT32(op_release)
  NAPI_EXPORT_UINT32(op_releasedir)
  NAPI_EXPORT_UINT32(op_create)
  NAPI_EXPORT_UINT32(op_unlink)
  NAPI_EXPORT_UINT32(op_rename)
  NAPI_EXPORT_UINT32(op_link)
  NAPI_EXPORT_UINT32(op_symlink)
  NAPI_EXPORT_UINT32(op_mkdir)
  NAPI_EXPORT_UINT32(op_rmdir)
  NAPI_EXPORT_UINT32(op_lock)
  NAPI_EXPORT_UINT32(op_flock)
}
