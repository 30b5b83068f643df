// Stops itself: it can never reach its exit, and it uses no CPU while stopped.
console.log("stopping");
process.kill(process.pid, "SIGSTOP");
console.log("resumed");
