import { toBinary, type DescFile, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { loadSync, type PackageDefinition } from "@grpc/proto-loader";
import { protoPath as healthProtoPath } from "grpc-health-check";
import { ReflectionService } from "@grpc/reflection";
import type { Server } from "@grpc/grpc-js";

/**
 * Adds gRPC server reflection (v1 and v1alpha) for the given services, so
 * grpcurl and buf curl can list and call them without our .proto files.
 * @grpc/reflection reads the `fileDescriptorProtos` of a proto-loader
 * package definition; we build that from protobuf-es's embedded descriptors.
 */
export function addReflection(server: Server, services: readonly DescService[]): void {
  const files = new Map<string, DescFile>();
  const visit = (file: DescFile) => {
    if (files.has(file.name)) return;
    files.set(file.name, file);
    file.dependencies.forEach(visit);
  };
  services.forEach((service) => visit(service.file));
  const fileDescriptorProtos = [...files.values()].map((file) => Buffer.from(toBinary(FileDescriptorProtoSchema, file.proto)));
  // grpc-health-check's service is described by its own .proto file.
  const definition = { ...loadSync(healthProtoPath), tessera: { fileDescriptorProtos } } as unknown as PackageDefinition;
  const extra = [...services.map((s) => s.typeName), "grpc.health.v1.Health"];
  new ReflectionService(definition, { services: extra }).addToServer(server);
}
