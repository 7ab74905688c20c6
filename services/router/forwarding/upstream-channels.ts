import { Client, connectivityState, credentials } from "@grpc/grpc-js";
import type { Logger } from "../../../libs/log/index.js";
import { LoopPool } from "./loop-pool.js";

/**
 * Long-lived grpc-js channels for callRaw (TESSERA_ROUTER_UPSTREAM=grpc-js):
 * one per front-end loop of each replica (LoopPool), opened on first use and
 * closed when the replica leaves membership. Each has its own subchannel
 * pool, hence its own connection: grpc-js would otherwise share one between
 * every channel to the address. A channel reconnects by itself (backoff
 * below); the pool follows the loop its new connection lands on.
 */
export class UpstreamChannels extends LoopPool<Client> {
  constructor(maxMessageBytes: number, logger: Logger) {
    super(
      {
        open: (address) =>
          new Client(address, credentials.createInsecure(), {
            "grpc.max_receive_message_length": maxMessageBytes,
            "grpc.max_send_message_length": maxMessageBytes,
            "grpc.keepalive_time_ms": 30_000,
            // Reconnect fast after a replica restarts on the same port.
            "grpc.initial_reconnect_backoff_ms": 200,
            "grpc.max_reconnect_backoff_ms": 2_000,
            // The router does its own retries, on another replica.
            "grpc.enable_retries": 0,
            "grpc.use_local_subchannel_pool": 1,
          }),
        isOpen: (channel) => channel.getChannel().getConnectivityState(false) !== connectivityState.SHUTDOWN,
        close: (channel) => channel.close(),
      },
      logger,
    );
  }
}
