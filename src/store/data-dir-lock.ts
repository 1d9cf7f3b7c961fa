/** PGlite is single-process: its data directory is locked against a second process, and a stale lock is taken over. */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FacerecError } from '../errors.js';

const LOCK_FILE = 'facerec.lock';

/**
 * A killed process whose parent has not reaped it yet (npm, a shell, a container without an init) is a zombie:
 * kill(pid, 0) still succeeds, yet it holds nothing. Linux tells from /proc/PID/stat (state Z, or X while reaped).
 */
function isZombie(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false; // no /proc (macOS, Windows): kill(pid, 0) has the last word
  }
  // "pid (comm) state …": comm may hold spaces and parentheses, so the state follows the last ')'.
  const state = stat.slice(stat.lastIndexOf(')') + 2).charAt(0);
  return state === 'Z' || state === 'X';
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false; // EPERM: it exists, under another user
  }
  return !isZombie(pid);
}

// Directories this process holds open: a lock file with our own pid is stale only if we do not hold it (pid reuse).
const heldDataDirs = new Set<string>();

function lockedError(dir: string, holder: number, who: string): FacerecError {
  return new FacerecError(
    'DATABASE_LOCKED',
    `The embedded database in ${dir} is in use by ${who} (pid ${holder}). ` +
      'Stop it, use its HTTP API, or point both at PostgreSQL with DATABASE_URL.',
    { dataDir: dir, pid: holder },
  );
}

/** PGlite is single-process: a second process on the same directory would corrupt it, so the directory is locked. */
export function lockDataDir(dir: string): () => void {
  const key = path.resolve(dir);
  // Two PGlite instances of one process on one directory corrupt it just the same.
  if (heldDataDirs.has(key)) throw lockedError(dir, process.pid, 'this process already');
  const file = path.join(dir, LOCK_FILE);
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const holder = Number(readFileSync(file, 'utf8'));
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder))
      throw lockedError(dir, holder, 'another facerec process');
    writeFileSync(file, String(process.pid)); // a stale lock from a process that died
  }
  heldDataDirs.add(key);
  let held = true;
  // Once only: a second close() must not release a lock that a later open of the same directory took.
  return () => {
    if (!held) return;
    held = false;
    heldDataDirs.delete(key);
    rmSync(file, { force: true });
  };
}
