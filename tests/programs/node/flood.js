const line = "x".repeat(1023) + "\n";
const chunk = line.repeat(64);
function write() {
  while (process.stdout.write(chunk)) {}
  process.stdout.once("drain", write);
}
write();
