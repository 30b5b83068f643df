// Starts a detached child in its own session (like nohup), which keeps trying to leave a marker
// file and to print for longer than the run may last; the parent exits at once.
const { spawn } = require("child_process");
const marker = process.argv[2];
const loop = `
const fs = require("fs");
const end = Date.now() + 10000;
const tick = () => {
  try { fs.appendFileSync(${JSON.stringify(marker)}, "detached alive\\n"); } catch (e) {}
  try { process.stdout.write("detached alive\\n"); } catch (e) {}
  if (Date.now() < end) setTimeout(tick, 50);
};
tick();
`;
const child = spawn(process.execPath, ["-e", loop], { detached: true, stdio: ["ignore", "inherit", "ignore"] });
child.unref();
console.log("parent done");
