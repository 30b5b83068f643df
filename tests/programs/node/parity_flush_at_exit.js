// Much output written in pieces, then process.exit() at once: none of it is lost.
for (let i = 0; i < 2000; i++) {
  process.stdout.write(`line ${i} of the output written before exit\n`);
}
process.exit(0);
