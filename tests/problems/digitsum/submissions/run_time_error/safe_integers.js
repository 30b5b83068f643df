// Insists on numbers JavaScript holds exactly: throws on the long lines.
const lines = require("fs").readFileSync(0, "utf8").split("\n").filter((l) => l.length > 0);
for (const line of lines) {
  const n = Number(line);
  if (!Number.isSafeInteger(n)) throw new RangeError(`not a safe integer: ${line.slice(0, 20)}`);
  console.log([...String(n)].reduce((s, c) => s + Number(c), 0));
}
