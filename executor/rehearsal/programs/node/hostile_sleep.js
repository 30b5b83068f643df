setTimeout(() => {}, 3600 * 1000);
