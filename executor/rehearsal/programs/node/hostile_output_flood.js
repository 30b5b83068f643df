// Synchronous writes: an asynchronous stdout on a pipe would buffer in memory instead.
const fs = require("fs");
const line = "A".repeat(4096) + "\n";
for (;;) fs.writeSync(1, line);
