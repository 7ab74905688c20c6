import type { DescService } from "@bufbuild/protobuf";
import { GRPCInferenceService } from "../../../libs/gen/inference/grpc_service_pb.js";
import { InferenceService } from "../../../libs/gen/tessera/inference/v1/inference_pb.js";

/** The services a front-end loop serves on the gRPC port, as the replica registers them. */
export const LOOP_SERVICES: readonly DescService[] = [InferenceService, GRPCInferenceService];
