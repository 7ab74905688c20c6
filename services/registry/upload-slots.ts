import { resourceExhausted } from "../../libs/errors/index.js";

/** Counts uploads in progress; one past the limit is refused at once rather than queued. */
export class UploadSlots {
  private inUse = 0;

  constructor(private readonly limit: number) {}

  /** Takes a slot, or throws RESOURCE_EXHAUSTED; call the returned function once, when the upload ends. */
  acquire(): () => void {
    if (this.inUse >= this.limit) {
      throw resourceExhausted(`the registry is taking ${this.limit} uploads already (TESSERA_MAX_CONCURRENT_UPLOADS); retry in a moment`);
    }
    this.inUse++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inUse--;
    };
  }

  get active(): number {
    return this.inUse;
  }
}
