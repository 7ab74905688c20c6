import { create, type DescMessage } from "@bufbuild/protobuf";
import * as inference from "../../../libs/gen/tessera/inference/v1/inference_pb.js";
import * as oip from "../../../libs/gen/inference/grpc_service_pb.js";
import * as predictionLog from "../../../libs/gen/tessera/events/v1/prediction_log_pb.js";
import { messageFactory } from "../../../libs/messages/index.js";
import { cpuUsPer } from "./process-cpu.js";

const { TensorSchema } = inference;


/**
 * What building one output Tensor costs: create() with an initializer built
 * by spread (as the replica did) and with a literal one, and a zero Tensor
 * from messageFactory with its fields set (what the replica does now,
 * libs/messages). First every message type a replica handles is created
 * many times, as in a serving process, so create() is measured as warm as
 * it is there. Printed, no target.
 */
export function printMessageBuildingCost(count = 200_000): void {
  const schemas = [inference, oip, predictionLog].flatMap((module) =>
    Object.values(module).filter((v): v is DescMessage => typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "message"),
  );
  // Often enough for the JIT to optimize create() with what it saw (a serving process creates them all the time).
  for (let i = 0; i < 2_000; i++) for (const schema of schemas) create(schema, {});
  const values = [0.42];
  const shape = [1n, 1n];
  const newTensor = messageFactory(TensorSchema);
  let spreadUs = 0;
  let literalUs = 0;
  let factoryUs = 0;
  // The second round of each, after the JIT has settled.
  for (let round = 0; round < 2; round++) {
    // How toTensorMessage built its tensors before libs/messages: the common fields, then the values field.
    spreadUs = cpuUsPer(count, () => {
      const base = { name: "probability", dtype: 1, shape };
      create(TensorSchema, { ...base, floatData: values });
    });
    literalUs = cpuUsPer(count, () => create(TensorSchema, { name: "probability", dtype: 1, shape, floatData: values }));
    factoryUs = cpuUsPer(count, () => {
      const tensor = newTensor();
      tensor.name = "probability";
      tensor.dtype = 1;
      tensor.shape = shape;
      tensor.floatData = values;
    });
  }
  console.log(
    `one output Tensor, CPU per message, after the replica's ${schemas.length} message types were created 2,000 times each: ` +
      `create() with a spread initializer ${spreadUs.toFixed(2)} µs, with a literal one ${literalUs.toFixed(2)} µs, ` +
      `messageFactory and field stores ${factoryUs.toFixed(2)} µs (printed, no target)`,
  );
}
