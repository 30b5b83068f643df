const lines = require("fs").readFileSync(0, "utf8").split("\n").filter((l) => l.trim());
console.log(lines.map((l) => String(Math.PI * Number(l) ** 2)).join("\n"));
