import { Client, credentials } from "@grpc/grpc-js";

/**
 * One long-lived grpc-js channel per replica address, opened on first use
 * and closed when the replica leaves membership.
 */
export class UpstreamChannels {
  private readonly channels = new Map<string, Client>();

  constructor(private readonly maxMessageBytes: number) {}

  get(address: string): Client {
    let channel = this.channels.get(address);
    if (!channel) {
      channel = new Client(address, credentials.createInsecure(), {
        "grpc.max_receive_message_length": this.maxMessageBytes,
        "grpc.max_send_message_length": this.maxMessageBytes,
        "grpc.keepalive_time_ms": 30_000,
        // Reconnect fast after a replica restarts on the same port.
        "grpc.initial_reconnect_backoff_ms": 200,
        "grpc.max_reconnect_backoff_ms": 2_000,
        // The router does its own retries, on another replica.
        "grpc.enable_retries": 0,
      });
      this.channels.set(address, channel);
    }
    return channel;
  }

  /** Closes the channels of addresses not in `live`. */
  retain(live: ReadonlySet<string>): void {
    for (const [address, channel] of this.channels) {
      if (!live.has(address)) {
        channel.close();
        this.channels.delete(address);
      }
    }
  }

  closeAll(): void {
    this.channels.forEach((channel) => channel.close());
    this.channels.clear();
  }
}
