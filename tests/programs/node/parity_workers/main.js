// A worker thread and a forked child: what each sees of its options and arguments, and the
// heap limit of the main thread and the worker (V8's flags, as the program started with).
const { Worker } = require("worker_threads");
const v8 = require("v8");
const { fork } = require("child_process");
const path = require("path");
console.log("heap limit:", v8.getHeapStatistics().heap_size_limit);
const worker = new Worker(path.join(__dirname, "worker.js"), { argv: ["for-the-worker"] });
worker.on("message", (message) => {
  console.log("worker:", message);
  const child = fork(path.join(__dirname, "child.js"), ["for-the-child"], { stdio: "pipe" });
  child.stdout.on("data", (data) => process.stdout.write(`child: ${data}`));
  child.on("exit", (code) => console.log("child exit", code));
});
