// An ES module by its suffix: a runner serves main.js only, so this one starts cold.
import { readFileSync } from "node:fs";
console.log(typeof require, readFileSync(0, "utf8").length, import.meta.url.endsWith("/main.mjs"));
