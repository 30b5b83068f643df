// A promise rejected with nobody to catch it: Node prints the error and exits with 1; and one
// rejected with something that is not an Error.
async function fetchValue() {
  await null;
  throw new TypeError("no value here");
}
console.log("before");
fetchValue();
