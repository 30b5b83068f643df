// What a script sees of itself: argv (interpreter and file), execArgv, __filename and
// __dirname, the main module, what is loaded, its environment's names, its descriptors.
const fs = require("fs");
const path = require("path");
console.log(process.argv0 === process.execPath, process.argv.slice(1));
console.log(process.execArgv, path.basename(__filename), __dirname === process.cwd());
console.log(require.main === module, module.id, module.parent, module.children.length);
console.log(Object.keys(require.cache).map((key) => path.relative(__dirname, key)));
console.log(Object.keys(process.env).sort(), process.title, typeof process.stdin.fd);
console.log(fs.readdirSync("/proc/self/fd"));
console.log(fs.fstatSync(0).isFile(), fs.fstatSync(1).isFIFO(), fs.fstatSync(2).isFIFO());
console.log(new Error("where").stack.split("\n").slice(1).join("\n"));
