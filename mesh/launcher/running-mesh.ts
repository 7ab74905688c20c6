/** Where one service of a running mesh listens. */
export interface ServiceEndpoint {
  /** "registry", or the replica's id. */
  readonly name: string;
  readonly kind: "registry" | "inference" | "monitoring" | "feature" | "router";
  /** host:port a client on this machine dials. */
  readonly grpcAddress: string;
  readonly httpAddress: string;
  /** Where its JSON log lines go. */
  readonly logFile: string;
  /** Replicas: "cpu" or "cuda:N". */
  readonly device?: string;
  /** Replicas: the model@alias / model@version entries it was told to serve. */
  readonly serve: readonly string[];
}

/** A mesh started by launchProcesses() or launchEmbedded(). */
export interface RunningMesh {
  /** "processes": one process per service over NATS; "embedded": all in this process over the embedded stores. */
  readonly mode: "processes" | "embedded";
  readonly registry: ServiceEndpoint;
  /** The front door, when the topology has one. */
  readonly router?: ServiceEndpoint;
  readonly replicas: readonly ServiceEndpoint[];
  /** The monitoring service, unless the topology turned it off. */
  readonly monitoring?: ServiceEndpoint;
  /** The feature service, and which online store it uses ("redis", "memory", ...). */
  readonly feature?: ServiceEndpoint & { readonly onlineStore: string };
  /** Resolves, with what happened, when a service stops without being asked to; never in a clean run. */
  readonly failure: Promise<string>;
  /** Stops the replicas, then the registry (they fetch from it while draining). Idempotent. */
  stop(): Promise<void>;
}
