import { deadlineExceeded } from "../../libs/errors/index.js";

/**
 * The iterator's next message, or DEADLINE_EXCEEDED when none comes within
 * `idleMs`: a client that stalls mid-upload frees its slot and its partial
 * artifact instead of holding them forever.
 */
export async function nextWithin<T>(iterator: AsyncIterator<T>, idleMs: number): Promise<IteratorResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const idle = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(deadlineExceeded(`the upload sent nothing for ${idleMs} ms; nothing was stored: send the chunks without pausing, or retry`)), idleMs);
    timer.unref();
  });
  try {
    return await Promise.race([iterator.next(), idle]);
  } finally {
    clearTimeout(timer);
  }
}
