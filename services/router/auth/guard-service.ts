import type { DescService } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { headersToMetadata } from "../../../libs/host/index.js";
import { toConnectError } from "../handlers/typed-forward.js";
import type { Authorizer } from "./authorizer.js";

type AnyMethod = (request: unknown, context: HandlerContext) => unknown;

/**
 * Checks credentials before each method of a service the router answers
 * itself. Methods in `skip` are forwarded, and the forwarder checks them
 * (it knows the model).
 */
export function guardService<S extends DescService>(service: S, impl: ServiceImpl<S>, authorizer: Authorizer, skip: readonly string[] = []): ServiceImpl<S> {
  const guarded: Record<string, AnyMethod> = {};
  for (const method of service.methods) {
    const inner = (impl as unknown as Record<string, AnyMethod>)[method.localName];
    if (!inner) continue;
    if (skip.includes(method.name)) {
      guarded[method.localName] = inner.bind(impl);
      continue;
    }
    const path = `/${service.typeName}/${method.name}`;
    guarded[method.localName] = async (request, context) => {
      try {
        await authorizer.check(headersToMetadata(context.requestHeader), path);
      } catch (error) {
        throw toConnectError(error);
      }
      return inner.call(impl, request, context);
    };
  }
  return guarded as unknown as ServiceImpl<S>;
}
