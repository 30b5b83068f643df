// A worker thread and a forked child: what each sees of its options and arguments.
const { Worker } = require("worker_threads");
const { fork } = require("child_process");
const path = require("path");
const worker = new Worker(path.join(__dirname, "worker.js"), { argv: ["for-the-worker"] });
worker.on("message", (message) => {
  console.log("worker:", message);
  const child = fork(path.join(__dirname, "child.js"), ["for-the-child"], { stdio: "pipe" });
  child.stdout.on("data", (data) => process.stdout.write(`child: ${data}`));
  child.on("exit", (code) => console.log("child exit", code));
});
