import { Client, credentials, Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall, type ServiceError } from "@grpc/grpc-js";

/**
 * The ceiling for one hop: a grpc-js pass-through proxy for Predict in a
 * process of its own — raw bytes in, raw bytes out, no routing, no
 * metrics, one upstream channel. argv: <port> <upstream host:port>.
 */
const PATH = "/tessera.inference.v1.InferenceService/Predict";
const identity = (bytes: Buffer) => bytes;
const [port, upstream] = process.argv.slice(2);
const channel = new Client(upstream!, credentials.createInsecure());
const server = new Server();
server.addService(
  { Predict: { path: PATH, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
  {
    Predict: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
      channel.makeUnaryRequest(PATH, identity, identity, call.request, call.metadata, { deadline: call.getDeadline() }, (error: ServiceError | null, response?: Buffer) =>
        error ? callback(error) : callback(null, response),
      );
    },
  },
);
server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (error) => {
  if (error) {
    process.stderr.write(`bare proxy: ${error.message}\n`);
    process.exit(1);
  }
  process.stdout.write("ready\n");
});
process.on("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
