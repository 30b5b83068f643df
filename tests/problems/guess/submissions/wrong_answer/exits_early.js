// Reads n and leaves without a word.
require("readline").createInterface({ input: process.stdin }).once("line", () => process.exit(0));
