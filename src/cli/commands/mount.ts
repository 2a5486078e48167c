// `filesfs mount <mountpoint> [options]`: mounts a Files.com site (or the
// emulator) in the foreground, like `rclone mount`, until SIGINT/SIGTERM or
// `filesfs unmount`; `--daemon` runs the same mount in a detached process.
// The options are parsed and validated by src/config/mount-config.ts; the
// mount's life is src/mount/mount-process.ts.
import { parseArgs } from 'node:util';
import { CLIENT_DEFAULTS } from '../../client/index.js';
import { MOUNT_DEFAULTS, MOUNT_FLAGS, parseMountConfig } from '../../mount/mount-config.js';
import { resolveCredentials } from '../../mount/credentials.js';
import { LOG_LEVELS, createLogger } from '../../log/logger.js';
import { isDaemonChild, startDaemon } from '../../mount/daemon.js';
import { runMount } from '../../mount/mount-process.js';
import { parseCommandLine } from '../args.js';
import type { Command } from '../command.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

const usage = `Usage: filesfs mount <mountpoint> [options]

Mounts a Files.com site at <mountpoint> (an empty folder) in the foreground;
Ctrl-C, SIGTERM or \`filesfs unmount <mountpoint>\` unmounts it. The mount is
usable once \`mountpoint -q <mountpoint>\` succeeds.

Credentials (never on the command line), the first found:
  --api-key-file FILE   a file holding the API key (keep it chmod 600)
  $FILES_API_KEY        the API key (also $FILESCOM_API_KEY)
  $FILES_USERNAME + $FILES_PASSWORD, or a ~/.netrc entry for the site's host:
                        a session login

Site:
  --base-url URL        the site, e.g. https://example.files.com (default
                        $FILES_BASE_URL or $FILESCOM_BASE_URL, else
                        ${MOUNT_DEFAULTS.baseUrl})
  --root PATH           show this remote folder at the mountpoint (default: the
                        whole site)

Files shown:
  --read-only           refuse every change (EROFS)
  --uid N, --gid N      owner of files and folders that have none of their own
                        (default: yours)
  --umask M             files 0666 & ~M, folders 0777 & ~M, unless they have a
                        mode of their own (default ${MOUNT_DEFAULTS.umask.toString(8).padStart(3, '0')})
  --no-posix-metadata   keep no modes, owners, symbolic links or special files
                        in the site's custom metadata: everything shows --uid,
                        --gid and --umask, chmod and chown change nothing
  --no-xattrs           answer no extended attributes (ENOTSUP), so that the
                        kernel stops asking: ls -l of big folders is faster
  --allow-other         let other users see the mount (needs user_allow_other in
                        /etc/fuse.conf unless root)
  -o OPTS               mount options, comma-separated, repeatable: every
                        option here has an -o spelling (its name with "_":
                        -o attr_ttl=10,read_only,uid=1000), and libfuse's
                        options pass through (e.g. -o nonempty,noatime)

Caching and reading:
  --attr-ttl S          trust file attributes for S seconds (default ${MOUNT_DEFAULTS.attrTtlSeconds}; 0 = always ask)
  --dir-ttl S           trust folder listings for S seconds (default ${MOUNT_DEFAULTS.dirTtlSeconds}; 0 = always ask)
  --poll-interval S     every S seconds, ask the server what changed in the
                        folders in use (listed in the last minute with their
                        listing cached, or holding an open file or folder),
                        so changes made elsewhere show before the TTLs end;
                        about 1 request per folder in use and poll (2 for
                        folders over two --per-page pages). Default off; see
                        also filesfs refresh
  --read-ahead SIZE     largest read-ahead window per file being read
                        sequentially (default ${MOUNT_DEFAULTS.readAheadBytes / MiB}M; a multiple of 256K)
  --read-cache SIZE     memory for file contents being read, whole mount: what
                        is in flight and on its way to disk (default
                        ${MOUNT_DEFAULTS.readCacheBytes / MiB}M; at least 16M)
  --cache-size SIZE     file contents kept on disk in the cache dir, across
                        unmounts and restarts, least recently used first
                        (default ${MOUNT_DEFAULTS.cacheSizeBytes / GiB}G; 0 = off: memory only); see filesfs
                        status, filesfs cache clear
  --cache-min-free SIZE the cache never leaves less free space than this on
                        its disk, and gives space back when others need it
                        (default ${MOUNT_DEFAULTS.cacheMinFreeBytes / GiB}G)
  --prefetch-files N    once a program reads a folder's files one after another
                        (cp -r, tar), fetch the next N files of up to 1M ahead,
                        64 at a time (default ${MOUNT_DEFAULTS.prefetchFiles}; 0 = off)
  --cache-dir DIR       private folder for the control socket, the log of
                        --daemon, pending uploads and the content cache (default
                        $XDG_CACHE_HOME/filesfs/<hash of site and root>,
                        or ~/.cache/filesfs/...)

Writing (files are written to the cache dir, then uploaded in the background):
  --upload-delay MS     start an upload MS milliseconds after the file's last
                        close; a new change restarts the wait, so an editor's
                        burst of saves uploads once (default ${MOUNT_DEFAULTS.uploadDelayMs}; 0 = at once)
  --upload-concurrency N
                        files uploaded at once (default ${MOUNT_DEFAULTS.uploadConcurrency}); each also sends
                        parallel parts. Small files (up to 256 KiB) upload
                        in a lane of their own, 4 × --connections at once
                        (at most 256).
                        Pending uploads survive a crash (journal in the cache
                        dir) and are drained before unmount; see filesfs status.
  --on-conflict P       a file changed on the server while changed here:
                        keep-both (default: this mount's version lands beside
                        it as "name (conflict DATE TIME HOST).ext"),
                        local-wins (the last upload wins), remote-wins (this
                        mount's change is dropped)
  --local-only GLOB     also keep files whose names match GLOB only in the
                        cache dir, never uploaded (repeatable; the defaults:
                        .DS_Store, ._*, Thumbs.db, desktop.ini, ~$*,
                        .~lock.*#, .*.swp, .*.swx, .nfs*)
  --no-local-only       no default local-only names
  --local-locks         keep fcntl/lockf and flock locks on this machine only
                        (default: each is also a Files.com lock, which other
                        clients of the site see and respect)
  --lock-on-write       like Files.com's own mount: hold an exclusive Files.com
                        lock while a file is open for writing and while its
                        upload publishes; a file another client has locked
                        cannot be opened for writing (EBUSY), and its upload
                        waits until the lock is gone

Network:
  --connect-timeout S   TCP+TLS connect timeout (default ${CLIENT_DEFAULTS.connectTimeoutMs / 1000})
  --metadata-timeout S  a small request (stat, listing page, download URL,
                        mkdir, rename, ...) with no answer after S seconds is
                        abandoned and retried, with twice the time (default
                        ${CLIENT_DEFAULTS.metadataTimeoutMs / 1000}); one call takes at most 3 × S in all
  --stall-timeout S     a transfer that moves no bytes for S seconds is
                        abandoned and resumed (default ${CLIENT_DEFAULTS.stallTimeoutMs / 1000}); a slow
                        transfer is never cut while its bytes flow
  --timeout S           the outer bound: longest wait for any response or
                        between its bytes (default ${CLIENT_DEFAULTS.requestTimeoutMs / 1000})
  --retries N           retries of a failed request (default ${CLIENT_DEFAULTS.retries}; backoff 0.5 s → 2 s)
  --connections N       keep-alive connections per host, for API calls and
                        for transfers each (default ${CLIENT_DEFAULTS.connections})
  --per-page N          entries per folder listing request (default ${CLIENT_DEFAULTS.perPage}; max 10000)
  --ca-file FILE        extra PEM CA certificates to trust (TLS proxies, private CAs)
  --source-ip IP        local address for outgoing connections

Process:
  --daemon              mount in the background; the log goes to
                        <cache dir>/filesfs.log
  --metrics [HOST:]PORT serve Prometheus metrics at http://HOST:PORT/metrics
                        (a port alone: 127.0.0.1 only)
  --log-level L         ${LOG_LEVELS.join(', ')} (default ${MOUNT_DEFAULTS.logLevel}); logs go to stderr
  -h, --help            show this help`;

/** `args` without the --daemon flag itself (found by token, never by a look-alike value). */
function withoutDaemonFlag(args: string[]): string[] {
  const { tokens } = parseArgs({ args, options: MOUNT_FLAGS, allowPositionals: true, strict: true, tokens: true });
  const drop = new Set(tokens.filter((t) => t.kind === 'option' && t.name === 'daemon').map((t) => t.index));
  return args.filter((_, i) => !drop.has(i));
}

export const command: Command = {
  summary: 'mount a Files.com site (or the emulator) at a local folder',
  usage,
  async run(args) {
    const { values, positionals } = parseCommandLine(args, MOUNT_FLAGS);
    const config = parseMountConfig(values, positionals);
    if (config.daemon) {
      // Fail here, in the terminal, for what needs no server: credentials.
      resolveCredentials({ ...config.credentials, baseUrl: config.baseUrl, logger: createLogger({ level: config.logLevel }) });
      return startDaemon(withoutDaemonFlag(args), config.cacheDir, config.mountpoint);
    }
    // Paths are absolute now; a background mount must not hold the caller's folder busy.
    if (isDaemonChild()) process.chdir('/');
    const code = await runMount(config);
    // Everything was closed; if some handle still keeps the process alive, leave anyway.
    setTimeout(() => process.exit(code), 2_000).unref();
    return code;
  },
};
