// Grows the heap without end.
const held = [];
for (;;) {
  held.push(new Array(1 << 20).fill(held.length));
}
