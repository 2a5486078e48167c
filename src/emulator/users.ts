// The users of the emulated site. Files.com answers with numeric user ids
// (locks carry `user_id` and `username`), so every username gets an id, kept
// in <data>/users.json so that ids (and the owners of persisted locks) stay
// the same across restarts even when users are added or listed in another
// order. Without any auth configured, every request acts as DEFAULT_USERNAME.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface User {
  id: number;
  username: string;
}

/** The user of an API key given without a name, and of every request when auth is off. */
export const DEFAULT_USERNAME = 'admin';

export class Users {
  private constructor(private readonly byNameMap: Map<string, User>) {}

  /** Loads the id registry and gives the new `usernames` the next free ids. */
  static async open(dataDir: string, usernames: Iterable<string>): Promise<Users> {
    const file = join(dataDir, 'users.json');
    let known: Record<string, number> = {};
    try {
      known = (JSON.parse(await readFile(file, 'utf8')) as { users?: Record<string, number> }).users ?? {};
    } catch {
      // No registry yet (or an unreadable one): ids start at 1.
    }
    let next = Math.max(0, ...Object.values(known)) + 1;
    let changed = false;
    for (const name of [DEFAULT_USERNAME, ...usernames]) {
      if (known[name] === undefined) {
        known[name] = next++;
        changed = true;
      }
    }
    if (changed) {
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify({ users: known }, null, 1) + '\n');
      await rename(tmp, file);
    }
    return new Users(new Map(Object.entries(known).map(([username, id]) => [username, { id, username }])));
  }

  byName(username: string): User | undefined {
    return this.byNameMap.get(username);
  }

  get defaultUser(): User {
    return this.byNameMap.get(DEFAULT_USERNAME)!;
  }
}
