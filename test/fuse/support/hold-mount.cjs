// A process that mounts an empty FUSE filesystem at argv[2] with stock
// fuse-native, prints "mounted", and waits. Tests SIGKILL it to leave a stale
// mount ("Transport endpoint is not connected") behind, as a crashed filesfs
// would.
const Fuse = require('fuse-native');

const mnt = process.argv[2];
const now = new Date();
const ops = {
  getattr(path, cb) {
    if (path === '/') return cb(0, { mode: 0o40755, size: 4096, nlink: 2, mtime: now, atime: now, ctime: now });
    return cb(Fuse.ENOENT);
  },
  readdir(path, cb) {
    cb(0, []);
  },
};
const fuse = new Fuse(mnt, ops, {});
fuse.mount((err) => {
  if (err) {
    console.error(`hold-mount: ${err.message}`);
    process.exit(1);
  }
  process.stdout.write('mounted\n');
  setInterval(() => {}, 1 << 30);
});
