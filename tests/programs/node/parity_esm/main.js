// An ES module by package.json ("type": "module"): import, import.meta, top-level await, and
// an error thrown at the top level after it.
import { greet } from "./helper.js";
import path from "node:path";

console.log(greet("esm"), path.basename(new URL(import.meta.url).pathname));
console.log(typeof require, typeof module, process.argv.slice(2));
await new Promise((resolve) => setTimeout(resolve, 5));
throw new Error("thrown by a module");
