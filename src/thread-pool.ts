// Sizes libuv's thread pool, which libuv reads from UV_THREADPOOL_SIZE once, when something first uses it.
// argon2 runs there (at most HASHING_SLOTS at once), and so do file reads (static files), DNS lookups
// (the SMTP host) and async crypto: those keep libuv's default four threads of their own beside the hashes.
// main.ts imports this module first, before anything can start the pool; an operator's own value wins.
import { HASHING_SLOTS } from './accounts/passwords.ts';

const LIBUV_DEFAULT_THREADS = 4;

process.env.UV_THREADPOOL_SIZE ??= String(HASHING_SLOTS + LIBUV_DEFAULT_THREADS);
