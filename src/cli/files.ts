import { readFile } from 'node:fs/promises';
import { FacerecError } from '../errors.js';

/** Reads a file the user named; a missing one is FILE_NOT_FOUND, not a stack trace. */
export async function readUserFile(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new FacerecError('FILE_NOT_FOUND', `No such file: ${file}`, { file });
    if (code === 'EISDIR') throw new FacerecError('INVALID_ARGUMENT', `${file} is a directory, not an image`, { file });
    throw new FacerecError('FILE_NOT_FOUND', `Cannot read ${file}: ${(err as Error).message}`, { file });
  }
}
