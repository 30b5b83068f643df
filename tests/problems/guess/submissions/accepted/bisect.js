// Reads the judge's lines as they come, asks the next question after each reply.
const readline = require("readline");
const lines = readline.createInterface({ input: process.stdin });
let low = 1;
let high = null;
let middle = null;

function next() {
  if (low >= high) {
    process.stdout.write(`! ${low}\n`);
    lines.close();
    return;
  }
  middle = Math.floor((low + high) / 2);
  process.stdout.write(`? ${middle}\n`);
}

lines.on("line", (line) => {
  if (high === null) {
    high = Number(line);
  } else if (line === "=") {
    low = high = middle;
  } else if (line === "<") {
    high = middle - 1;
  } else {
    low = middle + 1;
  }
  next();
});
