export { startService, shutdownOnSignals, type GrpcFrontEnd, type ServiceHost, type ServiceHostOptions } from "./start-service.js";
export { createHttpServer, sendJson, serve, type HttpRoute, type ServiceRegistration } from "./http-server.js";
export { createGrpcJsTransport, createMeshClient, type GrpcTransportOptions, type MeshClient } from "./grpc-transport.js";
export { toGrpcServiceDefinition, grpcPath } from "./grpc-service-definition.js";
export type { CallObserver } from "./call-observer.js";
export { DEFAULT_MAX_MESSAGE_BYTES } from "./message-limits.js";
export type { RawUnaryHandler } from "./raw-grpc-methods.js";
export { headersToMetadata, metadataToHeaders } from "./grpc-status.js";
