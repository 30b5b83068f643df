// Looks for the service's secrets in its own environment and the parent's.
const fs = require("fs");
console.log("own env:", Object.keys(process.env).sort().join(","));
for (const path of [`/proc/${process.ppid}/environ`, "/proc/1/environ"]) {
  try {
    console.log(path, fs.readFileSync(path, "latin1"));
  } catch (e) {
    console.log(`${path}: ${e.code}`);
  }
}
