import { createHash, type Hash } from "node:crypto";
import { Code, ConnectError } from "../errors/index.js";

/**
 * @internal Hashes chunks as they pass and, at the end, compares with what
 * the store recorded, so a corrupt read fails instead of loading a bad model.
 */
export class Sha256Check {
  readonly #hash: Hash = createHash("sha256");
  #size = 0;

  constructor(
    private readonly name: string,
    private readonly expected: { size: number; sha256: string },
  ) {}

  update(chunk: Uint8Array): void {
    this.#hash.update(chunk);
    this.#size += chunk.byteLength;
  }

  /** Throws DATA_LOSS when the content read is not the content stored. */
  verify(): void {
    const sha256 = this.#hash.digest("hex");
    if (this.#size !== this.expected.size || sha256 !== this.expected.sha256) {
      throw new ConnectError(
        `object "${this.name}" is corrupt: read ${this.#size} bytes with sha256 ${sha256}, stored ${this.expected.size} bytes with sha256 ${this.expected.sha256}; put it again`,
        Code.DataLoss,
      );
    }
  }
}
