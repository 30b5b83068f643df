// An uncaught exception thrown later, from a timer, after some output.
console.log("scheduled");
setTimeout(() => {
  null.property;
}, 5);
