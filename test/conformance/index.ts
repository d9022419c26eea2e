import type { BackendFactory } from "./factory.js";
import { backendLifecycleConformance } from "./backend.js";
import { objectStoreConformance } from "./object-store.js";
import { refStoreConformance } from "./ref-store.js";

export type { BackendFactory } from "./factory.js";
export { backendLifecycleConformance } from "./backend.js";
export { objectStoreConformance } from "./object-store.js";
export { refStoreConformance } from "./ref-store.js";

/** Every conformance suite for one backend: register a backend with this in a test file. */
export function backendConformance(factory: BackendFactory): void {
  objectStoreConformance(factory);
  refStoreConformance(factory);
  backendLifecycleConformance(factory);
}
