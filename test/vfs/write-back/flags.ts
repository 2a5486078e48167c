// open(2) flags and sizes for write-back tests (Linux values).
export { KiB, MiB, O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY } from '../helpers.js';
export const O_APPEND_FLAG = 0o2000;
