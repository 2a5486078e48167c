// A hook for whoever wants to see every HTTP request the client makes (the
// mount's metrics, src/metrics): called once per attempt, when its response
// headers arrived or it failed below HTTP. The client knows nothing of what
// the observer does with it; an observer that throws is ignored.
//
// The event carries the request's origin and path, never its query string
// (presigned URLs are signed there) nor any header.
export interface RequestEvent {
  method: string;
  /** e.g. "https://example.files.com". */
  origin: string;
  /** The URL's path, without the query. */
  path: string;
  /** 1 for the first attempt, 2 for the first retry, ... */
  attempt: number;
  /** A duplicate sent while an earlier copy is still in flight (hedging), if the caller says so. */
  hedge: boolean;
  /** The HTTP status, when a response came. */
  status?: number;
  /** The failure below HTTP (network, timeout, TLS, abort), when no response came. */
  error?: Error;
  /** From sending until the response headers (or the failure), in seconds. */
  seconds: number;
}

export type RequestObserver = (event: RequestEvent) => void;

/** Calls `observer`, never letting it break a request. */
export function notifyObserver(observer: RequestObserver | undefined, event: RequestEvent): void {
  if (!observer) return;
  try {
    observer(event);
  } catch {
    // An observer's failure is its own business.
  }
}
