import { memoryBackend } from "../../src/backends/memory/memory-backend.js";
import { backendConformance } from "../conformance/index.js";

backendConformance({ name: "memory", create: async (hash) => memoryBackend({ hash }) });
