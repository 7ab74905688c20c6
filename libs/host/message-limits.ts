/**
 * The largest message, in bytes, on every inference path: gRPC and Connect
 * requests and responses, the OIP REST body, and what a mesh client sends
 * and accepts. 64 MiB: sixteen times gRPC's usual 4 MiB, room for a batch
 * of image tensors in one Predict, while artifacts travel in 1 MiB chunks
 * and never need it. One number everywhere, so a request one path accepts
 * is never refused by the next hop.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
