// A promise rejected with a plain value: Node's own message for a non-Error reason.
Promise.reject({ code: 42, reason: "plain object" });
