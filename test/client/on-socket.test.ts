// The socket hook (on-socket.ts): a request queued behind others in undici's
// pool is reported when it gets its connection, not when it was made; the
// hook runs once, and requests without one go through untouched.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ON_SOCKET, withSocketHook } from '../../src/client/on-socket.js';

let server: Server | undefined;
let agent: Agent | undefined;

afterEach(async () => {
  await agent?.destroy();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = agent = undefined;
});

describe('withSocketHook', () => {
  it('reports a queued request when it is written to the connection, once', async () => {
    const events: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    server = createServer((req, res) => {
      events.push(`server ${req.url}`);
      if (req.url === '/first') void held.then(() => res.end('1'));
      else res.end('2');
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // One connection: the second request waits for the first.
    agent = new Agent({ connections: 1, pipelining: 1 });
    const dispatcher = withSocketHook(agent);
    const hooks: Record<string, number> = { first: 0, second: 0 };
    const send = (name: string) =>
      dispatcher.request({ origin, path: `/${name}`, method: 'GET', [ON_SOCKET]: () => (hooks[name]!++, events.push(`socket ${name}`)) } as Parameters<typeof dispatcher.request>[0]);
    const first = send('first');
    const second = send('second');
    await new Promise((r) => setTimeout(r, 200));
    // The first has its connection; the second still waits for it.
    expect(hooks).toEqual({ first: 1, second: 0 });
    release();
    expect(await (await first).body.text()).toBe('1');
    expect(await (await second).body.text()).toBe('2');
    expect(hooks).toEqual({ first: 1, second: 1 });
    expect(events.indexOf('socket second')).toBeGreaterThan(events.indexOf('server /first'));
    // Without a hook: an ordinary request.
    expect(await (await dispatcher.request({ origin, path: '/plain', method: 'GET' })).body.text()).toBe('2');
  });
});
