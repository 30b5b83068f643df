const n = Number(require("fs").readFileSync(0, "utf8").trim());
console.log(String(2 * n));
