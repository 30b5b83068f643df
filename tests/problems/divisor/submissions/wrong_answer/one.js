// 1 divides everything, but is not allowed.
console.log(1);
