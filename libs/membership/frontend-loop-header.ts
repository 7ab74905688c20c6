/**
 * The response header a replica's front-end loop puts on every call it
 * answers: its index (0, 1, ...). Its record's frontend_loops says how many
 * there are; the header says which one a connection reached, since the
 * kernel, not the client, picks it (SO_REUSEPORT), so the router can keep
 * opening connections until it has one on each loop.
 */
export const FRONTEND_LOOP_HEADER = "x-tessera-loop";
