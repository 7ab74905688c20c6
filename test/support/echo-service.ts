import { setTimeout as sleep } from "node:timers/promises";
import type { Code} from "@connectrpc/connect";
import { ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { EchoService } from "../../libs/gen/tessera/testing/v1/echo_pb.js";

/** The EchoService handlers, for tests of libs/host and the RPC benchmark. */
export const echoServiceImpl: ServiceImpl<typeof EchoService> = {
  async echo(request, context) {
    if (request.delayMs > 0) await sleep(request.delayMs, undefined, { signal: context.signal });
    if (request.failWithCode !== 0) throw new ConnectError(`failing as asked: ${request.text}`, request.failWithCode as Code);
    return {
      text: request.text,
      timeoutMs: context.timeoutMs() ?? 0,
      header: context.requestHeader.get("x-echo") ?? "",
      payload: request.payload,
    };
  },
  async *echoStream(request) {
    for (let i = 0; i < request.count; i++) yield { text: `${request.text} ${i}` };
  },
  async collect(requests) {
    const texts: string[] = [];
    for await (const request of requests) texts.push(request.text);
    return { text: texts.join(","), count: texts.length };
  },
  async *chat(requests) {
    for await (const request of requests) yield { text: request.text.toUpperCase() };
  },
};

export { EchoService };
