// Types for native/detect-fuse.mjs (imported from src as ../../native/detect-fuse.mjs).

/** Which part of the FUSE setup a problem is about (`filesfs doctor` shows each part on its own line). */
export type FuseCheck = 'platform' | 'library' | 'fusermount' | 'device' | 'binding';

export interface FuseProblem {
  check: FuseCheck;
  /** What is missing or wrong, e.g. "fusermount3 is not on PATH". */
  problem: string;
  /** What to do about it, e.g. "sudo apt-get install libfuse3-3 fuse3". */
  fix: string;
}

export interface FuseDetection {
  ok: boolean;
  problems: FuseProblem[];
  /** Where libfuse3.so.3 was found. */
  libfuse: string | undefined;
  /** Where fusermount3 was found. */
  fusermount: string | undefined;
}

/** Redirects the probes, for tests. */
export interface DetectOptions {
  platform?: string;
  /** Used instead of running `ldconfig -p`. */
  ldconfigOutput?: string;
  /** Searched for libfuse3.so.3 when ldconfig finds nothing. */
  libraryDirs?: string[];
  /** Used instead of $PATH to find fusermount3. */
  pathEnv?: string;
  devFuse?: string;
  /** The fuse-native package directory. */
  fuseNativeDir?: string;
  /** Where the binding's sources are (native/), to check the build stamp against. */
  nativeDir?: string;
}

export function detectFuse(options?: DetectOptions): FuseDetection;
export function formatFuseProblems(problems: FuseProblem[]): string;
