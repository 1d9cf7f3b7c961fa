#!/usr/bin/env node
/** The `facerec` command: a thin adapter over src/service (the command tree is in program.ts). */
import { main } from './program.js';

// `facerec people list | head` closes the pipe early: that ends the output, it is not a crash.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

process.exitCode = await main(process.argv);
