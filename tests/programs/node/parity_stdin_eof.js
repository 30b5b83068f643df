// Reads stdin to its end by stream, then once more by descriptor (nothing left).
const fs = require("fs");
const chunks = [];
process.stdin.on("data", (chunk) => chunks.push(chunk));
process.stdin.on("end", () => {
  console.log(JSON.stringify(Buffer.concat(chunks).toString()), "end");
  console.log(JSON.stringify(fs.readFileSync("/dev/stdin", "utf8")));
});
