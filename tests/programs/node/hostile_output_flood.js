// One endless line without a newline on stdout, and on stderr too.
const line = "z".repeat(1 << 16);
function flood() {
  process.stdout.write(line);
  process.stderr.write(line);
  setImmediate(flood);
}
flood();
