const blocks = [];
for (;;) {
  blocks.push(Buffer.alloc(1024 * 1024, 1));
}
