import { create } from "@bufbuild/protobuf";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PredictionLogSchema } from "../../libs/gen/tessera/events/v1/prediction_log_pb.js";
import { ensurePredictionLogStreams, natsPredictionLogTransport, predictionLogNames, PredictionLogPublisher } from "../../libs/prediction-log/index.js";
import { testNatsUrl, uniqueName } from "../../libs/testing/index.js";
import { LOG_ACK_GROUP } from "../../services/monitoring/grouped-acks.js";
import { startLogConsumer } from "../../services/monitoring/log-consumer.js";

// The log consumer acknowledges handled logs in groups: none may be left
// unacknowledged (and so delivered again after ack_wait) by a group that
// never filled, by a handler that threw, or by a stop.
describe("the log consumer's acknowledgements", () => {
  const model = uniqueName("acked").replace(/_/g, "-");
  const meshes: string[] = [];
  let nc: NatsConnection;
  let jsm: JetStreamManager;

  beforeAll(async () => {
    nc = await connect({ servers: testNatsUrl(), name: "test-log-consumer-acks" });
    jsm = await jetstreamManager(nc);
  });

  afterAll(async () => {
    for (const mesh of meshes) {
      const names = predictionLogNames(mesh);
      for (const stream of [names.stream, names.deadLetterStream]) await jsm?.streams.delete(stream).catch(() => undefined);
    }
    await nc?.drain();
  });

  // Each test reads a mesh of its own, so a consumer starting at "all" sees only its test's logs.
  async function freshMesh(): Promise<string> {
    const mesh = uniqueName("acks");
    meshes.push(mesh);
    await ensurePredictionLogStreams(nc, { mesh });
    return mesh;
  }

  async function publish(mesh: string, count: number, first: number): Promise<void> {
    const publisher = new PredictionLogPublisher({ transport: natsPredictionLogTransport(nc, { mesh }), source: "tessera/test" });
    for (let i = first; i < first + count; i++) publisher.offer(model, 1, 1, () => create(PredictionLogSchema, { requestId: `log-${i}`, model, version: 1 }));
    await publisher.close();
    expect(publisher.stats().published).toBe(count);
  }

  async function acksOutstanding(mesh: string, durable: string): Promise<{ ackPending: number; pending: number }> {
    await nc.flush();
    const info = await jsm.consumers.info(predictionLogNames(mesh).stream, durable);
    return { ackPending: info.num_ack_pending, pending: info.num_pending };
  }

  it("acknowledges every handled log, a last group that never filled and a log whose handler threw included, and nothing is delivered twice after a restart", async () => {
    const mesh = await freshMesh();
    // Not a multiple of the group, so the last group is partial.
    const count = LOG_ACK_GROUP * 2 + 7;
    await publish(mesh, count, 0);
    const handled: string[] = [];
    const handle = async (log: { requestId: string }) => {
      handled.push(log.requestId);
      if (log.requestId === "log-3") throw new Error("a handler that fails");
    };
    const consumer = await startLogConsumer(nc, { mesh, durable: "acks", startAt: "all", handle });
    try {
      await expect.poll(() => handled.length, { timeout: 20_000 }).toBe(count);
      // Acked while still running: the logs at hand were handled and the loop turned, which sends a partial group.
      await expect.poll(() => acksOutstanding(mesh, "acks"), { timeout: 10_000 }).toEqual({ ackPending: 0, pending: 0 });
    } finally {
      await consumer.stop();
    }

    await publish(mesh, 5, count);
    const again = await startLogConsumer(nc, { mesh, durable: "acks", startAt: "all", handle });
    try {
      await expect.poll(() => handled.length, { timeout: 20_000 }).toBe(count + 5);
      await expect.poll(() => acksOutstanding(mesh, "acks"), { timeout: 10_000 }).toEqual({ ackPending: 0, pending: 0 });
    } finally {
      await again.stop();
    }
    expect(new Set(handled).size).toBe(count + 5);
  });

  it("has acknowledged everything it handled once it is stopped in the middle of the stream", async () => {
    const mesh = await freshMesh();
    await publish(mesh, LOG_ACK_GROUP + 3, 1_000);
    let handledCount = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    // The tenth log holds its handler until the consumer is being stopped. The consumer has a
    // connection of its own, closed as soon as stop() resolves: an ack sent any later is lost.
    const consumerNc = await connect({ servers: testNatsUrl(), name: "test-log-consumer-acks-stopped" });
    const consumer = await startLogConsumer(consumerNc, {
      mesh,
      durable: "stopped",
      startAt: "all",
      handle: async () => {
        if (++handledCount === 10) await gate;
      },
    });
    await expect.poll(() => handledCount, { timeout: 20_000 }).toBe(10);
    const stopping = consumer.stop();
    release();
    await stopping;
    await consumerNc.close();
    // Every handled log is acknowledged, the first ones in order; only logs delivered and never handled wait for redelivery.
    // The server applies acks on its own goroutine, after they arrived: poll its view.
    const handled = handledCount;
    const ackState = async () => {
      await nc.flush();
      const info = await jsm.consumers.info(predictionLogNames(mesh).stream, "stopped");
      return { floorReachesHandled: info.ack_floor.consumer_seq >= handled, pendingAtMostUnhandled: info.num_ack_pending <= LOG_ACK_GROUP + 3 - handled };
    };
    await expect.poll(ackState, { timeout: 10_000 }).toEqual({ floorReachesHandled: true, pendingAtMostUnhandled: true });
    // Nothing handled after stop() resolved.
    expect(handledCount).toBe(handled);
  });
});
