import type { JsMsg } from "@nats-io/jetstream";

/**
 * Handled JetStream messages acknowledged at most this many together:
 * their acks then leave in one socket write instead of one each (the NATS
 * client flushes on a microtask, which runs between two messages' handling).
 */
export const LOG_ACK_GROUP = 64;

export interface GroupedAcks {
  /** Takes a message that has been handled; acks the group once it is full, or as soon as the event loop turns. */
  handled(message: JsMsg): void;
  /** Acks what is waiting now (stopping, or the iterator ended). */
  flush(): void;
}

export function groupedAcks(size = LOG_ACK_GROUP): GroupedAcks {
  const waiting: JsMsg[] = [];
  let soon: NodeJS.Immediate | undefined;
  const flush = () => {
    clearImmediate(soon);
    soon = undefined;
    for (const message of waiting) message.ack();
    waiting.length = 0;
  };
  return {
    handled(message) {
      waiting.push(message);
      // A full group now; a partial one once the messages at hand are handled (the loop turns to I/O).
      if (waiting.length >= size) flush();
      else soon ??= setImmediate(flush);
    },
    flush,
  };
}
